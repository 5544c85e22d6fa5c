import { parseDuration } from '../config/duration.js';
import { formatOf, loadBackupInto } from '../core/restore/load-backup.js';
import { restoreTables } from '../core/restore/partial.js';
import {
  compactTimestamp, countRows, countTables, createDatabase, createDatabaseLike, databaseExists, databaseProps, derivedName, dropDatabase,
  renameDatabases, terminateConnections, withAdmin, withDb,
} from '../core/restore/pg-admin.js';
import { applyDatabaseSettings, captureDatabaseSettings, compareDatabaseSettings } from '../core/restore/pg-database-props.js';
import type { Step, Undo } from './runbook.js';
import { sqlChecksOnRestored } from './restore-check-record.js';
import { downloadPreRestoreBackup, type EngineSteps, type RestoreState } from './restore-state.js';

/**
 * The PostgreSQL steps of the production-restore runbook (restore-steps.ts picks them by the client's engine):
 * swap restores into `<db>_restore_<run>` and renames the databases; replace drops and loads production;
 * partial replaces the chosen tables of a custom-format backup in one transaction.
 */

/** Reloads the pre-restore backup into production (replace and partial strategies' way back). */
async function restorePreRestoreBackup(s: RestoreState): Promise<string> {
  const pb = s.preBackup!;
  const pre = await downloadPreRestoreBackup(s);
  try {
    if (s.strategy === 'partial') {
      await restoreTables(pre.path, s.target, s.approval.tables);
      return `tables ${s.approval.tables.join(', ')} restored from the pre-restore backup ${pb.file}`;
    }
    await withAdmin(s.target, async (c) => {
      await dropDatabase(c, s.prodDb);
      await createDatabase(c, s.prodDb, s.pgProps!);
    });
    await loadBackupInto(pre.path, formatOf(pb.format ?? pb.file), s.target);
    return `${s.prodDb} restored from the pre-restore backup ${pb.file}${await putSettingsBack(s, s.prodDb)}`;
  } finally {
    await pre.cleanup();
  }
}

/**
 * Gives `db` production's own settings (captured with the pre-restore backup) once the data is loaded:
 * CREATE DATABASE and the dump do not carry them (pg-database-props.ts). What cannot be applied is left for
 * the verify step, which compares and fails.
 */
async function putSettingsBack(s: RestoreState, db: string): Promise<string> {
  if (!s.pgSettings) return '';
  const r = await applyDatabaseSettings(s.target, db, s.pgSettings);
  const problems = r.problems.length ? `; could not apply: ${r.problems.join('; ')}` : '';
  return `; production's database settings applied (${r.changes.length} change(s))${problems}`;
}

/** The verify step's comparison of `db`'s settings with production's as captured; a difference fails the step. */
async function checkSettings(s: RestoreState, db: string): Promise<string> {
  if (!s.pgSettings) return '';
  const cmp = compareDatabaseSettings(s.pgSettings, await captureDatabaseSettings(s.target, db));
  if (!cmp.same) throw new Error(`the database does not carry production's settings: ${cmp.differences.join('; ')}`);
  s.checks.push({ name: 'database settings as in production', ok: true });
  return `; grants, settings, comment, owner, connection limit and default privileges as in production${cmp.notes.length ? ` (${cmp.notes.join('; ')})` : ''}`;
}

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
      s.pgProps = await withAdmin(s.target, (c) => databaseProps(c, s.prodDb));
      await withAdmin(s.target, async (c) => { await dropDatabase(c, s.prodDb); s.prodDropped = true; await createDatabase(c, s.prodDb, s.pgProps!); });
      await loadBackupInto(s.local!.path, format, s.target);
      return `${s.prodDb} dropped, created and restored from ${s.backup.file}${await putSettingsBack(s, s.prodDb)}`;
    }
    const newDb = derivedName(s.prodDb, `_restore_${s.runId}`);
    s.newDb = newDb;
    await ctx.store.approvals.setDatabases(s.approval.id, { restoreDatabase: newDb });
    await withAdmin(s.target, async (c) => { if (await databaseExists(c, newDb)) await dropDatabase(c, newDb); await createDatabaseLike(c, newDb, s.prodDb); });
    await loadBackupInto(s.local!.path, format, { ...s.target, database: newDb });
    return `restored into ${newDb} (production untouched so far)${await putSettingsBack(s, newDb)}`;
  },
};

export const PG_STEPS: EngineSteps = {
  async captureSettings(s) {
    s.pgSettings = await captureDatabaseSettings(s.target, s.prodDb);
    return "production's database settings captured";
  },
  terminate_connections: {
    name: 'terminate_connections',
    label: 'Terminate connections',
    async run(s) {
      const n = await withAdmin(s.target, (c) => terminateConnections(c, s.prodDb));
      return `${n} session(s) ended on ${s.prodDb}`;
    },
  },
  restore: restoreStep,
  verify: {
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
      s.checks.push({ name: 'row counts match the backup manifest', ok: true });
      const tablesNote = (tableCount !== null ? `; ${tableCount} tables` : '') + await checkSettings(s, db) + await sqlChecksOnRestored(s, db);
      return tables.length ? `${tables.length} table(s) match the backup's row counts${tablesNote}` : `no row counts in the manifest (verify.tables empty)${tablesNote}`;
    },
  },
  switch: {
    name: 'switch',
    label: 'Put the restored database in place (old one kept aside)',
    skip: (s) => (s.strategy === 'replace' ? 'strategy replace: restored in place' : s.strategy === 'partial' ? 'partial restore: in place' : undefined),
    async run(s) {
      const ctx = s.ctx;
      // The run id keeps two restores within one second apart (the second's rename failed: the name existed).
      s.oldDb = derivedName(s.prodDb, `_old_${compactTimestamp(ctx.clock.now())}_${s.runId ?? s.approval.id}`);
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
};

/** Drops a PostgreSQL database kept aside by a completed swap (approvals.keepOldFor has passed). */
export async function dropPgOldDatabase(target: RestoreState['target'], oldDb: string): Promise<void> {
  if (oldDb === target.database) throw new Error('refusing to drop the production database');
  await withAdmin(target, (c) => dropDatabase(c, oldDb));
}
