import type { Config } from '../config/schema.js';
import type { Context } from '../context.js';
import { errorMessage } from '../core/errors.js';
import { databaseServer } from '../core/db-url.js';
import { parseDuration } from '../config/duration.js';
import type { JobOutcome, WorkAttempt } from '../operations/job-runner.js';
import type { BackupRequest } from '../operations/queued-backup.js';
import { checkWorkWaiting } from '../operations/work-wait.js';
import type { JobSpec } from './worker.js';
import { openWorkQueue, restoreTestQueueKey, workGroupId, type ClaimedWork, type QueueFigures, type WorkGroup, type WorkQueue } from '../store/work-queue.js';

/**
 * The shared work queue under bree's schedule (issue 21). Every replica's cron timers still fire, but a fire of
 * heavy work (a client's scheduled backup, retention, the integrity check, the restore tests) is enqueued
 * instead of started: the same job and fire give one piece of work whichever replicas enqueue it. Each replica
 * pulls work while it has a free slot (workers.maxConcurrent) and runs it as before, as the job's bree worker
 * (scheduler.run with the attempt), so the fire claim, the job lock, the run rows and the alerts are unchanged.
 * The watchdog and the digest are light and still run where they fire.
 */
const QUEUED_JOBS: ReadonlySet<JobSpec['job']> = new Set(['scheduled-backup', 'retention', 'integrity-check', 'restore-test']);

export interface WorkQueueRunner {
  readonly queue: WorkQueue;
  /** SchedulerOptions.dispatch: enqueues the fire of a queued job (true), leaves the others to the scheduler (false). */
  dispatch(spec: JobSpec, fire: Date): boolean;
  /** Queues a person's `/backup now`; resolves at once with its id and how many pieces of work are queued before it. */
  enqueueBackupRequest(r: BackupRequest): Promise<{ id: string; ahead: number }>;
  /** Starts pulling work: scheduled jobs into `run` (the scheduler's run), people's requests into `requested`. */
  start(run: (name: string, attempt: WorkAttempt) => Promise<JobOutcome[]>, running: () => string[], requested: (r: BackupRequest, attempt: WorkAttempt) => Promise<void>): Promise<void>;
  /** Work this replica runs right now. */
  running(): Array<{ name: string; attempt: number; since: Date }>;
  figures(): Promise<QueueFigures>;
  /** Stops pulling new work (at the start of a stop: work in hand goes on, the scheduler's stop waits for it). */
  pause(): Promise<void>;
  /** Closes the queue (after the scheduler stopped: what was in hand is settled). */
  stop(): Promise<void>;
}

/** The group that limits a job across replicas: a dump counts against its database server, a restore test against its Docker engine. */
function workGroup(config: Config, spec: Pick<JobSpec, 'job' | 'client'>): WorkGroup | undefined {
  if (spec.job === 'scheduled-backup' && spec.client) {
    const db = config.clients[spec.client]?.database;
    const server = db ? databaseServer(db) : undefined;
    return server ? { id: workGroupId('db', server), tier: 'db' } : undefined;
  }
  if (spec.job === 'restore-test') return { id: workGroupId('docker', restoreTestQueueKey(config)), tier: 'docker' };
  return undefined;
}

export async function openWorkQueueRunner(ctx: Context, opts: { pollSeconds?: number } = {}): Promise<WorkQueueRunner> {
  const config = ctx.config;
  const w = config.workers;
  const log = ctx.logger.child({ component: 'work-queue' });
  const leaseSeconds = Math.round((parseDuration(w.leaseTimeout) ?? 120_000) / 1000);
  const queue = await openWorkQueue({
    url: config.state.url, ownerUrl: config.state.ownerUrl,
    limits: { maxConcurrent: w.maxConcurrent, perTier: { db: w.perDatabaseHost, docker: config.restoreTest.maxConcurrent }, leaseSeconds, attempts: w.attempts, pollSeconds: opts.pollSeconds },
    onError: (err) => log.warn({ err: errorMessage(err) }, 'work queue error'),
  });
  let waitTimer: NodeJS.Timeout | undefined;
  const inHand = new Map<string, { name: string; attempt: number; since: Date }>();

  type Handlers = { run: (name: string, attempt: WorkAttempt) => Promise<JobOutcome[]>; running: () => string[]; requested: (r: BackupRequest, attempt: WorkAttempt) => Promise<void> };
  const handle = async (work: ClaimedWork, h: Handlers): Promise<void> => {
    const { data } = work;
    const { run, running } = h;
    if (data.request) {
      const waitedSeconds = Math.max(0, Math.round((Date.now() - new Date(data.enqueuedAt).getTime()) / 1000));
      log.info({ work: work.id, client: data.request.client, attempt: work.attempt, waitedSeconds }, `running the queued backup of ${data.request.client} asked by ${data.request.actorName} (waited ${waitedSeconds} s)`);
      inHand.set(work.id, { name: data.name, attempt: work.attempt, since: new Date() });
      try { await h.requested(data.request, { id: work.id, n: work.attempt, of: w.attempts, fire: data.fire, waitedSeconds }); } finally { inHand.delete(work.id); }
      return;
    }
    // One bree worker per job name: an earlier fire of the same job still running here goes first.
    while (running().includes(data.name)) await new Promise((r) => setTimeout(r, 500));
    const waitedSeconds = Math.max(0, Math.round((Date.now() - new Date(data.enqueuedAt).getTime()) / 1000));
    const attempt: WorkAttempt = { id: work.id, n: work.attempt, of: w.attempts, fire: data.fire, waitedSeconds };
    log.info({ work: work.id, job: data.name, fire: data.fire, attempt: work.attempt, waitedSeconds }, `running queued ${data.name} (attempt ${work.attempt} of ${w.attempts}, waited ${waitedSeconds} s)`);
    inHand.set(work.id, { name: data.name, attempt: work.attempt, since: new Date() });
    try {
      const outcomes = await run(data.name, attempt);
      // Cancelled at shutdown: the attempt did not happen; the next one runs on a replica that is not stopping.
      const cancelled = outcomes.filter((o) => o.status === 'cancelled');
      if (cancelled.length > 0) throw new Error(`${data.name} was cancelled (${cancelled[0]!.reason ?? 'the bot is stopping'})`);
    } finally {
      inHand.delete(work.id);
    }
  };

  return {
    queue,
    dispatch(spec, fire) {
      if (!QUEUED_JOBS.has(spec.job)) return false;
      const data = { name: spec.name, job: spec.job, ...(spec.client ? { client: spec.client } : {}), fire: fire.toISOString(), enqueuedAt: new Date().toISOString(), by: ctx.instance.id };
      void queue.enqueue(data, workGroup(config, spec))
        .then((id) => log.info({ job: spec.name, fire: data.fire, work: id }, id ? `queued ${spec.name} for its ${data.fire} fire` : `${spec.name} for its ${data.fire} fire is already queued`))
        .catch((err: unknown) => log.error({ job: spec.name, fire: data.fire, err: errorMessage(err) }, `could not queue ${spec.name}`));
      return true;
    },
    async enqueueBackupRequest(r) {
      const now = new Date().toISOString();
      const data = { name: `backup-now:${r.client}`, job: 'backup-now', client: r.client, fire: now, enqueuedAt: now, by: ctx.instance.id, request: r };
      const id = (await queue.enqueue(data, workGroup(config, { job: 'scheduled-backup', client: r.client }), { unique: true }))!;
      return { id, ahead: (await queue.ahead(id)) ?? 0 };
    },
    async start(run, running, requested) {
      await queue.work((work) => handle(work, { run, running, requested }));
      // workers.maxWait: checked a few times per maxWait (at most every minute) by every replica; one alert per client.
      const everyMs = Math.min(60_000, Math.max(1000, (parseDuration(w.maxWait) ?? 3_600_000) / 4));
      let checking = false;
      waitTimer = setInterval(() => {
        if (checking) return;
        checking = true;
        void queue.figures().then((f) => checkWorkWaiting(ctx, f.waiting, f.queued))
          .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not check how long work has waited'))
          .finally(() => { checking = false; });
      }, everyMs);
      waitTimer.unref();
      log.info({ maxConcurrent: w.maxConcurrent, perDatabaseHost: w.perDatabaseHost, leaseSeconds, attempts: w.attempts }, 'pulling work from the shared queue');
    },
    running: () => [...inHand.values()],
    figures: () => queue.figures(),
    pause: () => { clearInterval(waitTimer); return queue.pause(); },
    stop: () => { clearInterval(waitTimer); return queue.stop(); },
  };
}
