import type { Context } from '../context.js';
import { OperationError } from '../core/errors.js';
import { finishRun, startRun } from '../store/runs.js';
import { listRestoreTests, quarterOf } from '../store/restore-test-register.js';
import { clientChannel } from '../slack/notifier.js';
import { zonedParts } from '../core/time.js';
import { runJob, type JobOutcome } from './job-runner.js';
import { isBusyError, peerOperations, type PeerOperations } from './peer-operations.js';
import { checkClient, runWatchdog } from './watchdog.js';
import { postDigest } from './digest.js';
import { mention, mentionsFor } from './mentions.js';

/**
 * What each scheduled job does, as plain functions (the bree worker files in src/jobs only build a
 * context and call one of these). Each goes through runJob: one execution per schedule fire across
 * replicas, failures recorded and alerted.
 */
export interface ScheduledInput {
  cron: string;
  ops?: PeerOperations;
  /** Aborted when the job is cancelled at shutdown; passed to runJob and on to the operations. */
  signal?: AbortSignal;
}

const ops = async (i: ScheduledInput) => i.ops ?? (await peerOperations());

/** scheduled-backup:<client> — runBackup(type scheduled, wait:false); a running Slack backup means skip, never overlap. */
export async function scheduledBackup(ctx: Context, input: ScheduledInput & { client: string }): Promise<JobOutcome> {
  const { client } = input;
  const outcome = await runJob(ctx, { job: 'scheduled-backup', client, cron: input.cron, signal: input.signal }, async (_fire, signal) => {
    const { runBackup } = await ops(input);
    if (!runBackup) throw new OperationError('the backup engine (runBackup) is not available in this build');
    try {
      const out = await runBackup(ctx, { client, type: 'scheduled', actor: 'schedule', actorName: 'schedule', trigger: 'schedule', wait: false, signal });
      return { status: out.ok ? 'ok' : 'failed', runId: out.run.id, ...(out.error ? { error: out.error } : {}) };
    } catch (err) {
      if (!isBusyError(err)) throw err;
      const id = err.running?.id;
      ctx.logger.info({ client, run: id }, `skipped: a backup of ${client} is already running${id ? ` (run ${id})` : ''}`);
      return { status: 'skipped', reason: `a backup of ${client} is already running${id ? ` (run ${id})` : ''}` };
    }
  });
  if (outcome.status !== 'skipped') {
    // Alert at once when it failed, resolve at once when it was good (the watchdog job also checks periodically).
    await checkClient(ctx, client).catch((err: unknown) => ctx.logger.warn({ err: String(err) }, 'watchdog check after the backup failed'));
  }
  return outcome;
}

/** retention — daily, per client: the backup engine's prune. */
export async function scheduledRetention(ctx: Context, input: ScheduledInput): Promise<JobOutcome[]> {
  const out: JobOutcome[] = [];
  for (const client of Object.keys(ctx.config.clients)) {
    out.push(await runJob(ctx, { job: 'retention', client, cron: input.cron, signal: input.signal }, async (_fire, signal) => {
      const { prune } = await ops(input);
      if (!prune) throw new OperationError('retention (prune) is not available in this build');
      const r = await prune(ctx, { client, actor: 'schedule', trigger: 'schedule', signal });
      // Old production databases kept aside by a completed swap restore, past approvals.keepOldFor.
      const { dropExpiredOldDatabases } = await import('./restore.js');
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
  }
  return out;
}

/** integrity-check — monthly, first Monday (SOP 8.2): read back and verify the newest backup of every client, post the result. */
export async function scheduledIntegrityCheck(ctx: Context, input: ScheduledInput): Promise<JobOutcome[]> {
  const out: JobOutcome[] = [];
  for (const client of Object.keys(ctx.config.clients)) {
    out.push(await runJob(ctx, { job: 'integrity-check', client, cron: input.cron, signal: input.signal }, async (_fire, signal) => {
      const { verifyBackup } = await ops(input);
      if (!verifyBackup) throw new OperationError('backup verification (verifyBackup) is not available in this build');
      const r = await verifyBackup(ctx, { client, actor: 'schedule', trigger: 'schedule', notify: true, signal });
      return { status: r.ok ? 'ok' : 'failed', runId: r.run.id, ...(r.error ? { error: r.error } : {}) };
    }));
  }
  const ran = out.filter((o) => o.status !== 'skipped');
  if (ran.length > 0) {
    const lines = ran.map((o) => `${o.status === 'ok' ? ':white_check_mark:' : ':x:'} *${o.client}*: ${o.status === 'ok' ? 'newest backup read back and verified' : `FAILED — ${o.error ?? 'see the run'}`}${o.runId ? ` (run ${o.runId})` : ''}`);
    await ctx.notifier.post(clientChannel(ctx.config, ''), { text: [':mag: *Monthly integrity check (SOP 8.2)*', ...lines].join('\n') });
  }
  return out;
}

/**
 * restore-test — on schedules.restoreTest, for clients whose restoreTest.months include this month and
 * whose quarter has no passing test yet: runRestoreTest; until that operation exists, a reminder.
 */
export async function scheduledRestoreTest(ctx: Context, input: ScheduledInput): Promise<JobOutcome[]> {
  const out: JobOutcome[] = [];
  const tz = ctx.config.timezone;
  for (const [client, c] of Object.entries(ctx.config.clients)) {
    out.push(await runJob(ctx, { job: 'restore-test', client, cron: input.cron, signal: input.signal }, async (_fire, signal) => {
      const now = ctx.clock.now();
      const month = Number(zonedParts(now, tz).month);
      if (!c.restoreTest.months.includes(month)) return { status: 'skipped', reason: `month ${month} is not a restore-test month (${c.restoreTest.months.join(', ')})` };
      const quarter = quarterOf(now, tz);
      const done = (await listRestoreTests(ctx.pool, { client, environment: 'Test', result: 'OK', limit: 20 })).find((t) => t.quarter === quarter);
      if (done) return { status: 'skipped', reason: `the ${quarter} restore test is done (register ${done.id})` };
      const { runRestoreTest } = await ops(input);
      if (runRestoreTest) {
        try {
          const r = await runRestoreTest(ctx, { client, actor: 'schedule', actorName: 'schedule', trigger: 'schedule', notify: true, signal });
          return { status: r.ok ? 'ok' : 'failed', runId: r.run.id, ...(r.error ? { error: r.error } : {}) };
        } catch (err) {
          if (!isBusyError(err)) throw err;
          return { status: 'skipped', reason: `a restore test of ${client} is already running` };
        }
      }
      const who = [mentionsFor(c), ...c.roles.qa.map(mention)].filter(Boolean).join(' ');
      await ctx.notifier.post(clientChannel(ctx.config, client), {
        text: `:calendar: The quarterly restore test of *${client}* is due (SOP 8.3, ${quarter}): restore the newest backup into staging and verify it — \`/backup restore-test ${client}\` or \`backup-bot restore-test ${client}\`.${who ? `\n${who}` : ''}`,
      });
      const run = await startRun(ctx.pool, { kind: 'job', client, actor: 'schedule', trigger: 'schedule', details: { job: 'restore-test', reminder: true, quarter }, instance: ctx.instance, startedAt: now });
      await finishRun(ctx.pool, run.id, { status: 'ok', at: ctx.clock.now() });
      return { status: 'ok', reason: 'reminder posted', runId: run.id };
    }));
  }
  return out;
}

/** watchdog — every few minutes: S2 alerts for stale or failed backups and RPO breaches; resolutions. */
export async function scheduledWatchdog(ctx: Context, input: ScheduledInput): Promise<JobOutcome> {
  return runJob(ctx, { job: 'watchdog', client: '', cron: input.cron, signal: input.signal }, async () => {
    const run = await startRun(ctx.pool, { kind: 'watchdog', actor: 'schedule', trigger: 'schedule', instance: ctx.instance, startedAt: ctx.clock.now() });
    try {
      const r = await runWatchdog(ctx);
      await finishRun(ctx.pool, run.id, {
        status: 'ok', at: ctx.clock.now(),
        details: { opened: r.opened.map((a) => ({ id: a.id, client: a.client, kind: a.kind })), resolved: r.resolved.map((a) => ({ id: a.id, client: a.client, kind: a.kind })) },
      });
      return { runId: run.id };
    } catch (err) {
      await finishRun(ctx.pool, run.id, { status: 'failed', error: String((err as Error)?.message ?? err), at: ctx.clock.now() });
      throw err;
    }
  });
}

/** digest — daily at slack.digest.cron: one message for all clients. */
export async function scheduledDigest(ctx: Context, input: ScheduledInput): Promise<JobOutcome> {
  return runJob(ctx, { job: 'digest', client: '', cron: input.cron, signal: input.signal }, async () => {
    const r = await postDigest(ctx, { trigger: 'schedule', actor: 'schedule' });
    return { runId: r.runId };
  });
}
