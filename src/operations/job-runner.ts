import type { Context } from '../context.js';

import { errorMessage } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { formatDateTime } from '../core/time.js';
import { latestFire } from './schedule.js';

/**
 * How every scheduled job executes, whichever replica or path (timer, catch-up) started it:
 *   1. take the advisory lock `job:<job>` / client without waiting — taken means another instance is
 *      running it: skip and say so in the log;
 *   2. claim the schedule's latest fire in job_state — already claimed means this fire has run
 *      (on another replica, or a catch-up did it): skip;
 *   3. run; a throw is recorded as a failed `job` run and alerted in the client's channel, and never
 *      propagates (a job that throws does not kill the scheduler).
 */
type JobStatus = 'ok' | 'failed' | 'skipped' | 'cancelled';

export interface JobOutcome {
  job: string;
  /** '' for jobs that are not per client (watchdog, digest). */
  client: string;
  status: JobStatus;
  /** Why it was skipped: another instance holds the lock, the fire already ran, not due (month, busy…). */
  reason?: string;
  fire?: string;
  runId?: string;
  error?: string;
}

/** Queued work (issue 21): which attempt this is, at which fire, so the run is for the fire that was enqueued. */
export interface WorkAttempt {
  /** The work's id in the queue. */
  id: string;
  /** 1, 2, … (a later attempt follows a replica that lost its lease). */
  n: number;
  of: number;
  /** The fire (ISO) the work was enqueued for. */
  fire: string;
  /** Seconds the work waited in the queue before this attempt started. */
  waitedSeconds?: number;
}

export interface JobTarget {
  job: string;
  client: string;
  cron: string;
  /** Set when the run comes from the work queue. */
  attempt?: WorkAttempt;
  /** Aborted when the job is cancelled (the scheduler's shutdown timeout ran out): handed to the body. */
  signal?: AbortSignal;
}

/** A job's work; `signal` is aborted on cancel and is passed on to the operations it calls. */
export type JobBody = (fire: Date, signal: AbortSignal) => Promise<Partial<Omit<JobOutcome, 'job' | 'client' | 'fire'>> | void>;

export async function runJob(ctx: Context, t: JobTarget, body: JobBody): Promise<JobOutcome> {
  const who = t.client ? ` for ${t.client}` : '';
  const log = ctx.logger.child({ job: t.job, client: t.client || undefined });
  const signal = t.signal ?? new AbortController().signal;
  if (signal.aborted) return { job: t.job, client: t.client, status: 'cancelled', reason: cancelReason(signal) };
  let lock;
  try {
    // Lock 1 of the per-client order (src/operations/recover-client.ts): held around the operation, which takes its own.
    lock = await ctx.store.withLock(`job:${t.job}`, t.client, async (): Promise<JobOutcome> => {
      const now = ctx.clock.now();
      const fire = t.attempt ? new Date(t.attempt.fire) : latestFire(t.cron, ctx.config.timezone, now);
      if (t.attempt && t.attempt.n > 1) await recoverEarlierAttempt(ctx, t, log);
      if (!(await ctx.store.jobs.claimFire(t.job, t.client, fire, now, { again: (t.attempt?.n ?? 1) > 1 }))) {
        log.info({ fire: fire.toISOString() }, `skipped: the ${formatDateTime(fire, ctx.config.timezone)} run of ${t.job}${who} has already run`);
        return { job: t.job, client: t.client, status: 'skipped', reason: 'already ran', fire: fire.toISOString() };
      }
      log.info({ fire: fire.toISOString() }, `running ${t.job}${who}`);
      try {
        const r = (await body(fire, signal)) ?? {};
        const out: JobOutcome = { job: t.job, client: t.client, status: 'ok', ...r, fire: fire.toISOString() };
        log.info({ status: out.status, reason: out.reason, run: out.runId, error: out.error }, `${t.job}${who}: ${out.status}${out.reason ? ` (${out.reason})` : ''}`);
        return out;
      } catch (err) {
        if (signal.aborted) {
          // Cancelled at shutdown: not a failure to alert on; its runs end interrupted.
          log.warn({ fire: fire.toISOString(), err: errorMessage(err) }, `${t.job}${who} cancelled: ${cancelReason(signal)}`);
          return { job: t.job, client: t.client, status: 'cancelled', reason: cancelReason(signal), fire: fire.toISOString() };
        }
        const failed = await recordJobFailure(ctx, t, err);
        return { ...failed, fire: fire.toISOString() };
      }
    }, { wait: false });
  } catch (err) {
    // The lock or the claim itself failed (state database unreachable): still an outcome, never a crash.
    return recordJobFailure(ctx, t, err);
  }
  if (!lock.acquired) {
    log.info(`skipped: another instance is running ${t.job}${t.client ? ` for ${t.client}` : ''}`);
    return { job: t.job, client: t.client, status: 'skipped', reason: 'another instance is running it' };
  }
  return lock.value;
}

/**
 * The next attempt of queued work whose replica died: that replica's `running` rows are marked interrupted
 * (its instance lock is free once its connection is gone) before this attempt starts. The job's own
 * clean-up (a backup's `.partial` files and open uploads) is done by the body, under the client's lock.
 */
async function recoverEarlierAttempt(ctx: Context, t: JobTarget, log: Context['logger']): Promise<void> {
  const reaped = await ctx.store.reapInterruptedRuns(ctx.clock.now());
  log.warn({ work: t.attempt?.id, attempt: t.attempt?.n, interrupted: reaped.map((r) => r.id) }, `attempt ${t.attempt?.n} of ${t.job}${t.client ? ` for ${t.client}` : ''}: the earlier attempt's replica is gone`);
  for (const r of reaped) {
    await ctx.reporter.report({ kind: 'notice.run_interrupted', client: r.client ?? '', runKind: r.kind, runId: r.id, startedAt: r.started_at, step: r.step });
  }
}

function cancelReason(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'cancelled');
}

/** A job that threw: a failed `job` run (what failed, when, where) and an alert in the client's channel. */
export async function recordJobFailure(ctx: Context, t: { job: string; client: string }, err: unknown): Promise<JobOutcome> {
  const error = redactSecrets(errorMessage(err)).slice(0, 2000);
  const who = t.client ? ` for ${t.client}` : '';
  ctx.logger.error({ job: t.job, client: t.client || undefined, err: error }, `scheduled job ${t.job}${who} failed`);
  let runId: string | undefined;
  try {
    const now = ctx.clock.now();
    const run = await ctx.store.runs.start({ kind: 'job', client: t.client || null, actor: 'schedule', trigger: 'schedule', details: { job: t.job }, instance: ctx.instance, startedAt: now });
    await ctx.store.runs.finish(run.id, { status: 'failed', error, at: now });
    runId = run.id;
  } catch (e) {
    ctx.logger.error({ err: errorMessage(e) }, 'could not record the failed job run');
  }
  await ctx.reporter.report({ kind: 'alert.job_failed', client: t.client, job: t.job, ...(runId ? { runId } : {}), error, audience: ['operators'] });
  return { job: t.job, client: t.client, status: 'failed', error, runId };
}
