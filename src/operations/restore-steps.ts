import type Docker from 'dockerode';
import type { Context } from '../context.js';
import type { ClientConfig } from '../config/schema.js';
import { parseDuration } from '../config/duration.js';
import type { DbTarget } from '../core/db-url.js';
import { checkHealth, startApp, stopApp } from '../core/restore/app-control.js';
import { downloadBackup, formatOf, loadBackupInto, type LocalBackup } from '../core/restore/load-backup.js';
import { decryptionFor } from '../core/crypto/keys.js';
import { restoreTables } from '../core/restore/partial.js';
import {
  compactTimestamp, countRows, countTables, createDatabase, createDatabaseLike, databaseExists, databaseProps, derivedName, dropDatabase,
  renameDatabases, terminateConnections, withAdmin, withDb, type DatabaseProps,
} from '../core/restore/pg-admin.js';
import { errorMessage } from '../core/errors.js';
import type { ApprovalRow } from '../store/approvals.js';
import type { BackupRow } from '../store/backup-register.js';
import type { RestoreTestRow } from '../store/restore-test-register.js';
import type { RunTrigger } from '../store/runs.js';
import type { BackupFacts } from './manifest.js';
import { runBackup } from './backup.js';
import type { Step, Undo } from './runbook.js';
import { appChecksAfterStart, registerChecks, sqlChecksOnRestored } from './production-checks.js';

export type RestoreStrategyName = 'swap' | 'replace' | 'partial';

/** What the production-restore runbook's steps share; the flags say what has changed, for the way back. */
export interface RestoreState {
  ctx: Context;
  cfg: ClientConfig;
  client: string;
  approval: ApprovalRow;
  backup: BackupRow;
  facts: BackupFacts;
  strategy: RestoreStrategyName;
  target: DbTarget;
  prodDb: string;
  docker: Docker;
  userId: string;
  actorName: string;
  trigger: RunTrigger;
  t0: number;
  runId?: string;
  local?: LocalBackup;
  appStopped: boolean;
  appStarted: boolean;
  preBackup?: BackupRow;
  props?: DatabaseProps;
  newDb?: string;
  swapped: boolean;
  oldDb?: string;
  prodDropped: boolean;
  partialApplied: boolean;
  counts: Record<string, number>;
  register?: RestoreTestRow;
}

const sourcesOf = (ctx: Context, b: BackupRow) => b.locations.filter((l) => l.ok).map((l) => ({ storage: ctx.storage(l.destination), key: l.key ?? b.key ?? '' }));

/** An encrypted backup's identities (decryptionFor: a UserError when none is configured), for downloadBackup. */
async function decryptOf(s: RestoreState, b: BackupRow) {
  const decryption = await decryptionFor(s.client, s.cfg.encryption, b.manifest, b.file ?? b.key ?? 'backup');
  return decryption && { decryption, client: s.client };
}

async function restartApp(s: RestoreState): Promise<string> {
  const started = await startApp(s.docker, s.cfg.app);
  const health = await checkHealth(s.cfg.app).catch((e: unknown) => `health: ${errorMessage(e)}`);
  s.appStopped = false;
  return `${started}; ${health}`;
}

/** Reloads the pre-restore backup into production (replace and partial strategies' way back). */
async function restorePreRestoreBackup(s: RestoreState): Promise<string> {
  if (!s.preBackup) throw new Error('no pre-restore backup to restore from');
  const pb = s.preBackup;
  const pre = await downloadBackup(sourcesOf(s.ctx, pb), pb.sha256, pb.file ?? 'pre-restore', await decryptOf(s, pb));
  try {
    if (s.strategy === 'partial') {
      await restoreTables(pre.path, s.target, s.approval.tables);
      return `tables ${s.approval.tables.join(', ')} restored from the pre-restore backup ${pb.file}`;
    }
    await withAdmin(s.target, async (c) => {
      await dropDatabase(c, s.prodDb);
      await createDatabase(c, s.prodDb, s.props!);
    });
    await loadBackupInto(pre.path, formatOf(pb.format ?? pb.file), s.target);
    return `${s.prodDb} restored from the pre-restore backup ${pb.file}`;
  } finally {
    await pre.cleanup();
  }
}

const restoreStep: Step<RestoreState> = {
  name: 'restore',
  label: 'Restore',
  undo: (s) => (s.strategy === 'swap' ? dropRestoredCopy : reloadPreRestoreBackup),
  async run(s) {
    const ctx = s.ctx;
    const format = formatOf(s.backup.format ?? s.backup.file);
    if (s.strategy === 'partial') {
      const done = await restoreTables(s.local!.path, s.target, s.approval.tables);
      s.partialApplied = true;
      return `tables ${done.map((t) => `${t.schema}.${t.name}`).join(', ')} replaced in one transaction`;
    }
    if (s.strategy === 'replace') {
      s.props = await withAdmin(s.target, (c) => databaseProps(c, s.prodDb));
      await withAdmin(s.target, async (c) => { await dropDatabase(c, s.prodDb); s.prodDropped = true; await createDatabase(c, s.prodDb, s.props!); });
      await loadBackupInto(s.local!.path, format, s.target);
      return `${s.prodDb} dropped, created and restored from ${s.backup.file}`;
    }
    const newDb = derivedName(s.prodDb, `_restore_${s.runId}`);
    s.newDb = newDb;
    await ctx.store.approvals.setDatabases(s.approval.id, { restoreDatabase: newDb });
    await withAdmin(s.target, async (c) => { if (await databaseExists(c, newDb)) await dropDatabase(c, newDb); await createDatabaseLike(c, newDb, s.prodDb); });
    await loadBackupInto(s.local!.path, format, { ...s.target, database: newDb });
    return `restored into ${newDb} (production untouched so far)`;
  },
};

/** The way back from `restore`, which depends on the strategy. */
const dropRestoredCopy: Undo<RestoreState> = {
  name: 'drop_restored_copy',
  needed: (s) => s.newDb !== undefined && !s.swapped,
  async run(s) {
    await withAdmin(s.target, (c) => dropDatabase(c, s.newDb!));
    return `${s.newDb} dropped; production ${s.prodDb} was never touched`;
  },
};
const reloadPreRestoreBackup: Undo<RestoreState> = { name: 'restore_pre_restore_backup', needed: (s) => s.prodDropped || s.partialApplied, run: restorePreRestoreBackup };

/**
 * The production-restore runbook (SOP-001 9.2), in the order the SOP gives it. Every step that changes something
 * has its way back: a failure after the application was stopped restarts it; after the switch, the databases
 * are swapped back; a replace or partial restore reloads the verified pre-restore backup.
 */
export const RESTORE_STEPS: Array<Step<RestoreState>> = [
  {
    name: 'download',
    label: 'Download the approved backup and check its sha256',
    async run(s) {
      s.local = await downloadBackup(sourcesOf(s.ctx, s.backup), s.approval.backup_sha256, s.backup.file ?? 'backup', await decryptOf(s, s.backup));
      return `${s.backup.file}: sha256 ${s.local.sha256.slice(0, 12)}… matches the approved backup`;
    },
  },
  {
    name: 'notify_users',
    label: 'Notify users (maintenance notice)',
    skip: (s) => (s.cfg.notifyChannel ? undefined : 'no notifyChannel configured for the users'),
    async run(s) {
      const now = s.ctx.clock.now();
      const rto = parseDuration(s.cfg.rto) ?? 4 * 3_600_000;
      const expectedMin = (s.approval.impact as { expectedDowntimeMinutes?: number | null }).expectedDowntimeMinutes;
      const until = new Date(now.getTime() + (expectedMin ? expectedMin * 60_000 * 2 : rto));
      const ref = await s.ctx.reporter.report({ kind: 'users.maintenance', client: s.client, from: now, until });
      return ref ? `maintenance notice posted in <#${s.cfg.notifyChannel}>` : `the maintenance notice could NOT be posted in <#${s.cfg.notifyChannel}> (Slack did not accept it): tell the users another way`;
    },
  },
  {
    name: 'stop_app',
    label: 'Stop the application',
    skip: (s) => (s.cfg.app ? undefined : `no application configured (clients.${s.client}.app)`),
    async run(s) {
      s.appStopped = true;
      return stopApp(s.docker, s.cfg.app);
    },
    undo: { name: 'restart_app', needed: (s) => s.appStopped, run: restartApp },
  },
  {
    name: 'pre_restore_backup',
    label: 'Pre-restore backup (verified)',
    async run(s) {
      const out = await runBackup(s.ctx, { client: s.client, type: 'pre-restore', actor: s.userId, actorName: s.actorName, trigger: s.trigger, wait: true, notify: false });
      if (!out.ok || !out.verified || !out.backup) throw new Error(`the pre-restore backup did not complete verified${out.error ? `: ${out.error}` : ''}${out.hint ? ` (check: ${out.hint})` : ''}; the restore does not start without it`);
      s.preBackup = out.backup;
      await s.ctx.store.approvals.setDatabases(s.approval.id, { preRestoreBackupId: out.backup.id });
      return `${out.backup.file} stored and verified`;
    },
  },
  {
    name: 'terminate_connections',
    label: 'Terminate connections',
    async run(s) {
      const n = await withAdmin(s.target, (c) => terminateConnections(c, s.prodDb));
      return `${n} session(s) ended on ${s.prodDb}`;
    },
  },
  restoreStep,
  {
    name: 'verify',
    label: 'Verify row counts against the backup',
    async run(s) {
      const db = s.strategy === 'swap' ? s.newDb! : s.prodDb;
      const expected = s.facts.rowCounts;
      const tables = s.strategy === 'partial' ? Object.keys(expected).filter((t) => s.approval.tables.includes(t)) : Object.keys(expected);
      const { got, tableCount } = await withDb(s.target, db, async (c) => ({ got: await countRows(c, tables), tableCount: s.strategy === 'partial' ? null : await countTables(c) }));
      s.counts = got;
      const bad = tables.filter((t) => got[t] !== expected[t]);
      if (bad.length) throw new Error(`row counts differ from the backup's manifest: ${bad.map((t) => `${t} ${got[t]} (expected ${expected[t]})`).join(', ')}`);
      if (tableCount !== null && s.facts.tables !== undefined && tableCount < s.facts.tables) throw new Error(`${tableCount} tables restored, the backup has ${s.facts.tables}`);
      const tablesNote = tableCount !== null ? `; ${tableCount} tables` : '';
      const checksNote = await sqlChecksOnRestored(s, db);
      return (tables.length ? `${tables.length} table(s) match the backup's row counts${tablesNote}` : `no row counts in the manifest (verify.tables empty)${tablesNote}`) + checksNote;
    },
  },
  {
    name: 'switch',
    label: 'Put the restored database in place (old one kept aside)',
    skip: (s) => (s.strategy === 'replace' ? 'strategy replace: restored in place' : s.strategy === 'partial' ? 'partial restore: in place' : undefined),
    async run(s) {
      const ctx = s.ctx;
      s.oldDb = derivedName(s.prodDb, `_old_${compactTimestamp(ctx.clock.now())}`);
      await withAdmin(s.target, (c) => renameDatabases(c, [{ from: s.prodDb, to: s.oldDb! }, { from: s.newDb!, to: s.prodDb }]));
      s.swapped = true;
      const keep = parseDuration(ctx.config.approvals.keepOldFor) ?? 7 * 86_400_000;
      await ctx.store.approvals.setDatabases(s.approval.id, { oldDatabase: s.oldDb, oldDatabaseDropAfter: new Date(ctx.clock.now().getTime() + keep) });
      return `${s.prodDb} → ${s.oldDb} (kept for ${ctx.config.approvals.keepOldFor}), ${s.newDb} → ${s.prodDb}`;
    },
    undo: {
      name: 'swap_back',
      needed: (s) => s.swapped,
      async run(s) {
        const failedDb = derivedName(s.prodDb, `_failed_${s.runId}`);
        await withAdmin(s.target, async (c) => {
          await renameDatabases(c, [{ from: s.prodDb, to: failedDb }, { from: s.oldDb!, to: s.prodDb }]);
          await dropDatabase(c, failedDb);
        });
        await s.ctx.store.approvals.setDatabases(s.approval.id, { oldDatabase: null, oldDatabaseDropAfter: null });
        return `${s.oldDb} renamed back to ${s.prodDb}; the restored copy was dropped`;
      },
    },
  },
  {
    name: 'start_app',
    label: 'Start the application and check its health',
    skip: (s) => (s.cfg.app ? undefined : `no application configured (clients.${s.client}.app)`),
    async run(s) {
      const started = await startApp(s.docker, s.cfg.app);
      s.appStarted = true;
      s.appStopped = false;
      const health = await checkHealth(s.cfg.app);
      return `${started}; ${health}${await appChecksAfterStart(s)}`;
    },
    undo: {
      name: 'stop_app_again',
      needed: (s) => s.appStarted,
      async run(s) {
        const note = await stopApp(s.docker, s.cfg.app);
        s.appStarted = false;
        s.appStopped = true;
        return note;
      },
    },
  },
  {
    name: 'notify_back',
    label: 'Notify users service is back',
    skip: (s) => (s.cfg.notifyChannel ? undefined : 'no notifyChannel configured for the users'),
    async run(s) {
      const ref = await s.ctx.reporter.report({ kind: 'users.restored', client: s.client, dataAsOf: s.backup.taken_at });
      return ref ? `service-restored notice posted in <#${s.cfg.notifyChannel}> (data as of the backup)` : `the service-restored notice could NOT be posted in <#${s.cfg.notifyChannel}> (Slack did not accept it): tell the users another way`;
    },
  },
  {
    name: 'register',
    label: 'Write the restore register (Prod)',
    async run(s) {
      const ctx = s.ctx;
      const a = (await ctx.store.approvals.get(s.approval.id)) ?? s.approval;
      s.register = await ctx.store.restoreTests.insert({
        runId: s.runId, client: s.client, testedAt: ctx.clock.now(), backupUsed: s.backup.file, environment: 'Prod', restoreMinutes: Math.round((Date.now() - s.t0) / 600) / 100,
        recordsVerified: s.counts, checks: registerChecks(s),
        executedBy: s.actorName, result: 'OK', approvalId: a.id,
        observations: [`Production restore (${s.strategy}) #${a.id} approved by ${a.decided_by_name} (${a.decided_role}) at ${a.decided_at?.toISOString()}`,
          s.preBackup ? `pre-restore backup ${s.preBackup.file}` : '', a.old_database ? `previous database kept as ${a.old_database} until ${a.old_database_drop_after?.toISOString()}` : ''].filter(Boolean).join('; '),
      }, ctx.config.timezone);
      return `restore register row ${s.register.id} (Prod) with approval #${a.id}`;
    },
  },
];
