import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import { createContext, type Context } from '../context.js';
import { createLogger } from '../logger.js';
import { registerSecret } from '../core/redact.js';
import { errorMessage } from '../core/errors.js';
import type { MessageRef, ReportEvent, Reporter } from '../operations/reporter.js';
import type { JobOutcome, WorkAttempt } from '../operations/job-runner.js';
import { RESTORE_TEST_CONNECTIONS, restoreTestWidth } from '../operations/restore-test-width.js';

/**
 * The part every bree job file shares. A job runs in a worker thread (compiled .js; no transform is
 * inherited and nothing is shared with the main thread but JSON-safe workerData), so it:
 *   - builds its own Context from the validated config in workerData (its own pool and instance id);
 *   - talks to people through the main thread (one Slack client / console / test recorder): its
 *     Reporter forwards each report over parentPort and awaits where it was shown;
 *   - posts {type:'result', outcomes} and then 'done';
 *   - on 'cancel' (the scheduler's shutdown timeout ran out) aborts the AbortSignal handed to the job
 *     (runJob passes it to the body, the body to the operations), waits up to `cancelGraceMs` for the
 *     job to end, answers 'cancelled' and is terminated; run rows it left `running` are marked
 *     interrupted by the scheduler.
 */
export interface JobSpec {
  /** bree job name: `scheduled-backup:<client>`, `retention`, … */
  name: string;
  job: 'scheduled-backup' | 'retention' | 'integrity-check' | 'restore-test' | 'watchdog' | 'digest' | 'evidence-report';
  /** The cron of the config (the scheduler's timers and the fire claim both read it with cron-parser). */
  cron: string;
  /** job_state keys: the client of a per-client job, every client of a looping job, '' for global jobs. */
  keys: string[];
  client?: string;
  /** Set for one run when it comes from the shared work queue (src/jobs/work-queue-runner.ts). */
  attempt?: WorkAttempt;
}

export interface JobWorkerData {
  spec: JobSpec;
  config: Config;
  logLevel?: string;
  /** How long a cancelled job may take to end after its signal is aborted (default CANCEL_GRACE_MS). */
  cancelGraceMs?: number;
}

/** Default time a cancelled job gets to end (kill its children, remove its container) before 'cancelled'. */
export const CANCEL_GRACE_MS = 5000;

/** The abort reason a cancelled job sees. */
class JobCancelledError extends Error {
  constructor() { super('cancelled: the bot is stopping'); this.name = 'JobCancelledError'; }
}

export type WorkerRequest = { type: 'report'; id: number; event: ReportEvent; replace?: MessageRef };
export type WorkerReply = { type: 'report-result'; id: number; ref?: MessageRef };
export interface WorkerResult { type: 'result'; job: string; outcomes: JobOutcome[] }

/** Forwards reports to the main thread's reporter. */
class ParentPortReporter implements Reporter {
  private seq = 0;
  private readonly waiting = new Map<number, (r: WorkerReply) => void>();
  constructor(private readonly port: NonNullable<typeof parentPort>) {
    port.on('message', (m: unknown) => {
      const r = m as WorkerReply;
      if (r && typeof r === 'object' && r.type === 'report-result') {
        this.waiting.get(r.id)?.(r);
        this.waiting.delete(r.id);
      }
    });
  }
  report(event: ReportEvent, replace?: MessageRef): Promise<MessageRef | undefined> {
    const id = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(id, (r) => resolve(r.ref));
      this.port.postMessage({ type: 'report', id, event, ...(replace ? { replace } : {}) } satisfies WorkerRequest);
    });
  }
}

/** Secrets of the config are masked in this thread's logs and messages too. */
function registerConfigSecrets(value: unknown, key = ''): void {
  if (typeof value === 'string') {
    if (/(token|secret|password|accesskeyid|secretaccesskey)$/i.test(key)) registerSecret(value);
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@]*)@/i.exec(value);
    if (m?.[1]) { registerSecret(m[1]); try { registerSecret(decodeURIComponent(m[1])); } catch { /* keep raw */ } }
    return;
  }
  if (Array.isArray(value)) { for (const v of value) registerConfigSecrets(v, key); return; }
  if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) registerConfigSecrets(v, k);
}

/** Runs one job in this worker: context, the operation (with the cancel signal), result, 'done'. */
export async function runJobWorker(fn: (ctx: Context, spec: JobSpec, signal: AbortSignal) => Promise<JobOutcome | JobOutcome[]>): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('a job file runs inside a bree worker thread');
  const data = workerData as JobWorkerData;
  registerConfigSecrets(data.config);
  const logger = createLogger({ level: data.logLevel ?? process.env.LOG_LEVEL ?? 'info' }).child({ job: data.spec.name });
  const controller = new AbortController();
  let ended!: () => void;
  const finished = new Promise<void>((r) => { ended = r; });
  port.on('message', (m: unknown) => {
    if (m !== 'cancel' || controller.signal.aborted) return;
    logger.warn('cancelled: aborting the job');
    controller.abort(new JobCancelledError());
    const grace = data.cancelGraceMs ?? CANCEL_GRACE_MS;
    let timer: NodeJS.Timeout | undefined;
    void Promise.race([finished, new Promise<void>((r) => { timer = setTimeout(r, grace); })]).then(() => {
      clearTimeout(timer);
      port.postMessage('cancelled');
    });
  });
  let ctx: Context | undefined;
  try {
    // The restore-test job runs restoreTestWidth tests at once, each holding its own locks' connections.
    const poolSize = 8 + (data.spec.job === 'restore-test' ? RESTORE_TEST_CONNECTIONS * (restoreTestWidth(data.config) - 1) : 0);
    ctx = await createContext(data.config, { reporter: new ParentPortReporter(port), logger, poolSize });
    const r = await fn(ctx, data.spec, controller.signal);
    const result: WorkerResult = { type: 'result', job: data.spec.name, outcomes: Array.isArray(r) ? r : [r] };
    port.postMessage(result);
  } catch (err) {
    // Nothing below runJob should throw; this is the context failing (state database unreachable).
    logger.error({ err: errorMessage(err) }, 'job could not run');
    const outcomes: JobOutcome[] = data.spec.keys.map((k) => ({ job: data.spec.job, client: k, status: 'failed', error: errorMessage(err) }));
    port.postMessage({ type: 'result', job: data.spec.name, outcomes, fatal: true } satisfies WorkerResult & { fatal: boolean });
  } finally {
    await ctx?.close().catch(() => undefined);
    ended();
  }
  port.postMessage('done');
}
