import { parseDuration } from '../config/duration.js';
import type { ClientConfig } from '../config/schema.js';
import { parseDbUrl, type DbTarget } from '../core/db-url.js';
import {
  createDatabase, databaseProps, dropDatabase, endConnections, myQualified, oldDatabaseName, restoreDatabaseName, rows, withMysql,
} from '../core/restore/mysql-admin.js';
import { loadMysqlDump, replaceDatabase, restoreToNewDatabase } from '../core/restore/mysql-load.js';
import { checkRestorePrivileges } from '../core/restore/mysql-privileges.js';
import { SwapError, discardRestoredCopy, dropOldDatabase, swapBack, swapIn } from '../core/restore/mysql-swap.js';
import { checksumTables, compareChecksums, runChecks, verifyCopy } from '../core/restore/mysql-verify.js';
import type { Step, Undo } from './runbook.js';
import { downloadPreRestoreBackup, type EngineSteps, type RestoreState } from './restore-state.js';

/**
 * The MySQL/MariaDB steps of the production-restore runbook (restore-steps.ts picks them by the client's engine),
 * on the building blocks of src/core/restore/mysql-*.ts:
 * - swap (default): the backup is loaded into `<db>__restore_<approval>` on the same server (production
 *   untouched), verified (row counts of the manifest, CHECKSUM TABLE of every table taken as the reference),
 *   then ONE `RENAME TABLE` moves production's tables into `<db>__old_<approval>` and the restored ones in
 *   (views, triggers, routines and, when the dump has them, events recreated from the dump); after it,
 *   CHECKSUM TABLE of production must equal the restored copy's and verify.checks must pass, else it swaps
 *   back. The old tables are kept for approvals.keepOldFor (dropped by the retention job).
 * - partial (IT Manager approval): the same, only the chosen tables (and their triggers) are swapped.
 * - replace (the runbook's drop and load): production is dropped, created again with its character set and
 *   collation, loaded; the way back reloads the verified pre-restore backup.
 * Before anything changes (first step) the bot's account is checked for every privilege the strategy needs.
 */

const lockWaitSeconds = (s: RestoreState) => Math.max(1, Math.round((parseDuration(s.ctx.config.approvals.lockWait) ?? 30_000) / 1000));
const restoreDbOf = (s: RestoreState) => restoreDatabaseName(s.prodDb, s.approval.id);
const oldDbOf = (s: RestoreState) => oldDatabaseName(s.prodDb, s.approval.id);

/** The privileges the restore of this client needs, checked now (changes nothing). */
async function privilegesProblem(t: DbTarget, strategy: RestoreState['strategy'], names?: { restoreDb: string; oldDb: string }): Promise<string | undefined> {
  const check = await checkRestorePrivileges(t, {
    strategy: strategy === 'replace' ? 'replace' : 'swap', partial: strategy === 'partial', events: strategy !== 'partial', endConnections: true, ...(names ?? {}),
  });
  return check.ok ? undefined : check.message;
}

/** Reloads the pre-restore backup into production (replace strategy's way back). */
async function reloadPreRestore(s: RestoreState): Promise<string> {
  const pre = await downloadPreRestoreBackup(s);
  try {
    await withMysql(s.target, async (c) => {
      await dropDatabase(c, s.prodDb);
      await createDatabase(c, s.prodDb, s.my!.props!);
    });
    await loadMysqlDump(pre.path, s.target, s.prodDb);
    return `${s.prodDb} restored from the pre-restore backup ${s.preBackup!.file}`;
  } finally {
    await pre.cleanup();
  }
}

const dropRestoredCopy: Undo<RestoreState> = {
  name: 'drop_restored_copy',
  needed: (s) => s.newDb !== undefined && !s.swapped,
  async run(s) {
    const note = await discardRestoredCopy(s.target, s.newDb!);
    if (/could NOT be dropped/.test(note)) throw new Error(note);
    return `${note}; production ${s.prodDb} was never touched`;
  },
};
const reloadPreRestoreBackup: Undo<RestoreState> = { name: 'restore_pre_restore_backup', needed: (s) => s.prodDropped, run: reloadPreRestore };

const restoreStep: Step<RestoreState> = {
  name: 'restore',
  label: 'Restore',
  undo: (s) => (s.strategy === 'replace' ? reloadPreRestoreBackup : dropRestoredCopy),
  async run(s, signal) {
    s.my ??= {};
    if (s.strategy === 'replace') {
      s.my.props = await withMysql(s.target, (c) => databaseProps(c, s.prodDb));
      const r = await replaceDatabase(s.local!.path, s.target, { signal, lockWaitTimeout: lockWaitSeconds(s), onDropped: () => { s.prodDropped = true; } });
      s.my.load = r.load;
      return `${s.prodDb} dropped, created (${r.props.charset}/${r.props.collation}) and restored from ${s.backup.file}`;
    }
    const newDb = restoreDbOf(s);
    s.newDb = newDb;
    await s.ctx.store.approvals.setDatabases(s.approval.id, { restoreDatabase: newDb });
    const r = await restoreToNewDatabase(s.local!.path, s.target, newDb, { signal });
    s.my.props = r.props;
    s.my.load = r.load;
    return `restored into ${newDb} (${r.tables} tables, ${r.props.charset}/${r.props.collation}; production untouched so far)`;
  },
};

const verifyStep: Step<RestoreState> = {
  name: 'verify',
  label: 'Verify row counts against the backup',
  async run(s) {
    const db = s.strategy === 'replace' ? s.prodDb : s.newDb!;
    const partial = s.strategy === 'partial';
    const expected = s.facts.rowCounts;
    const all = [...new Set([...s.cfg.verify.tables, ...Object.keys(expected)])];
    const tables = partial ? all.filter((t) => s.approval.tables.includes(t.split('.').pop()!)) : all;
    const v = await verifyCopy(s.target, db, { tables, expected, dumpTables: partial ? null : (s.facts.tables ?? null) });
    if (!v.ok) throw new Error(`the restored data does not match the backup: ${v.problems.join('; ')}`);
    s.counts = Object.fromEntries(v.counts.map((c) => [c.table, c.got ?? 0]));
    s.checks.push({ name: 'row counts match the backup manifest', ok: true });
    const counted = `${tables.length} table(s) match the backup's row counts; ${v.tables} tables`;
    if (s.strategy === 'replace') {
      await runVerifyChecks(s);
      return `${counted}; CHECKSUM TABLE not compared (replace: no restored copy beside production)${s.cfg.verify.checks.length ? `; ${s.cfg.verify.checks.length} verify.checks passed` : ''}`;
    }
    s.my!.reference = await checksumTables(s.target, db, partial ? { tables: s.approval.tables } : {});
    return `${counted}; CHECKSUM TABLE of ${Object.keys(s.my!.reference.tables).length} table(s) of ${db} taken as the reference`;
  },
};

/** verify.checks on production: a failed one fails the step (and so rolls back). */
async function runVerifyChecks(s: RestoreState): Promise<void> {
  const r = await runChecks(s.target, s.prodDb, s.cfg.verify.checks);
  if (!r.ok) throw new Error(`verify.checks failed on production: ${r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
  for (const c of r.checks) s.checks.push({ name: `verify.checks: ${c.name}`, ok: true });
}

/** After the RENAME: production's tables must be the restored copy's (CHECKSUM TABLE) and verify.checks pass. */
async function verifyAfterSwitch(s: RestoreState): Promise<string> {
  const after = await checksumTables(s.target, s.prodDb, s.strategy === 'partial' ? { tables: s.approval.tables } : {});
  const cmp = compareChecksums(s.my!.reference!, after);
  if (!cmp.ok) throw new Error(`after the switch, CHECKSUM TABLE of production differs from the restored copy: ${cmp.problems.join('; ')}`);
  s.checks.push({ name: 'CHECKSUM TABLE of production equals the restored copy', ok: true });
  await runVerifyChecks(s);
  const matched = cmp.tables.filter((t) => t.status === 'match').length;
  const other = cmp.tables.length - matched;
  return `CHECKSUM TABLE: ${matched} table(s) match${other ? `, ${other} not comparable` : ''}${s.cfg.verify.checks.length ? `; ${s.cfg.verify.checks.length} verify.checks passed` : ''}`;
}

const switchStep: Step<RestoreState> = {
  name: 'switch',
  label: 'Put the restored database in place (old one kept aside)',
  skip: (s) => (s.strategy === 'replace' ? 'strategy replace: restored in place' : undefined),
  async run(s) {
    const ctx = s.ctx;
    const oldDb = oldDbOf(s);
    s.oldDb = oldDb;
    const keep = parseDuration(ctx.config.approvals.keepOldFor) ?? 7 * 86_400_000;
    // Recorded first: a bot killed during the switch leaves a request that says where production's tables are.
    await ctx.store.approvals.setDatabases(s.approval.id, { oldDatabase: oldDb, oldDatabaseDropAfter: new Date(ctx.clock.now().getTime() + keep) });
    let r;
    try {
      r = await swapIn(s.target, {
        restoreDb: s.newDb!, oldDb, lockWaitTimeout: lockWaitSeconds(s),
        ...(s.strategy === 'partial' ? { tables: s.approval.tables } : { routines: true, events: s.my?.load?.filter.hasEventsSection ?? false }),
      });
    } catch (err) {
      if (err instanceof SwapError && (!err.changed || err.swappedBack)) {
        s.oldDb = undefined;
        await ctx.store.approvals.setDatabases(s.approval.id, { oldDatabase: null, oldDatabaseDropAfter: null });
      } else {
        s.swapped = true; // production may hold the restored tables: swap_back tries again
      }
      throw err;
    }
    s.swapped = true;
    s.newDb = undefined; // swapIn dropped what was left of the restored copy
    const checked = await verifyAfterSwitch(s);
    const objects = r.created.length ? `; ${r.created.length} view(s)/trigger(s)/routine(s)/event(s) recreated from the backup` : '';
    return `one RENAME TABLE (${r.renameMs} ms): ${r.tablesIn.length} restored table(s) into ${s.prodDb}, its previous ${r.tablesOut.length} kept in ${oldDb} for ${ctx.config.approvals.keepOldFor}${objects}; ${checked}`;
  },
  undo: {
    name: 'swap_back',
    needed: (s) => s.swapped,
    async run(s) {
      const r = await swapBack(s.target, { oldDb: s.oldDb!, lockWaitTimeout: lockWaitSeconds(s) });
      await s.ctx.store.approvals.setDatabases(s.approval.id, { oldDatabase: null, oldDatabaseDropAfter: null });
      const missing = r.notRecreated.length ? `; NOT recreated: ${r.notRecreated.map((o) => `${o.kind} ${o.name} (${o.error})`).join(', ')}` : '';
      return `production's previous tables renamed back from ${s.oldDb} (${r.tablesBack.length} tables, ${r.recreated.length} views/triggers/routines recreated${missing}); the restored tables were dropped`;
    },
  },
};

export const MYSQL_STEPS: EngineSteps = {
  async preflight(s) {
    const problem = await privilegesProblem(s.target, s.strategy, { restoreDb: restoreDbOf(s), oldDb: oldDbOf(s) });
    if (problem) throw new Error(problem);
    return `the MySQL account holds the privileges of a ${s.strategy} restore`;
  },
  terminate_connections: {
    name: 'terminate_connections',
    label: 'Terminate connections',
    async run(s) {
      const r = await withMysql(s.target, (c) => endConnections(c, s.prodDb));
      const failed = r.failed.length ? `; ${r.failed.length} could NOT be ended (${r.failed.map((f) => `${f.id} ${f.user}: ${f.error}`).join('; ').slice(0, 300)})` : '';
      return `${r.ended} session(s) on ${s.prodDb} ended (KILL CONNECTION; the bot's own kept)${failed}`;
    },
  },
  restore: restoreStep,
  verify: verifyStep,
  switch: switchStep,
};

/** After approvals.keepOldFor: drops `<db>__old_<id>` (only a database the swap kept aside). */
export async function dropMysqlOldDatabase(target: DbTarget, oldDb: string): Promise<void> {
  await dropOldDatabase(target, oldDb);
}

/**
 * What a MySQL/MariaDB restore request needs, checked when it is made (nothing is stored when it fails):
 * the bot's account holds the privileges (the answer names the GRANTs); for a partial restore, plain table
 * names and no foreign key between a chosen table and one left out.
 */
export async function checkMysqlRequest(cfg: ClientConfig, scope: 'full' | 'partial', strategy: 'swap' | 'replace', tables: string[]): Promise<{ ok: true; tables: string[] } | { ok: false; reason: string }> {
  const t = parseMysqlTarget(cfg);
  const names: string[] = [];
  for (const x of tables) {
    const [a, b] = x.split('.');
    if (b !== undefined && a !== t.database) return { ok: false, reason: `table "${x}" is not in the client's database ${t.database} (accepted: table names of ${t.database})` };
    names.push(b ?? a!);
  }
  const problem = await privilegesProblem(t, scope === 'partial' ? 'partial' : strategy);
  if (problem) return { ok: false, reason: problem };
  if (scope !== 'partial') return { ok: true, tables: [] };
  const chosen = new Set(names);
  const fks = await withMysql(t, (c) => rows<{ tbl: string; rtbl: string; cname: string }>(
    c,
    `SELECT TABLE_NAME AS tbl, REFERENCED_TABLE_NAME AS rtbl, CONSTRAINT_NAME AS cname FROM information_schema.REFERENTIAL_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = ? AND UNIQUE_CONSTRAINT_SCHEMA = ?`,
    [t.database, t.database],
  ));
  const crossing = fks.filter((f) => chosen.has(f.tbl) !== chosen.has(f.rtbl));
  if (crossing.length) {
    return {
      ok: false,
      reason: `foreign keys cross the chosen tables: ${crossing.map((f) => `${f.tbl} → ${f.rtbl} (${f.cname})`).join(', ')}. Swapping only some of them would leave rows pointing at the wrong copy. ` +
        'Include the tables at both ends, or restore the whole database (System Owner approval).',
    };
  }
  return { ok: true, tables: [...chosen] };
}

const parseMysqlTarget = (cfg: ClientConfig): DbTarget => parseDbUrl(cfg.database.url, 'mysql');

/** Rows in production now of the manifest's tables (the request's "what will be lost"); a missing table is left out. */
export async function mysqlProductionCounts(cfg: ClientConfig, tables: string[]): Promise<Record<string, number>> {
  const t = parseMysqlTarget(cfg);
  return withMysql(t, async (c) => {
    const out: Record<string, number> = {};
    for (const x of tables) {
      const name = x.split('.').pop()!;
      try { out[x] = Number((await rows<{ n: string }>(c, `SELECT COUNT(*) AS n FROM ${myQualified(t.database, name)}`))[0]!.n); } catch { /* table gone: not measured */ }
    }
    return out;
  });
}
