import type { Context } from '../context.js';
import type { ClientConfig } from '../config/schema.js';
import { restoreTestWidth } from './restore-test-width.js';
import { quarterOf } from '../store/restore-test-register.js';
import { zonedParts } from '../core/time.js';
import { runJob, type JobOutcome, type WorkAttempt } from './job-runner.js';
import { cleanUpEarlierAttempt } from './queued-backup.js';
import { BackupBusyError, runBackup } from './backup.js';
import { prune } from './prune.js';
import { verifyBackup } from './verify-backup.js';
import { RestoreTestBusyError, runRestoreTest } from './restore-test.js';
import { dropExpiredOldDatabases } from './restore-recovery.js';
import { checkClient, runWatchdog } from './watchdog.js';
import { postDigest } from './digest.js';
import { makeEvidencePack } from './evidence-report.js';
import { monthPeriod, previousMonth } from './evidence-period.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearAlerts, raiseAlert } from './escalation.js';
import { remindQa } from './qa-loop.js';

/**
 * What each scheduled job does, as plain functions (the bree worker files in src/jobs only build a
 * context and call one of these). Each goes through runJob: one execution per schedule fire across
 * replicas, failures recorded and alerted; `signal` is aborted when the job is cancelled at shutdown.
 */
/** `attempt`: set when the run comes from the shared work queue (issue 21). */
export interface ScheduledInput { cron: string; signal?: AbortSignal; attempt?: WorkAttempt }

/** scheduled-backup:<client> — runBackup(type scheduled, wait:false); a running Slack backup means skip, never overlap. */
export async function scheduledBackup(ctx: Context, input: ScheduledInput & { client: string }): Promise<JobOutcome> {
  const { client } = input;
  const outcome = await runJob(ctx, { job: 'scheduled-backup', client, cron: input.cron, signal: input.signal, attempt: input.attempt }, async (_fire, signal) => {
    try {
      if (input.attempt && input.attempt.n > 1) await cleanUpEarlierAttempt(ctx, client);
      const work = input.attempt ? { work: { id: input.attempt.id, attempt: input.attempt.n, of: input.attempt.of, fire: input.attempt.fire, waitedSeconds: input.attempt.waitedSeconds ?? null } } : undefined;
      const out = await runBackup(ctx, { client, type: 'scheduled', actor: 'schedule', actorName: 'schedule', trigger: 'schedule', wait: false, signal, ...(work ? { details: work } : {}) });
      return { status: out.ok ? 'ok' : out.run.status === 'interrupted' ? 'cancelled' : 'failed', runId: out.run.id, ...(out.error ? { error: out.error } : {}) };
    } catch (err) {
      if (!(err instanceof BackupBusyError)) throw err;
      const id = err.running.id;
      ctx.logger.info({ client, run: id }, `skipped: a backup of ${client} is already running (run ${id})`);
      return { status: 'skipped', reason: `a backup of ${client} is already running (run ${id})` };
    }
  });
  // Cancelled by a stop with attempts left: the work goes back to the queue and its next attempt checks (no S2 for a deploy).
  const handedBack = outcome.status === 'cancelled' && input.attempt !== undefined && input.attempt.n < input.attempt.of;
  if (outcome.status !== 'skipped' && !handedBack) {
    // Alert at once when it failed, resolve at once when it was good (the watchdog job also checks periodically).
    await checkClient(ctx, client).catch((err: unknown) => ctx.logger.warn({ err: String(err) }, 'watchdog check after the backup failed'));
  }
  return outcome;
}

/** retention — daily, per client: prune, and drop the old databases kept by swap restores past approvals.keepOldFor. */
export async function scheduledRetention(ctx: Context, input: ScheduledInput): Promise<JobOutcome[]> {
  const out: JobOutcome[] = [];
  for (const client of Object.keys(ctx.config.clients)) {
    out.push(await runJob(ctx, { job: 'retention', client, cron: input.cron, signal: input.signal, attempt: input.attempt }, async (_fire, signal) => {
      const r = await prune(ctx, { client, actor: 'schedule', trigger: 'schedule' });
      const dropped = await dropExpiredOldDatabases(ctx, client);
      const dropErrors = dropped.filter((d) => d.error).map((d) => `cannot drop the old database ${d.database}: ${d.error}`);
      const errors = [...(r.run.status === 'failed' || r.errors.length > 0 ? [r.run.error ?? `${r.errors.length} prune error(s)`] : []), ...dropErrors];
      const done = dropped.filter((d) => !d.error).map((d) => d.database);
      return {
        status: errors.length ? 'failed' : 'ok', runId: r.run.id,
        ...(done.length ? { reason: `dropped the old database(s) kept by a swap restore: ${done.join(', ')}` } : {}),
        ...(errors.length ? { error: errors.join('; ') } : {}),
      };
    }));
    await escalateCheck(ctx, 'retention', out[out.length - 1]!);
  }
  return out;
}

/**
 * A failed retention run or integrity check is a tracked S2 alert of the client (S1 when the integrity check
 * finds the newest backup unreadable: there may be nothing to restore); the next passing run resolves it.
 */
async function escalateCheck(ctx: Context, check: 'retention' | 'integrity', o: JobOutcome): Promise<void> {
  if (o.status === 'ok') {
    await clearAlerts(ctx, o.client, [check], `${check === 'retention' ? 'retention' : 'the integrity check'} ran cleanly${o.runId ? ` (run ${o.runId})` : ''}`);
    return;
  }
  if (o.status !== 'failed') return;
  const severity = check === 'integrity' ? 'S1' : 'S2';
  const what = check === 'retention' ? 'retention (clean-up of old backups)' : 'the integrity check of the newest backup';
  await raiseAlert(ctx, {
    client: o.client, kind: check, severity, message: `${severity} — ${what} of ${o.client} failed: ${o.error ?? 'see the run'}`, details: { run: o.runId ?? null },
    event: (incidentId, audience) => ({ kind: 'alert.check_failed', client: o.client, check, ...(o.runId ? { runId: o.runId } : {}), error: o.error ?? 'see the run', severity, audience, ...(incidentId ? { incidentId } : {}) }),
  });
}

/** integrity-check — monthly, first Monday (SOP 8.2): read back and verify the newest backup of every client, post the result. */
export async function scheduledIntegrityCheck(ctx: Context, input: ScheduledInput): Promise<JobOutcome[]> {
  const out: JobOutcome[] = [];
  for (const client of Object.keys(ctx.config.clients)) {
    out.push(await runJob(ctx, { job: 'integrity-check', client, cron: input.cron, signal: input.signal, attempt: input.attempt }, async (_fire, signal) => {
      const r = await verifyBackup(ctx, { client, actor: 'schedule', trigger: 'schedule', notify: true });
      return { status: r.ok ? 'ok' : 'failed', runId: r.run.id, ...(r.error ? { error: r.error } : {}) };
    }));
    await escalateCheck(ctx, 'integrity', out[out.length - 1]!);
  }
  const ran = out.filter((o) => o.status !== 'skipped');
  if (ran.length > 0) {
    await ctx.reporter.report({ kind: 'integrity.summary', results: ran.map((o) => ({ client: o.client, ok: o.status === 'ok', ...(o.error ? { error: o.error } : {}), ...(o.runId ? { runId: o.runId } : {}) })) });
  }
  return out;
}

/**
 * restore-test — on schedules.restoreTest, for clients whose restoreTest.months include this month and whose
 * quarter has no passing test yet: runRestoreTest on the newest verified backup.
 */
export async function scheduledRestoreTest(ctx: Context, input: ScheduledInput): Promise<JobOutcome[]> {
  const tz = ctx.config.timezone;
  const clients = Object.entries(ctx.config.clients);
  const out: JobOutcome[] = new Array<JobOutcome>(clients.length);
  const one = async ([client, c]: [string, ClientConfig]) => runJob(ctx, { job: 'restore-test', client, cron: input.cron, signal: input.signal, attempt: input.attempt }, async (_fire, signal) => {
    const now = ctx.clock.now();
    const month = Number(zonedParts(now, tz).month);
    if (!c.restoreTest.months.includes(month)) return { status: 'skipped', reason: `month ${month} is not a restore-test month (${c.restoreTest.months.join(', ')})` };
    const quarter = quarterOf(now, tz);
    const done = (await ctx.store.restoreTests.list({ client, environment: 'Test', result: 'OK', limit: 20 })).find((t) => t.quarter === quarter);
    // A passing test awaiting QA's signature is not run again: QA is reminded instead (qa-loop.ts).
    if (done) return { status: 'skipped', reason: `the ${quarter} restore test ${done.verified_by_qa ? 'is done' : 'passed and awaits QA\'s signature'} (register ${done.id})` };
    try {
      const r = await runRestoreTest(ctx, { client, actor: 'schedule', actorName: 'schedule', trigger: 'schedule', notify: true, signal });
      return { status: r.ok ? 'ok' : r.run.status === 'interrupted' ? 'cancelled' : 'failed', runId: r.run.id, ...(r.error ? { error: r.error } : {}) };
    } catch (err) {
      if (!(err instanceof RestoreTestBusyError)) throw err;
      return { status: 'skipped', reason: `a restore test of ${client} is already running` };
    }
  });
  // As many clients at once as the staging engines take (restoreTestWidth; one by default): each test still takes
  // its engine's slot (restore-test.ts), this only keeps the engines busy. Outcomes in client order.
  let next = 0;
  const settled = await Promise.allSettled(Array.from({ length: Math.min(clients.length, restoreTestWidth(ctx.config)) }, async () => {
    for (let i = next++; i < clients.length; i = next++) out[i] = await one(clients[i]!);
  }));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return out;
}

/** watchdog — every few minutes: S2 alerts for stale or failed backups and RPO breaches; resolutions; QA reminders due. */
export async function scheduledWatchdog(ctx: Context, input: ScheduledInput): Promise<JobOutcome> {
  return runJob(ctx, { job: 'watchdog', client: '', cron: input.cron, signal: input.signal, attempt: input.attempt }, async (_fire, signal) => {
    const run = await ctx.store.runs.start({ kind: 'watchdog', actor: 'schedule', trigger: 'schedule', instance: ctx.instance, startedAt: ctx.clock.now() });
    try {
      const r = await runWatchdog(ctx);
      await remindQa(ctx).catch((err: unknown) => ctx.logger.warn({ err: String(err) }, 'QA reminders failed'));
      await ctx.store.runs.finish(run.id, {
        status: 'ok', at: ctx.clock.now(),
        details: { opened: r.opened.map((a) => ({ id: a.id, client: a.client, kind: a.kind })), resolved: r.resolved.map((a) => ({ id: a.id, client: a.client, kind: a.kind })) },
      });
      return { runId: run.id };
    } catch (err) {
      await ctx.store.runs.finish(run.id, { status: 'failed', error: String((err as Error)?.message ?? err), at: ctx.clock.now() });
      throw err;
    }
  });
}

/** digest — daily at slack.digest.cron: one message for all clients. */
export async function scheduledDigest(ctx: Context, input: ScheduledInput): Promise<JobOutcome> {
  return runJob(ctx, { job: 'digest', client: '', cron: input.cron, signal: input.signal, attempt: input.attempt }, async (_fire, signal) => {
    const r = await postDigest(ctx, { trigger: 'schedule', actor: 'schedule', chart: Boolean(ctx.config.slack) });
    return { runId: r.runId };
  });
}

/**
 * evidence-report — monthly (schedules.evidenceReport, default the 1st at 07:00): the previous month's signed
 * evidence report of each client, its PDF shared in the client's channel (issue 19).
 */
export async function scheduledEvidenceReport(ctx: Context, input: ScheduledInput): Promise<JobOutcome[]> {
  const out: JobOutcome[] = [];
  for (const client of Object.keys(ctx.config.clients)) {
    out.push(await runJob(ctx, { job: 'evidence-report', client, cron: input.cron, signal: input.signal }, async (_fire, signal) => {
      const period = monthPeriod(previousMonth(ctx.clock.now(), ctx.config.timezone), ctx.config.timezone);
      const dir = await mkdtemp(join(tmpdir(), 'backup-bot-report-'));
      try {
        const r = await makeEvidencePack(ctx, { period, client, lang: ctx.config.locale, outDir: dir, actor: 'schedule', trigger: 'schedule', signal });
        const ref = await ctx.reporter.report({
          kind: 'evidence.report', client, period: period.label, pdf: { filename: `evidence-report_${client}_${period.label}.pdf`, bytes: await readFile(r.files.pdf) },
          reportSha256: r.reportSha256, keyId: r.keyId, evidenceOk: r.evidence.ok, brokenRows: r.brokenRows,
        });
        if (!ref) return { status: 'failed', runId: r.runId, error: `the ${period.label} evidence report of ${client} was made (run ${r.runId}) but could not be posted` };
        return { status: 'ok', runId: r.runId, reason: `evidence report ${period.label}: ${r.evidence.summary}` };
      } finally {
        await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      }
    }));
  }
  return out;
}
