import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Bree from 'bree';
import type { Config } from './config/schema.js';
import type { Context } from './context.js';
import { UserError, errorMessage } from './core/errors.js';
import { latestFire, upcomingFire } from './operations/schedule.js';
import { parseDuration } from './config/duration.js';
import { recordJobFailure, type JobOutcome, type WorkAttempt } from './operations/job-runner.js';
import { CANCEL_GRACE_MS, type JobSpec, type JobWorkerData, type WorkerRequest, type WorkerReply, type WorkerResult } from './jobs/worker.js';

/** Young generation of a job's worker thread, in MB (see the `worker` options below). */
const YOUNG_GENERATION_MB = 3;

/**
 * The schedule — one list, built from the config:
 *
 *   job                      cron (config key)                         state key (job_state.client)
 *   scheduled-backup:<c>     clients.<c>.schedule                      <c>
 *   retention                schedules.retention                       every client
 *   integrity-check          schedules.integrityCheck (1st Monday)     every client
 *   restore-test             schedules.restoreTest (+ restoreTest.months per client)  every client
 *   watchdog                 schedules.watchdog                        ''
 *   digest                   schedules.digest ?? slack.digest.cron ?? 0 8 * * *       ''
 *   evidence-report          schedules.evidenceReport (1st of the month 07:00)  every client
 *
 * All in config.timezone. One cron engine: cron-parser (which validated the config) computes every fire
 * (operations/schedule.ts); a timer per job (cronTimer) waits for the next one and starts the job, and
 * the job's fire claim reads the same function. bree only runs each job file (dist/jobs/<job>.js) in a
 * worker thread: it is given no cron of its own.
 */
function digestCron(config: Config): string {
  return config.schedules.digest ?? config.slack?.digest.cron ?? '0 8 * * *';
}

export function scheduleFor(config: Config): Array<JobSpec & { keyPath: string }> {
  const clients = Object.keys(config.clients);
  const s = config.schedules;
  return [
    ...clients.map((c) => ({ name: `scheduled-backup:${c}`, job: 'scheduled-backup' as const, cron: config.clients[c]!.schedule, keys: [c], client: c, keyPath: `clients.${c}.schedule` })),
    { name: 'retention', job: 'retention' as const, cron: s.retention, keys: clients, keyPath: 'schedules.retention' },
    { name: 'integrity-check', job: 'integrity-check' as const, cron: s.integrityCheck, keys: clients, keyPath: 'schedules.integrityCheck' },
    { name: 'restore-test', job: 'restore-test' as const, cron: s.restoreTest, keys: clients, keyPath: 'schedules.restoreTest' },
    { name: 'watchdog', job: 'watchdog' as const, cron: s.watchdog, keys: [''], keyPath: 'schedules.watchdog' },
    { name: 'digest', job: 'digest' as const, cron: digestCron(config), keys: [''], keyPath: config.schedules.digest ? 'schedules.digest' : 'slack.digest.cron' },
    { name: 'evidence-report', job: 'evidence-report' as const, cron: s.evidenceReport, keys: clients, keyPath: 'schedules.evidenceReport' },
  ];
}

/** dist/jobs next to this module when compiled; from the sources (tests), the build's dist/jobs. */
function defaultJobsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const compiled = join(here, 'jobs');
  if (existsSync(join(compiled, 'digest.js'))) return compiled;
  return join(here, '..', 'dist', 'jobs');
}

export interface SchedulerOptions {
  /** Directory of the compiled job files (default: dist/jobs). */
  jobsDir?: string;
  /** Log level of the workers (default: the context logger's). */
  logLevel?: string;
  /** How long a cancelled job may take to end after its signal is aborted (default 5 s). */
  cancelGraceMs?: number;
  /**
   * The shared work queue (issue 21): a fire or catch-up of a job it takes is handed to it instead of being
   * run here (true = taken); the queue's worker later calls run(name, attempt) on whichever replica has a slot.
   */
  dispatch?: (spec: JobSpec, fire: Date) => boolean;
}

/**
 * The longest single sleep of a cron timer. Waking at least once a minute and re-reading the clock
 * keeps a fire on time after the wall clock moved (NTP step, suspended VM: Node's timers run on the
 * monotonic clock) and never asks setTimeout for more than it can wait (2^31-1 ms, about 24.8 days;
 * longer delays fire at once).
 */
export const MAX_SLEEP_MS = 60_000;

export interface CronTimer {
  /** The next fire this timer waits for. */
  readonly next: Date;
  cancel(): void;
}

/**
 * Calls `onFire(fire)` at every fire of `cron` in `tz` after now. Fire instants come from
 * upcomingFire (cron-parser, DST-aware); the timer sleeps in steps of at most MAX_SLEEP_MS and fires
 * once the clock has reached the instant. A fire that is late (the process was stopped or busy) is
 * not repeated: the next one is the first fire after now.
 */
export function cronTimer(cron: string, tz: string, onFire: (fire: Date) => void, now: () => Date = () => new Date()): CronTimer {
  let next = upcomingFire(cron, tz, now());
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const wait = (): void => {
    if (cancelled) return;
    const t = now().getTime();
    const delay = next.getTime() - t;
    if (delay > 0) {
      timer = setTimeout(wait, Math.min(delay, MAX_SLEEP_MS));
      return;
    }
    const fire = next;
    next = upcomingFire(cron, tz, new Date(Math.max(t, fire.getTime())));
    try { onFire(fire); } finally { wait(); }
  };
  wait();
  return { get next() { return next; }, cancel() { cancelled = true; clearTimeout(timer); } };
}

export interface Scheduler {
  readonly specs: JobSpec[];
  readonly bree: Bree;
  /** The next fire of each job (by name), from its timer; empty before start(). */
  nextFires(): Record<string, Date>;
  /** Starts the timers and catches up, once, every schedule missed while no bot was running. */
  start(): Promise<{ caughtUp: string[] }>;
  /** Runs a job now and resolves with its outcomes (what the worker reported); `attempt`: queued work's attempt. */
  run(name: string, attempt?: WorkAttempt): Promise<JobOutcome[]>;
  /**
   * Stops taking new jobs, waits for running ones up to `timeoutMs` (schedules.shutdownTimeout), then
   * cancels the rest: their AbortSignal is aborted, each gets `cancelGraceMs` to end, then its worker is
   * terminated and its runs are marked interrupted.
   */
  stop(opts?: { timeoutMs?: number }): Promise<{ cancelled: string[] }>;
  /** Names of jobs running right now. */
  running(): string[];
  events: EventEmitter;
}

export async function createScheduler(ctx: Context, opts: SchedulerOptions = {}): Promise<Scheduler> {
  const config = ctx.config;
  const tz = config.timezone;
  const log = ctx.logger.child({ component: 'scheduler' });
  const jobsDir = opts.jobsDir ?? defaultJobsDir();
  const specs = scheduleFor(config);
  const events = new EventEmitter();
  events.setMaxListeners(100);
  const logLevel = opts.logLevel ?? (ctx.logger as { level?: string }).level ?? 'info';
  /** Per worker run: whether it reported a result or a failure was recorded already. */
  const reported = new Map<string, boolean>();
  /** Jobs being cancelled at shutdown: their end is not a failure to record (their runs end interrupted). */
  const cancelling = new Set<string>();
  const cancelGraceMs = opts.cancelGraceMs ?? CANCEL_GRACE_MS;
  const timers = new Map<string, CronTimer>();
  let stopping = false;

  for (const spec of specs) {
    const file = join(jobsDir, `${spec.job}.js`);
    if (!existsSync(file)) throw new UserError(`scheduled job file ${file} is missing (build the project: npm run build)`);
    // The config validated the cron; this is the same library reading it in the configured zone.
    try { upcomingFire(spec.cron, tz, ctx.clock.now()); } catch (err) {
      throw new UserError(`${spec.keyPath}: ${JSON.stringify(spec.cron)} cannot be scheduled in ${tz}: ${errorMessage(err)}`);
    }
  }

  const specByName = new Map(specs.map((s) => [s.name, s]));
  const failOnce = (name: string, err: unknown): void => {
    if (cancelling.has(name)) {
      log.warn({ job: name, err: errorMessage(err) }, `job ${name} was cancelled at shutdown`);
      return;
    }
    if (reported.get(name)) return;
    reported.set(name, true);
    const spec = specByName.get(name);
    if (!spec) return;
    void (async () => {
      const outcomes: JobOutcome[] = [];
      for (const key of spec.client !== undefined ? [spec.client] : ['']) outcomes.push(await recordJobFailure(ctx, { job: spec.job, client: key }, err));
      events.emit('result', name, outcomes);
    })().catch((e: unknown) => log.error({ err: errorMessage(e) }, 'could not record a job failure'));
  };

  // Workers sign with the same key: the file this process loaded (unless it came from the environment, which the config carries).
  const workerConfig: Config = { ...config, evidence: { ...config.evidence, signingKey: config.evidence.signingKey ?? (isAbsolute(ctx.signer.source) ? ctx.signer.source : undefined) } };
  const bree: Bree = new Bree({
    root: false,
    doRootCheck: false,
    // No schedule of bree's own: it only runs workers when asked (bree.run), never at start.
    timeout: false,
    interval: 0,
    logger: {
      info: (msg: unknown, meta?: unknown) => log.debug({ meta: meta === undefined ? undefined : String(JSON.stringify(meta)).slice(0, 500) }, String(msg)),
      warn: (msg: unknown) => log.warn(errorMessage(msg)),
      error: (msg: unknown) => log.error(errorMessage(msg)),
    } as unknown as Bree.BreeLogger,
    errorHandler: (error: unknown, meta: { name?: string }) => {
      const name = meta?.name ?? '?';
      const e = workerError(error);
      log.error({ job: name, err: e.message }, `job ${name} crashed`);
      failOnce(name, e);
    },
    workerMessageHandler: ({ name, message }: { name: string; message: unknown }) => {
      const m = message as WorkerRequest | WorkerResult | string;
      if (m === 'cancelled') events.emit('cancelled', name);
      if (typeof m !== 'object' || m === null) return;
      if (m.type === 'result') {
        reported.set(name, true);
        for (const o of m.outcomes) {
          if (o.status === 'failed') log.warn({ job: name, client: o.client || undefined, run: o.runId, err: o.error }, `${o.job}${o.client ? ` for ${o.client}` : ''} failed`);
        }
        events.emit('result', name, m.outcomes);
        return;
      }
      if (m.type === 'report') void answerReport(name, m);
    },
    jobs: specs.map((spec) => ({
      name: spec.name,
      path: join(jobsDir, `${spec.job}.js`),
      worker: {
        workerData: { spec: { name: spec.name, job: spec.job, cron: spec.cron, keys: spec.keys, client: spec.client }, config: workerConfig, logLevel, cancelGraceMs } satisfies JobWorkerData,
        // A small young generation (as `--max-semi-space-size=1` in the CLI's shebang): the dump pipeline's
        // short-lived Buffers are collected often instead of piling up (peak RSS of an S3 backup 170 → 130 MB).
        resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
      },
    })),
  } as unknown as Bree.BreeOptions);

  async function answerReport(name: string, m: WorkerRequest): Promise<void> {
    const ref = await ctx.reporter.report(m.event, m.replace);
    bree.workers.get(name)?.postMessage({ type: 'report-result', id: m.id, ...(ref ? { ref } : {}) } satisfies WorkerReply);
  }

  bree.on('worker created', (name: string) => { reported.set(name, false); cancelling.delete(name); });
  bree.on('worker deleted', (name: string) => {
    if (reported.get(name) === false) failOnce(name, new Error(`the worker of job ${name} ended without reporting a result`));
    events.emit('deleted', name);
  });

  try {
    await (bree as unknown as { init(): Promise<void> }).init();
  } catch (err) {
    throw new UserError(`scheduler: ${errorMessage(err)}`);
  }

  const run = (name: string, attempt?: WorkAttempt): Promise<JobOutcome[]> => {
    if (!specByName.has(name)) return Promise.reject(new UserError(`unknown job "${name}" (jobs: ${specs.map((s) => s.name).join(', ')})`));
    if (stopping) return Promise.reject(new UserError('the scheduler is stopping'));
    return new Promise<JobOutcome[]>((resolve, reject) => {
      const onResult = (n: string, outcomes: JobOutcome[]) => { if (n === name) { events.off('result', onResult); resolve(outcomes); } };
      events.on('result', onResult);
      withAttempt(bree, name, attempt, () => bree.run(name)).catch((err: unknown) => { events.off('result', onResult); reject(err); });
    });
  };

  /** A timer fire: start the job unless it is still running from an earlier fire (no overlap, no queue). */
  const onFire = (name: string, fire: Date): void => {
    if (stopping) return;
    if (opts.dispatch?.(specByName.get(name)!, fire)) return;
    if (bree.workers.has(name)) {
      log.warn({ job: name, fire: fire.toISOString() }, `skipped the ${fire.toISOString()} fire of ${name}: it is still running`);
      return;
    }
    void run(name).catch((err: unknown) => log.error({ job: name, err: errorMessage(err) }, 'scheduled run failed to start'));
  };

  /** Cancels a running job: abort its signal, give it the grace time to end, then terminate its worker. */
  const cancel = async (name: string): Promise<void> => {
    const worker = bree.workers.get(name);
    if (!worker) return;
    cancelling.add(name);
    const ended = new Promise<void>((resolve) => {
      const onEvent = (n: string) => { if (n === name) { events.off('deleted', onEvent); events.off('cancelled', onEvent); resolve(); } };
      events.on('deleted', onEvent);
      events.on('cancelled', onEvent);
    });
    worker.postMessage('cancel');
    await Promise.race([ended, sleep(cancelGraceMs + 2000, true)]);
    if (bree.workers.get(name) === worker) await worker.terminate().catch(() => 0);
  };

  return {
    specs,
    bree,
    events,
    running: () => [...bree.workers.keys()],
    nextFires: () => Object.fromEntries([...timers].map(([name, t]) => [name, t.next])),
    run,
    async start() {
      const now = ctx.clock.now();
      const behind: string[] = [];
      for (const spec of specs) {
        const fire = latestFire(spec.cron, tz, now);
        let late = false;
        for (const key of spec.keys) {
          const st = await ctx.store.jobs.ensureState(spec.job, key, fire, now);
          if (new Date(st.last_fire).getTime() < fire.getTime()) late = true;
        }
        if (late) behind.push(spec.name);
      }
      for (const spec of specs) timers.set(spec.name, cronTimer(spec.cron, tz, (fire) => onFire(spec.name, fire), () => ctx.clock.now()));
      for (const name of behind) {
        if (opts.dispatch?.(specByName.get(name)!, latestFire(specByName.get(name)!.cron, tz, now))) continue;
        log.info({ job: name }, `catching up ${name}: its last scheduled run was missed while the bot was down`);
        void run(name).catch((err: unknown) => log.error({ job: name, err: errorMessage(err) }, 'catch-up failed'));
      }
      log.info({ jobs: specs.length, caughtUp: behind }, 'scheduler started');
      return { caughtUp: behind };
    },
    async stop(o = {}) {
      stopping = true;
      for (const t of timers.values()) t.cancel();
      timers.clear();
      const timeoutMs = o.timeoutMs ?? parseDuration(config.schedules.shutdownTimeout) ?? 600_000;
      const deadline = Date.now() + timeoutMs;
      if (bree.workers.size > 0) log.info({ running: [...bree.workers.keys()], timeoutMs }, 'waiting for running jobs to finish');
      while (bree.workers.size > 0 && Date.now() < deadline) await sleep(100);
      const cancelled = [...bree.workers.keys()];
      if (cancelled.length > 0) {
        log.warn({ cancelled, graceMs: cancelGraceMs }, 'shutdown timeout: cancelling running jobs');
        await Promise.all(cancelled.map(cancel));
        // Their runs are interrupted: mark them now (the next start would, too), once their connections have closed.
        for (let i = 0; i < 20; i++) {
          const reaped = await ctx.store.reapInterruptedRuns(ctx.clock.now()).catch(() => []);
          if (reaped.length > 0) { log.warn({ runs: reaped.map((r) => r.id) }, 'runs of cancelled jobs marked interrupted'); break; }
          await sleep(100);
        }
      }
      return { cancelled };
    },
  };
}

/**
 * bree reads a job's workerData when run() creates its worker (synchronously, once initialised): queued work's
 * attempt is put in the spec for that one run and taken out again.
 */
function withAttempt(bree: Bree, name: string, attempt: WorkAttempt | undefined, start: () => Promise<void>): Promise<void> {
  if (!attempt) return start();
  const job = (bree.config.jobs as Array<{ name: string; worker?: { workerData?: JobWorkerData } }>).find((j) => j.name === name);
  const data = job?.worker?.workerData;
  if (!job?.worker || !data) return start();
  job.worker.workerData = { ...data, spec: { ...data.spec, attempt } };
  try { return start(); } finally { job.worker.workerData = data; }
}

const sleep = (ms: number, unref = false) => new Promise<void>((r) => { const t = setTimeout(r, ms); if (unref) t.unref(); });

/** An error from a worker thread (structured-cloned; not always an `Error` of this realm) as an Error with its message. */
function workerError(err: unknown): Error {
  if (err instanceof Error) return err;
  const m = (err as { message?: unknown })?.message;
  return new Error(typeof m === 'string' && m ? m : String(err));
}
