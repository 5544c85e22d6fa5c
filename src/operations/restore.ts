import { describeInputIssues } from './input-issues.js';
import { z } from 'zod';
import type { Context } from '../context.js';
import { parseDuration } from '../config/duration.js';
import { parseDbUrl, type DbTarget } from '../core/db-url.js';
import { errorMessage } from '../core/errors.js';
import { formatDateTime } from '../core/time.js';
import { verifySignature } from '../core/signature.js';
import { dockerFromConfig } from '../core/staging/docker.js';
import { checkHealth, startApp, stopApp } from '../core/restore/app-control.js';
import { downloadBackup, formatOf, loadBackupInto, type LocalBackup } from '../core/restore/load-backup.js';
import { restoreTables } from '../core/restore/partial.js';
import {
  compactTimestamp, countRows, countTables, createDatabase, createDatabaseLike, databaseExists, databaseProps, derivedName, dropDatabase,
  renameDatabases, terminateConnections, withAdmin, withDb, type DatabaseProps,
} from '../core/restore/pg-admin.js';
import { audit } from '../store/audit.js';
import { openAlert, resolveAlerts, type AlertKind } from '../store/alerts.js';
import { getBackup, type BackupRow } from '../store/backup-register.js';
import { withLock } from '../store/locks.js';
import { finishRun, runStep, setRunMessage, startRun, type Run, type RunTrigger } from '../store/runs.js';
import { insertRestoreTest, type RestoreTestRow } from '../store/restore-test-register.js';
import {
  claimApprovalForRunbook, finishApproval, getApproval, insertRestoreIncident, listOldDatabasesDue, markInterruptedApprovals, markOldDatabaseDropped,
  recordApprovalStep, setApprovalDatabases, setRunbookMessage, type ApprovalRow, type ApprovalStepEntry,
} from '../store/approvals.js';
import { clientChannel, type MessageRef } from '../slack/notifier.js';
import { renderRunbook, type RunbookStep } from '../slack/render/restore.js';
import { runBackup } from './backup.js';
import { mention } from './mentions.js';

/**
 * The production restore runbook (SOP-001 9.2), started by the requester after the written approval:
 * download + sha256 → notify users → stop app → pre-restore backup (verified, or stop) → terminate connections →
 * restore (swap | replace | partial) → verify row counts → switch (swap) → start app + health → notify users →
 * restore register (Prod). Each step is a line in ONE message updated live, audited, and stored as last_step.
 * Any failure after the app stopped rolls back (swap back / restore the pre-restore backup), restarts the app,
 * raises an alert and records the incident (SOP-001 13.5).
 */

export const runRestoreInput = z.strictObject({
  approvalId: z.string().regex(/^\d{1,18}$/, 'must be a request number'),
  client: z.string().max(63).optional(),
  message: z.strictObject({ channel: z.string().max(40), ts: z.string().max(40) }).optional(),
  userId: z.string().min(1).max(40),
  userName: z.string().max(200).optional(),
  trigger: z.enum(['cli', 'slack', 'schedule', 'system']).default('slack'),
});
export type RunRestoreInput = z.input<typeof runRestoreInput>;

export type RunRestoreResult =
  | { ok: true; approval: ApprovalRow; run: Run; register: RestoreTestRow }
  | { ok: false; message: string; approval?: ApprovalRow; run?: Run; failedStep?: string; rolledBack?: boolean };

export interface RunRestoreHooks {
  /** Called after each step completed (tests use it to stop the bot mid-runbook). */
  afterStep?: (step: RunbookStep) => Promise<void> | void;
}

class StepFailure extends Error {
  constructor(readonly step: string, override readonly cause: unknown) { super(`${step.replace(/_/g, ' ')} failed: ${errorMessage(cause)}`); }
}

const RESTORE_ALERT: AlertKind = 'restore';

/** Refusals before anything starts (not the requester, not approved, tampered …): audited, nothing changes. */
export async function runRestore(ctx: Context, raw: RunRestoreInput, hooks: RunRestoreHooks = {}): Promise<RunRestoreResult> {
  const r0 = raw as Partial<Record<string, unknown>>;
  const refuse = async (message: string, a?: ApprovalRow): Promise<RunRestoreResult> => {
    await audit(ctx.pool, { actor: String(r0.userId ?? 'unknown').slice(0, 40), action: 'restore.start_refused', client: a?.client ?? null, target: `approval:${String(r0.approvalId ?? '?').slice(0, 20)}`, reason: message });
    return { ok: false, message, ...(a ? { approval: a } : {}) };
  };
  const parsed = runRestoreInput.safeParse(raw);
  if (!parsed.success) return refuse(describeInputIssues(parsed.error));
  const input = parsed.data;
  const a = await getApproval(ctx.pool, input.approvalId);
  if (!a) return refuse(`there is no restore request #${input.approvalId}. Nothing was done.`);
  if (input.client !== undefined && input.client !== a.client) return refuse(`this interaction names client "${input.client}" but request #${a.id} is for ${a.client}: refused. Nothing was done.`, a);
  if (input.message && a.slack_ts && (input.message.ts !== a.slack_ts || input.message.channel !== a.slack_channel)) return refuse(`this button does not belong to the message of request #${a.id}: refused. Nothing was done.`, a);
  if (input.userId !== a.requested_by) return refuse(`only the requester (${a.requested_by_name ?? a.requested_by}) can start restore #${a.id}. Nothing was done.`, a);
  if (a.status !== 'approved') return refuse(`restore #${a.id} is ${a.status}${a.status === 'pending' ? ' (waiting for the written approval)' : ''}; only an approved request can be started, once. Nothing was done.`, a);
  // The signed statement describes the data lost at the time of the decision: an approval is used within
  // approvals.ttl of being given, or asked for again.
  const ttlMs = parseDuration(ctx.config.approvals.ttl) ?? 86_400_000;
  if (a.decided_at && ctx.clock.now().getTime() > a.decided_at.getTime() + ttlMs) {
    return refuse(`the approval of restore #${a.id} was given at ${a.decided_at.toISOString()} and expired after approvals.ttl (${ctx.config.approvals.ttl}); request the restore again. Nothing was done.`, a);
  }
  const integrity = verifySignature(a);
  if (!integrity.ok) return refuse(`restore #${a.id} cannot start: ${integrity.problems.join('; ')}. Nothing was done.`, a);
  const backup = a.backup_id ? await getBackup(ctx.pool, a.backup_id) : undefined;
  if (!backup || backup.deleted_at || backup.client !== a.client) return refuse(`the approved backup ${a.backup_file ?? a.backup_key} is no longer available. Nothing was done.`, a);
  if (backup.sha256 !== a.backup_sha256) return refuse(`the approved backup's sha256 changed in the register since the approval. Nothing was done.`, a);
  const res = await withLock(ctx.pool, 'restore', a.client, () => execute(ctx, a, backup, input, hooks), { wait: false });
  if (!res.acquired) return refuse(`another production restore of ${a.client} is running; wait for it to finish. Nothing was done.`, a);
  return res.value;
}

async function execute(ctx: Context, approval: ApprovalRow, backup: BackupRow, input: z.infer<typeof runRestoreInput>, hooks: RunRestoreHooks): Promise<RunRestoreResult> {
  const cfg = ctx.client(approval.client);
  const client = approval.client;
  const tz = ctx.config.timezone;
  const target: DbTarget = parseDbUrl(cfg.database.url, 'postgres');
  const prodDb = target.database;
  const strategy = approval.scope === 'partial' ? 'partial' : (approval.strategy === 'replace' ? 'replace' : 'swap');
  const docker = dockerFromConfig(ctx.config);
  const t0 = Date.now();
  const startedAt = ctx.clock.now();
  const actorName = input.userName ?? approval.requested_by_name ?? input.userId;

  const run = await startRun(ctx.pool, { kind: 'restore', client, actor: input.userId, trigger: input.trigger, details: { approvalId: approval.id, strategy, backup: backup.file }, instance: ctx.instance, startedAt });
  const claimed = await claimApprovalForRunbook(ctx.pool, { id: approval.id, startedBy: input.userId, startedByName: actorName, at: startedAt, runId: run.id, instance: ctx.instance.id });
  if (!claimed) {
    await finishRun(ctx.pool, run.id, { status: 'skipped', error: 'the request was started a moment ago', at: ctx.clock.now() });
    const now = await getApproval(ctx.pool, approval.id);
    return { ok: false, message: `restore #${approval.id} was started a moment ago (it is ${now?.status ?? '?'}); it runs once. Nothing was done.`, approval: now ?? approval };
  }
  let row = claimed;
  await audit(ctx.pool, { actor: input.userId, action: 'restore.started', client, target: `approval:${row.id}`, details: { run: run.id, strategy, backup: backup.file, approvedBy: row.decided_by_name, signatureHash: row.signature_hash } });

  const steps: ApprovalStepEntry[] = [];
  const channel = clientChannel(ctx.config, client);
  let ref: MessageRef | undefined;
  let status = 'running';
  let shownError: string | null = null;
  const show = async () => {
    const msg = renderRunbook(row, steps, { timezone: tz, status, error: shownError });
    try {
      if (!ref) {
        ref = await ctx.notifier.post(channel, msg);
        if (ref) { await setRunbookMessage(ctx.pool, row.id, ref.channel, ref.ts); await setRunMessage(ctx.pool, run.id, ref.channel, ref.ts); }
      } else {
        await ctx.notifier.update(ref, msg);
      }
    } catch (err) {
      ctx.logger.warn({ err: errorMessage(err), approval: row.id }, 'restore: could not post/update the runbook message');
    }
  };
  const record = async (step: string, st: ApprovalStepEntry['status'], note?: string) => {
    const e: ApprovalStepEntry = { at: ctx.clock.now().toISOString(), step, status: st, ...(note ? { note: note.slice(0, 500) } : {}) };
    steps.push(e);
    await recordApprovalStep(ctx.pool, row.id, e);
    await runStep(ctx.pool, run.id, `${step}:${st}`, note, ctx.clock.now());
    await audit(ctx.pool, { actor: input.userId, action: `restore.step`, client, target: `approval:${row.id}`, details: { run: run.id, step, status: st, ...(note ? { note: note.slice(0, 500) } : {}) } });
    await show();
  };
  const step = async (id: RunbookStep, fn: () => Promise<string | undefined>): Promise<void> => {
    await record(id, 'started');
    let note: string | undefined;
    try {
      note = await fn();
    } catch (err) {
      await record(id, 'failed', errorMessage(err));
      throw new StepFailure(id, err);
    }
    await record(id, 'done', note);
    if (hooks.afterStep) await hooks.afterStep(id);
  };
  const skip = (id: RunbookStep, note: string) => record(id, 'skipped', note);

  // What has changed, for the way back.
  let appStopped = false;
  let appStarted = false;
  let local: LocalBackup | undefined;
  let preBackup: BackupRow | undefined;
  let props: DatabaseProps | undefined;
  let newDb: string | undefined;
  let swapped = false;
  let oldDb: string | undefined;
  let prodDropped = false;
  let partialApplied = false;
  let counts: Record<string, number> = {};
  const manifest = (backup.manifest ?? {}) as { rowCounts?: Record<string, number>; tables?: number | null };
  const backupWhen = formatDateTime(backup.taken_at, tz);

  try {
    await show();
    await step('download', async () => {
      const sources = backup.locations.filter((l) => l.ok).map((l) => ({ storage: ctx.storage(l.destination), key: l.key ?? backup.key ?? '' }));
      local = await downloadBackup(sources, approval.backup_sha256, backup.file ?? 'backup');
      return `${backup.file}: sha256 ${local.sha256.slice(0, 12)}… matches the approved backup`;
    });
    await step('notify_users', async () => {
      if (!cfg.notifyChannel) return 'no notifyChannel configured for the users';
      const rto = parseDuration(cfg.rto) ?? 4 * 3_600_000;
      const expectedMin = (approval.impact as { expectedDowntimeMinutes?: number | null }).expectedDowntimeMinutes;
      const until = new Date(ctx.clock.now().getTime() + (expectedMin ? expectedMin * 60_000 * 2 : rto));
      await ctx.notifier.post(cfg.notifyChannel, {
        text: `:construction: *Sistema ${client} - Mantenimiento Programado*\nEl sistema ${client} estara no disponible desde ${formatDateTime(ctx.clock.now(), tz)} hasta ${formatDateTime(until, tz)} (estimado).\nMotivo: Restauracion de base de datos.\nDisculpe las molestias.`,
      });
      return `maintenance notice posted in <#${cfg.notifyChannel}>`;
    });
    await step('stop_app', async () => {
      appStopped = true;
      return stopApp(docker, cfg.app);
    });
    await step('pre_restore_backup', async () => {
      const out = await runBackup(ctx, { client, type: 'pre-restore', actor: input.userId, actorName, trigger: input.trigger, wait: true, notify: false });
      if (!out.ok || !out.verified || !out.backup) throw new Error(`the pre-restore backup did not complete verified${out.error ? `: ${out.error}` : ''}${out.hint ? ` (check: ${out.hint})` : ''}; the restore does not start without it`);
      preBackup = out.backup;
      await setApprovalDatabases(ctx.pool, row.id, { preRestoreBackupId: preBackup.id });
      return `${preBackup.file} stored and verified`;
    });
    await step('terminate_connections', async () => {
      const n = await withAdmin(target, (c) => terminateConnections(c, prodDb));
      return `${n} session(s) ended on ${prodDb}`;
    });
    await step('restore', async () => {
      const format = formatOf(backup.format ?? backup.file);
      if (strategy === 'partial') {
        const done = await restoreTables(local!.path, target, approval.tables);
        partialApplied = true;
        return `tables ${done.map((t) => `${t.schema}.${t.name}`).join(', ')} replaced in one transaction`;
      }
      if (strategy === 'replace') {
        props = await withAdmin(target, (c) => databaseProps(c, prodDb));
        await withAdmin(target, async (c) => { await dropDatabase(c, prodDb); prodDropped = true; await createDatabase(c, prodDb, props!); });
        await loadBackupInto(local!.path, format, target);
        return `${prodDb} dropped, created and restored from ${backup.file}`;
      }
      newDb = derivedName(prodDb, `_restore_${run.id}`);
      await setApprovalDatabases(ctx.pool, row.id, { restoreDatabase: newDb });
      await withAdmin(target, async (c) => { if (await databaseExists(c, newDb!)) await dropDatabase(c, newDb!); await createDatabaseLike(c, newDb!, prodDb); });
      await loadBackupInto(local!.path, format, { ...target, database: newDb });
      return `restored into ${newDb} (production untouched so far)`;
    });
    await step('verify', async () => {
      const db = strategy === 'swap' ? newDb! : prodDb;
      const expected = manifest.rowCounts ?? {};
      const tables = strategy === 'partial' ? Object.keys(expected).filter((t) => approval.tables.includes(t)) : Object.keys(expected);
      const { got, tableCount } = await withDb(target, db, async (c) => ({ got: await countRows(c, tables), tableCount: strategy === 'partial' ? null : await countTables(c) }));
      counts = got;
      const bad = tables.filter((t) => got[t] !== expected[t]);
      if (bad.length) throw new Error(`row counts differ from the backup's manifest: ${bad.map((t) => `${t} ${got[t]} (expected ${expected[t]})`).join(', ')}`);
      if (tableCount !== null && typeof manifest.tables === 'number' && tableCount < manifest.tables) throw new Error(`${tableCount} tables restored, the backup has ${manifest.tables}`);
      return tables.length ? `${tables.length} table(s) match the backup's row counts${tableCount !== null ? `; ${tableCount} tables` : ''}` : `no row counts in the manifest (verify.tables empty)${tableCount !== null ? `; ${tableCount} tables` : ''}`;
    });
    if (strategy === 'swap') {
      await step('switch', async () => {
        oldDb = derivedName(prodDb, `_old_${compactTimestamp(ctx.clock.now())}`);
        await withAdmin(target, (c) => renameDatabases(c, [{ from: prodDb, to: oldDb! }, { from: newDb!, to: prodDb }]));
        swapped = true;
        const keep = parseDuration(ctx.config.approvals.keepOldFor) ?? 7 * 86_400_000;
        await setApprovalDatabases(ctx.pool, row.id, { oldDatabase: oldDb, oldDatabaseDropAfter: new Date(ctx.clock.now().getTime() + keep) });
        return `${prodDb} → ${oldDb} (kept for ${ctx.config.approvals.keepOldFor}), ${newDb} → ${prodDb}`;
      });
    } else {
      await skip('switch', strategy === 'replace' ? 'strategy replace: restored in place' : 'partial restore: in place');
    }
    await step('start_app', async () => {
      const started = await startApp(docker, cfg.app);
      appStarted = true;
      appStopped = false;
      return `${started}; ${await checkHealth(cfg.app)}`;
    });
    await step('notify_back', async () => {
      if (!cfg.notifyChannel) return 'no notifyChannel configured for the users';
      await ctx.notifier.post(cfg.notifyChannel, {
        text: `:white_check_mark: *Sistema ${client} - Servicio Restaurado*\nEl sistema ${client} ha sido restaurado y esta operativo.\nIMPORTANTE: Los datos han sido restaurados al estado del ${backupWhen}.\nCualquier dato ingresado despues de esa fecha debera re-ingresarse.`,
      });
      return `service-restored notice posted in <#${cfg.notifyChannel}> (data as of ${backupWhen})`;
    });
    let register: RestoreTestRow | undefined;
    await step('register', async () => {
      const fresh = (await getApproval(ctx.pool, row.id)) ?? row;
      register = await insertRestoreTest(ctx.pool, {
        runId: run.id, client, testedAt: ctx.clock.now(), backupUsed: backup.file, environment: 'Prod', restoreMinutes: Math.round((Date.now() - t0) / 600) / 100,
        recordsVerified: counts, checks: [{ name: 'row counts match the backup manifest', ok: true }, { name: 'application health', ok: true }],
        executedBy: actorName, result: 'OK', approvalId: row.id,
        observations: [`Production restore (${strategy}) #${row.id} approved by ${row.decided_by_name} (${row.decided_role}) at ${row.decided_at?.toISOString()}`,
          preBackup ? `pre-restore backup ${preBackup.file}` : '', fresh.old_database ? `previous database kept as ${fresh.old_database} until ${fresh.old_database_drop_after?.toISOString()}` : ''].filter(Boolean).join('; '),
      }, tz);
      return `restore register row ${register.id} (Prod) with approval #${row.id}`;
    });
    row = (await finishApproval(ctx.pool, row.id, { status: 'completed', at: ctx.clock.now(), registerId: register!.id })) ?? row;
    const finished = (await finishRun(ctx.pool, run.id, { status: 'ok', at: ctx.clock.now(), details: { registerId: register!.id, oldDatabase: oldDb ?? null, preRestoreBackup: preBackup?.file ?? null } })) ?? run;
    // A completed restore ends an open incident of an earlier failed one.
    await resolveAlerts(ctx.pool, client, ctx.clock.now(), `resolved by the completed restore request #${row.id}`, [RESTORE_ALERT]).catch(() => undefined);
    await audit(ctx.pool, { actor: input.userId, action: 'restore.completed', client, target: `approval:${row.id}`, details: { run: run.id, register: register!.id, oldDatabase: oldDb ?? null, durationMs: Date.now() - t0 } });
    status = 'completed';
    await show();
    await local?.cleanup();
    return { ok: true, approval: row, run: finished, register: register! };
  } catch (err) {
    const failure = err instanceof StepFailure ? err : new StepFailure('runbook', err);
    shownError = failure.message;
    status = 'failing — recovering';
    await show();
    const changed = swapped || prodDropped || partialApplied;
    const recovery: string[] = [];
    let recovered = true;
    const recover = async (name: string, fn: () => Promise<string>) => {
      await record(name, 'started');
      try {
        const note = await fn();
        recovery.push(note);
        await record(name, 'done', note);
      } catch (e) {
        recovered = false;
        recovery.push(`${name.replace(/_/g, ' ')} FAILED: ${errorMessage(e)}`);
        await record(name, 'failed', errorMessage(e));
      }
    };
    if (strategy === 'swap' && swapped) {
      if (appStarted) await recover('stop_app_again', () => stopApp(docker, cfg.app));
      const failedDb = derivedName(prodDb, `_failed_${run.id}`);
      await recover('swap_back', async () => {
        await withAdmin(target, async (c) => {
          await renameDatabases(c, [{ from: prodDb, to: failedDb }, { from: oldDb!, to: prodDb }]);
          await dropDatabase(c, failedDb);
        });
        await setApprovalDatabases(ctx.pool, row.id, { oldDatabase: null, oldDatabaseDropAfter: null });
        return `${oldDb} renamed back to ${prodDb}; the restored copy was dropped`;
      });
      appStopped = true;
    } else if (strategy === 'swap' && newDb) {
      await recover('drop_restored_copy', async () => {
        await withAdmin(target, (c) => dropDatabase(c, newDb!));
        return `${newDb} dropped; production ${prodDb} was never touched`;
      });
    } else if ((strategy === 'replace' && prodDropped) || (strategy === 'partial' && partialApplied)) {
      if (appStarted) await recover('stop_app_again', () => stopApp(docker, cfg.app));
      await recover('restore_pre_restore_backup', async () => {
        if (!preBackup) throw new Error('no pre-restore backup to restore from');
        const pb = preBackup;
        const pre = await downloadBackup(pb.locations.filter((l) => l.ok).map((l) => ({ storage: ctx.storage(l.destination), key: l.key ?? pb.key ?? '' })), pb.sha256, pb.file ?? 'pre-restore');
        try {
          if (strategy === 'partial') {
            await restoreTables(pre.path, target, approval.tables);
            return `tables ${approval.tables.join(', ')} restored from the pre-restore backup ${pb.file}`;
          }
          await withAdmin(target, async (c) => {
            await dropDatabase(c, prodDb);
            await createDatabase(c, prodDb, props!);
          });
          await loadBackupInto(pre.path, formatOf(pb.format ?? pb.file), target);
          return `${prodDb} restored from the pre-restore backup ${pb.file}`;
        } finally {
          await pre.cleanup();
        }
      });
      appStopped = true;
    }
    if (appStopped) await recover('restart_app', async () => `${await startApp(docker, cfg.app)}; ${await checkHealth(cfg.app).catch((e: unknown) => `health: ${errorMessage(e)}`)}`);
    await local?.cleanup();

    const nothingChanged = !changed;
    const finalStatus = nothingChanged && recovered ? 'failed' : recovered ? 'rolled_back' : 'failed';
    const summary = nothingChanged
      ? `${failure.message}. Production was not changed${appStopped || recovery.length ? `; ${recovery.join('; ')}` : ''}.`
      : recovered
        ? `${failure.message}. Rolled back: ${recovery.join('; ')}.`
        : `${failure.message}. ROLLBACK INCOMPLETE: ${recovery.join('; ')}. Production needs attention now.`;
    row = (await finishApproval(ctx.pool, row.id, { status: finalStatus, at: ctx.clock.now(), error: summary })) ?? row;
    await finishRun(ctx.pool, run.id, { status: 'failed', error: summary, at: ctx.clock.now(), details: { failedStep: failure.step, rolledBack: changed && recovered } });
    await audit(ctx.pool, { actor: input.userId, action: changed ? (recovered ? 'restore.rolled_back' : 'restore.rollback_failed') : 'restore.failed', client, target: `approval:${row.id}`, reason: summary, details: { run: run.id, failedStep: failure.step } });
    // SOP 13.5 incident history, and an alert, for any failure once the application had been touched.
    const touched = steps.some((s) => s.step === 'stop_app');
    if (touched) {
      await insertRestoreIncident(ctx.pool, {
        approvalId: row.id, client, at: ctx.clock.now(), description: `Production restore #${row.id} failed at step "${failure.step}": ${errorMessage(failure.cause).slice(0, 500)}`,
        backupUsed: backup.file, recoveryMinutes: Math.round((Date.now() - t0) / 600) / 100,
        dataLost: changed && !recovered ? 'unknown: rollback incomplete' : 'none (production unchanged or rolled back)',
        correctiveActions: recovery.join('; ') || 'none needed',
      });
      const people = [...cfg.roles.operators, ...(approval.scope === 'full' ? cfg.roles.systemOwners : cfg.roles.itManagers)];
      const alertText = `:rotating_light: *Production restore of ${client} failed* at step "${failure.step.replace(/_/g, ' ')}" (request #${row.id}). ${summary} ${people.map(mention).join(' ')}`;
      const alert = await openAlert(ctx.pool, { client, kind: RESTORE_ALERT, severity: recovered ? 'S2' : 'S1', message: alertText.slice(0, 2000), at: ctx.clock.now(), details: { approvalId: row.id, run: run.id } }).catch(() => undefined);
      await ctx.notifier.post(channel, { text: alertText }).then(async (r) => { if (r && alert) await ctx.pool.query('UPDATE alerts SET slack_channel = $2, slack_ts = $3 WHERE id = $1', [alert.id, r.channel, r.ts]).catch(() => {}); }).catch(() => undefined);
    }
    status = finalStatus === 'rolled_back' ? 'failed — rolled back' : nothingChanged && recovered ? 'failed — production unchanged' : 'FAILED — rollback incomplete';
    await show();
    return { ok: false, message: summary, approval: row, run, failedStep: failure.step, rolledBack: changed && recovered };
  }
}

/**
 * At start (src/server.ts): production restores whose runbook died with the bot are marked interrupted with
 * their last completed step; nothing is dropped (the old database of a swap stays where it is).
 */
export async function markRestoresInterrupted(ctx: Context): Promise<ApprovalRow[]> {
  const rows = await markInterruptedApprovals(ctx.pool, ctx.clock.now());
  for (const a of rows) {
    await audit(ctx.pool, { actor: 'backup-bot', action: 'restore.interrupted', client: a.client, target: `approval:${a.id}`, reason: a.error, details: { lastStep: a.last_step, oldDatabase: a.old_database, restoreDatabase: a.restore_database } });
    const text = `:warning: The production restore of *${a.client}* (request #${a.id}) was *interrupted* when the bot stopped; last completed step: *${a.last_step ?? 'none'}*.` +
      (a.old_database ? ` The previous database is kept as \`${a.old_database}\`.` : '') + (a.restore_database ? ` The restored copy is \`${a.restore_database}\`.` : '') +
      ' Nothing was dropped. Check the application and production before doing anything else.';
    if (a.runbook_message_channel && a.runbook_message_ts) {
      await ctx.notifier.update({ channel: a.runbook_message_channel, ts: a.runbook_message_ts }, renderRunbook(a, a.steps, { timezone: ctx.config.timezone, status: `interrupted after "${a.last_step ?? 'none'}"`, error: a.error })).catch(() => undefined);
    }
    await ctx.notifier.post(clientChannel(ctx.config, a.client), { text }).catch(() => undefined);
  }
  return rows;
}

/**
 * Drops the databases kept aside by completed swap restores once `approvals.keepOldFor` has passed
 * (called by the retention job). Returns what was dropped.
 */
export async function dropExpiredOldDatabases(ctx: Context, client?: string): Promise<Array<{ approvalId: string; client: string; database: string; error?: string }>> {
  const out: Array<{ approvalId: string; client: string; database: string; error?: string }> = [];
  for (const a of await listOldDatabasesDue(ctx.pool, ctx.clock.now())) {
    if (client !== undefined && a.client !== client) continue;
    const cfg = ctx.config.clients[a.client];
    if (!cfg || cfg.database.engine !== 'postgres' || !a.old_database) continue;
    try {
      const target = parseDbUrl(cfg.database.url, 'postgres');
      if (a.old_database === target.database) throw new Error('refusing to drop the production database');
      await withAdmin(target, (c) => dropDatabase(c, a.old_database!));
      await markOldDatabaseDropped(ctx.pool, a.id, ctx.clock.now());
      await audit(ctx.pool, { actor: 'backup-bot', action: 'restore.old_database_dropped', client: a.client, target: `approval:${a.id}`, details: { database: a.old_database, keptUntil: a.old_database_drop_after } });
      out.push({ approvalId: a.id, client: a.client, database: a.old_database });
    } catch (err) {
      out.push({ approvalId: a.id, client: a.client, database: a.old_database, error: errorMessage(err) });
    }
  }
  return out;
}
