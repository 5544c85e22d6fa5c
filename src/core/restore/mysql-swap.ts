import type { DbTarget } from '../db-url.js';
import { OperationError, errorMessage } from '../errors.js';
import {
  createDatabaseLike, databaseExists, dropDatabase, listTables, myIdent, myQualified, mysqlErrno, rows, withMysql,
} from './mysql-admin.js';
import { dropWithRetry } from './mysql-load.js';
import { createObjects, dropObjects, readObjects, type ObjectKind, type SchemaObject } from './mysql-objects.js';

/**
 * The switch of a MySQL/MariaDB swap restore. Production's tables go aside into `<db>__old_<id>` and the
 * restored ones come in, in ONE `RENAME TABLE` statement (atomic: all or none):
 *
 *   RENAME TABLE prod.a TO old.a, prod.b TO old.b, restore.a TO prod.a, restore.b TO prod.b
 *
 * Around it, what RENAME TABLE cannot carry: triggers (a table with triggers cannot change database, 1435)
 * are dropped before and recreated after; views, procedures, functions (and events, when the backup has
 * them) of production are dropped and the restored copy's are created in production, exactly as loaded from
 * the backup (same text, character set, collation, sql_mode). Before anything changes, the definitions of
 * production's objects are saved in `<db>__old_<id>`.`__backup_bot_swap` (one JSON row), which is what
 * swapBack (and a person, later) restores from. Production's character set and collation are those of the
 * database itself (it is not replaced); each table keeps its own.
 *
 * Locks: every session runs with `lock_wait_timeout` (default 30 s). All tables are first locked and
 * released (LOCK TABLES … WRITE: waits for long transactions, then fails with nothing changed); a lock
 * taken after that makes a DROP TRIGGER or the RENAME wait and fail, and the triggers dropped so far are
 * recreated: production is as it was. A failure after the RENAME swaps back by itself.
 */

export const SWAP_TABLE = '__backup_bot_swap';

export interface SwapOptions {
  /** The restored copy (`<db>__restore_<id>`), loaded and verified. */
  restoreDb: string;
  /** Where production's tables go (`<db>__old_<id>`); created here, must not exist. */
  oldDb: string;
  /** Partial restore: only these tables are swapped (and their triggers); views, routines and events stay. */
  tables?: string[];
  /** Replace production's procedures and functions with the backup's (default true: backup-bot dumps use --routines). */
  routines?: boolean;
  /** Replace production's events with the backup's (only when the dump has an events section, i.e. --events). */
  events?: boolean;
  /** Seconds each lock waits before the switch gives up (default 30). */
  lockWaitTimeout?: number;
  /** Tests: called after the lock probe, before the first change. */
  afterProbe?: () => Promise<void>;
}

interface ObjectRef { kind: ObjectKind; name: string; table?: string }

export interface SwapResult {
  prodDb: string;
  oldDb: string;
  restoreDb: string;
  scope: 'full' | 'partial';
  /** Tables now in production (from the restored copy). */
  tablesIn: string[];
  /** Production's previous tables, now in oldDb. */
  tablesOut: string[];
  /** Objects created in production (from the restored copy). */
  created: ObjectRef[];
  /** Production objects dropped (saved in oldDb.__backup_bot_swap). */
  replaced: ObjectRef[];
  /** Kinds left as production had them. */
  kept: ObjectKind[];
  /** Time the RENAME TABLE statement took. */
  renameMs: number;
}

/** A switch that failed; `changed` false: production is as it was. */
export class SwapError extends OperationError {
  constructor(message: string, readonly changed: boolean, readonly swappedBack?: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SwapError';
  }
}

interface Manifest {
  version: 1;
  prodDb: string;
  restoreDb: string;
  oldDb: string;
  scope: 'full' | 'partial';
  tablesIn: string[];
  tablesOut: string[];
  kinds: ObjectKind[];
  /** Production's objects before the swap (triggers of tablesOut, and objects of `kinds`). */
  objects: SchemaObject[];
  at: string;
}

const ref = (o: SchemaObject): ObjectRef => ({ kind: o.kind, name: o.name, ...(o.table ? { table: o.table } : {}) });

interface ForeignKeyIssue { constraint: string; from: string; to: string }

/**
 * What would break a swap: foreign keys from other databases into production's tables (they would follow
 * the tables into oldDb) and, for a partial swap, foreign keys that cross the set of chosen tables (a
 * restored table would keep pointing into the restored copy, or production's tables would point into
 * oldDb). Also: chosen tables missing from the restored copy, and a production table named __backup_bot_swap.
 */
export async function checkSwap(t: DbTarget, o: Pick<SwapOptions, 'restoreDb' | 'tables'>): Promise<{ ok: true } | { ok: false; reason: string }> {
  const prodDb = t.database;
  return withMysql(t, async (c) => {
    const prodTables = (await listTables(c, prodDb)).map((x) => x.name);
    const restoreTables = (await listTables(c, o.restoreDb)).map((x) => x.name);
    if (prodTables.includes(SWAP_TABLE) || restoreTables.includes(SWAP_TABLE)) return { ok: false, reason: `a table is named ${SWAP_TABLE}: that name is reserved for the swap's saved definitions` };
    const fks = await rows<{ cs: string; tbl: string; cname: string; rs: string; rtbl: string }>(
      c,
      `SELECT CONSTRAINT_SCHEMA AS cs, TABLE_NAME AS tbl, CONSTRAINT_NAME AS cname, UNIQUE_CONSTRAINT_SCHEMA AS rs, REFERENCED_TABLE_NAME AS rtbl
         FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN (?, ?) OR UNIQUE_CONSTRAINT_SCHEMA IN (?, ?)`,
      [prodDb, o.restoreDb, prodDb, o.restoreDb],
    );
    const fmt = (f: { cs: string; tbl: string; cname: string; rs: string; rtbl: string }): ForeignKeyIssue => ({ constraint: f.cname, from: `${f.cs}.${f.tbl}`, to: `${f.rs}.${f.rtbl}` });
    const outside = fks.filter((f) => f.rs === prodDb && f.cs !== prodDb);
    if (outside.length) {
      return { ok: false, reason: `foreign keys from other databases reference production's tables (they would follow the tables aside): ${outside.map(fmt).map((x) => `${x.from} → ${x.to} (${x.constraint})`).join(', ')}` };
    }
    if (!o.tables) return { ok: true };
    const chosen = new Set(o.tables);
    const missing = o.tables.filter((x) => !restoreTables.includes(x));
    if (missing.length) return { ok: false, reason: `table(s) ${missing.join(', ')} are not in the backup` };
    const crossing = fks.filter((f) =>
      (f.cs === prodDb && f.rs === prodDb && !chosen.has(f.tbl) && chosen.has(f.rtbl)) ||
      (f.cs === o.restoreDb && f.rs === o.restoreDb && chosen.has(f.tbl) && !chosen.has(f.rtbl)));
    if (crossing.length) {
      return {
        ok: false,
        reason: `refused: foreign keys cross the chosen tables: ${crossing.map(fmt).map((x) => `${x.from} → ${x.to} (${x.constraint})`).join(', ')}. ` +
          'Swapping only some of them would leave rows pointing at the wrong copy. Include the tables at both ends, or restore the whole database (System Owner approval).',
      };
    }
    return { ok: true };
  });
}

/**
 * The switch: moves production aside into `oldDb` and the restored copy in (see the module comment).
 * Throws SwapError: `changed: false` when production is as it was (lock timeout, privileges …), or
 * `changed: true, swappedBack: true|false` when a failure after the RENAME was (or could not be) undone.
 */
export async function swapIn(t: DbTarget, o: SwapOptions): Promise<SwapResult> {
  const prodDb = t.database;
  const scope = o.tables ? 'partial' : 'full';
  const kinds: ObjectKind[] = scope === 'partial' ? [] : ['view', ...((o.routines ?? true) ? (['procedure', 'function'] as const) : []), ...(o.events ? (['event'] as const) : [])];
  const kept = (['view', 'procedure', 'function', 'event'] as ObjectKind[]).filter((k) => !kinds.includes(k));
  if (o.oldDb === prodDb || o.restoreDb === prodDb || o.oldDb === o.restoreDb) throw new SwapError('the production, restore and old databases must be three different databases', false);

  const check = await checkSwap(t, o);
  if (!check.ok) throw new SwapError(check.reason, false);

  const { tablesIn, tablesOut } = await withMysql(t, async (c) => {
    if (!(await databaseExists(c, o.restoreDb))) throw new SwapError(`the restored copy "${o.restoreDb}" does not exist`, false);
    if (await databaseExists(c, o.oldDb)) throw new SwapError(`"${o.oldDb}" already exists: refusing to mix production's tables into it`, false);
    const inTables = (await listTables(c, o.restoreDb)).map((x) => x.name).filter((n) => !o.tables || o.tables.includes(n));
    const outTables = (await listTables(c, prodDb)).map((x) => x.name).filter((n) => !o.tables || o.tables.includes(n));
    return { tablesIn: inTables, tablesOut: outTables };
  });
  if (tablesIn.length === 0) throw new SwapError(`the restored copy "${o.restoreDb}" has no tables`, false);

  const prodObjects = await readObjects(t, prodDb, [...kinds, 'trigger'], tablesOut);
  const incoming = await readObjects(t, o.restoreDb, [...kinds, 'trigger'], tablesIn);
  const manifest: Manifest = { version: 1, prodDb, restoreDb: o.restoreDb, oldDb: o.oldDb, scope, tablesIn, tablesOut, kinds, objects: prodObjects, at: new Date().toISOString() };

  await withMysql(t, async (c) => {
    await createDatabaseLike(c, o.oldDb, prodDb);
    await c.query(`CREATE TABLE ${myQualified(o.oldDb, SWAP_TABLE)} (manifest LONGTEXT NOT NULL) CHARACTER SET utf8mb4`);
    await c.query(`INSERT INTO ${myQualified(o.oldDb, SWAP_TABLE)} (manifest) VALUES (?)`, [JSON.stringify(manifest)]);
  });

  let renameMs = 0;
  try {
    ({ renameMs } = await exchange(t, { into: prodDb, from: o.restoreDb, aside: o.oldDb, tablesIn, tablesOut, kinds, incoming, outgoing: prodObjects, lockWaitTimeout: o.lockWaitTimeout ?? 30, afterProbe: o.afterProbe }));
  } catch (err) {
    if (err instanceof SwapError && !err.changed) {
      const cleanup = await dropWithRetry(t, o.oldDb);
      throw new SwapError(`${err.message}; production "${prodDb}" is as it was; ${cleanup}`, false, undefined, { cause: err });
    }
    // After the RENAME: put production back.
    try {
      await swapBack(t, { oldDb: o.oldDb, restoreDb: o.restoreDb, lockWaitTimeout: o.lockWaitTimeout, dropRestored: false });
    } catch (back) {
      throw new SwapError(`${errorMessage(err)}; SWAP BACK FAILED: ${errorMessage(back)}. Production "${prodDb}" has the restored tables; its previous tables are in "${o.oldDb}"`, true, false, { cause: err });
    }
    throw new SwapError(`${errorMessage(err)}; swapped back: production "${prodDb}" is as it was (restored copy in "${o.restoreDb}")`, true, true, { cause: err });
  }
  // The restored copy now only holds what production does not use (views/routines of a full swap, the tables
  // not chosen in a partial one): it is dropped.
  await withMysql(t, (c) => dropDatabase(c, o.restoreDb)).catch(() => undefined);
  return {
    prodDb, oldDb: o.oldDb, restoreDb: o.restoreDb, scope, tablesIn, tablesOut,
    created: incoming.map(ref), replaced: prodObjects.map(ref), kept, renameMs,
  };
}

export interface SwapBackOptions {
  /** `<db>__old_<id>` of the swap to undo (holds __backup_bot_swap). */
  oldDb: string;
  /** Where the restored tables go back to (default: the manifest's restoreDb). */
  restoreDb?: string;
  lockWaitTimeout?: number;
  /** Drop oldDb (then empty but for the saved definitions) once production is back (default true). */
  dropOld?: boolean;
  /** Drop the database the restored tables went back to (default true). */
  dropRestored?: boolean;
}

export interface SwapBackResult {
  prodDb: string;
  /** Production's previous tables, back in production. */
  tablesBack: string[];
  /** The restored tables moved out of production. */
  tablesOut: string[];
  /** Objects recreated in production from the saved definitions. */
  recreated: ObjectRef[];
  /** Saved objects that could not be recreated (e.g. a view whose table in another database is gone). */
  notRecreated: Array<ObjectRef & { error: string }>;
  droppedDatabases: string[];
  renameMs: number;
}

/**
 * Undoes swapIn: production's previous tables come back from `oldDb` (one RENAME TABLE), the restored ones
 * go out, and production's triggers, views, routines (and events) are recreated from the definitions saved in
 * `oldDb`.`__backup_bot_swap`. Works after a bot restart (everything it needs is in oldDb).
 */
export async function swapBack(t: DbTarget, o: SwapBackOptions): Promise<SwapBackResult> {
  const prodDb = t.database;
  const manifest = await withMysql(t, async (c) => {
    const r = await rows<{ manifest: string }>(c, `SELECT manifest FROM ${myQualified(o.oldDb, SWAP_TABLE)}`).catch((err: unknown) => {
      throw new SwapError(`cannot read the saved swap of "${o.oldDb}": ${errorMessage(err)}`, false);
    });
    return JSON.parse(r[0]?.manifest ?? 'null') as Manifest | null;
  });
  if (!manifest || manifest.version !== 1) throw new SwapError(`"${o.oldDb}" has no saved swap`, false);
  if (manifest.prodDb !== prodDb) throw new SwapError(`"${o.oldDb}" was a swap of "${manifest.prodDb}", not "${prodDb}"`, false);
  const outDb = o.restoreDb ?? manifest.restoreDb;
  const { tablesOut, tablesBack } = await withMysql(t, async (c) => {
    if (!(await databaseExists(c, outDb))) await createDatabaseLike(c, outDb, prodDb);
    const inProd = (await listTables(c, prodDb)).map((x) => x.name);
    const inOld = (await listTables(c, o.oldDb)).map((x) => x.name).filter((n) => n !== SWAP_TABLE);
    const back = inOld.filter((n) => manifest.tablesOut.includes(n));
    // Full swap: everything now in production goes out; partial: the tables that came in.
    const out = manifest.scope === 'full' ? inProd : inProd.filter((n) => manifest.tablesIn.includes(n));
    const taken = new Set((await listTables(c, outDb)).map((x) => x.name));
    const clash = out.filter((n) => taken.has(n));
    if (clash.length) throw new SwapError(`cannot move ${clash.join(', ')} out of production: "${outDb}" already has such tables`, false);
    return { tablesOut: out, tablesBack: back };
  });
  const current = await readObjects(t, prodDb, [...manifest.kinds, 'trigger'], tablesOut);
  const { renameMs, failed } = await exchange(t, {
    into: prodDb, from: o.oldDb, aside: outDb, tablesIn: tablesBack, tablesOut, kinds: manifest.kinds,
    incoming: manifest.objects, outgoing: current, lockWaitTimeout: o.lockWaitTimeout ?? 30, saved: true,
  });
  const dropped: string[] = [];
  const drop = [...((o.dropRestored ?? true) ? [outDb] : []), ...((o.dropOld ?? true) ? [o.oldDb] : [])];
  if (drop.length) {
    await withMysql(t, async (c) => {
      for (const db of drop) { await dropDatabase(c, db); dropped.push(db); }
    });
  }
  const notRecreated = failed.map((f) => ({ ...ref(f.object), error: f.error }));
  return { prodDb, tablesBack, tablesOut, recreated: manifest.objects.filter((x) => !failed.some((f) => f.object === x)).map(ref), notRecreated, droppedDatabases: dropped, renameMs };
}

interface Exchange {
  into: string;
  from: string;
  aside: string;
  tablesIn: string[];
  tablesOut: string[];
  kinds: ObjectKind[];
  /** Objects to create in `into` afterwards (triggers of tablesIn, objects of `kinds`). */
  incoming: SchemaObject[];
  /** `into`'s objects now (to recreate if the switch fails before the RENAME). */
  outgoing: SchemaObject[];
  lockWaitTimeout: number;
  /** `from` has no triggers of its own (swapBack: they are in the saved definitions), and objects are
   * recreated best effort (a failure is listed, the swap back goes on). */
  saved?: boolean;
  afterProbe?: () => Promise<void>;
}

/** Returns the RENAME's duration; throws SwapError (changed false before the RENAME, true after). */
async function exchange(t: DbTarget, x: Exchange): Promise<{ renameMs: number; failed: Array<{ object: SchemaObject; error: string }> }> {
  const timeout = Math.max(1, Math.floor(x.lockWaitTimeout));
  const fromTriggers = x.saved ? [] : x.incoming.filter((o) => o.kind === 'trigger');
  const intoTriggers = x.outgoing.filter((o) => o.kind === 'trigger');
  const dropped: Array<{ db: string; o: SchemaObject }> = [];
  let renameMs = 0;
  await withMysql(t, async (c) => {
    await c.query(`SET SESSION lock_wait_timeout = ${timeout}`);
    // 1. Wait for every table to be free (nothing changes if this fails).
    const all = [...x.tablesOut.map((n) => myQualified(x.into, n)), ...x.tablesIn.map((n) => myQualified(x.from, n))];
    try {
      await c.query(`LOCK TABLES ${all.map((q) => `${q} WRITE`).join(', ')}`);
      await c.query('UNLOCK TABLES');
    } catch (err) {
      throw new SwapError(lockMessage(err, timeout, 'locking the tables'), false, undefined, { cause: err });
    }
    await x.afterProbe?.();
    // 2. Triggers off, 3. one RENAME; any failure: the triggers come back, nothing else changed.
    const undoTriggers = async (why: unknown): Promise<never> => {
      const failures: string[] = [];
      for (const d of dropped) {
        const r = await createObjects(t, d.db, [d.o], { bestEffort: true, lockWaitTimeout: timeout }).catch((e: unknown) => ({ failed: [{ error: errorMessage(e) }] }));
        for (const f of r.failed) failures.push(`${d.db}.${d.o.name}: ${f.error}`);
      }
      throw new SwapError(`${lockMessage(why, timeout, 'the switch')}${failures.length ? `; TRIGGERS NOT RECREATED: ${failures.join('; ')}` : ''}`, failures.length > 0, undefined, { cause: why });
    };
    try {
      for (const o of intoTriggers) { await dropObjects(c, x.into, [o]); dropped.push({ db: x.into, o }); }
      for (const o of fromTriggers) { await dropObjects(c, x.from, [o]); dropped.push({ db: x.from, o }); }
      const renames = [
        ...x.tablesOut.map((n) => `${myQualified(x.into, n)} TO ${myQualified(x.aside, n)}`),
        ...x.tablesIn.map((n) => `${myQualified(x.from, n)} TO ${myQualified(x.into, n)}`),
      ];
      const t0 = Date.now();
      await c.query(`RENAME TABLE ${renames.join(', ')}`);
      renameMs = Date.now() - t0;
    } catch (err) {
      await undoTriggers(err);
    }
  });
  // 4. After the RENAME: production's objects replaced by the incoming ones.
  try {
    await withMysql(t, async (c) => {
      await c.query(`SET SESSION lock_wait_timeout = ${timeout}`);
      const now = await readObjects(t, x.into, x.kinds);
      await dropObjects(c, x.into, now);
    });
    const { failed } = await createObjects(t, x.into, x.incoming, { bestEffort: x.saved, lockWaitTimeout: timeout });
    return { renameMs, failed };
  } catch (err) {
    throw new SwapError(`after the tables were switched, recreating views/triggers/routines failed: ${errorMessage(err)}`, true, undefined, { cause: err });
  }
}

function lockMessage(err: unknown, timeout: number, what: string): string {
  const n = mysqlErrno(err);
  if (n === 1205) return `${what} waited ${timeout} s (lock_wait_timeout) for a table locked by another session (a long transaction or LOCK TABLES) and gave up`;
  return `${what} failed: ${errorMessage(err)}`;
}

/**
 * After approvals.keepOldFor: drops `<db>__old_<id>`. Refuses production itself and a database without the
 * swap's saved definitions (so a mistyped name cannot drop something else).
 */
export async function dropOldDatabase(t: DbTarget, oldDb: string): Promise<{ dropped: boolean; tables: number }> {
  if (oldDb === t.database) throw new OperationError('refusing to drop the production database');
  return withMysql(t, async (c) => {
    if (!(await databaseExists(c, oldDb))) return { dropped: false, tables: 0 };
    const tables = await listTables(c, oldDb);
    if (!tables.some((x) => x.name === SWAP_TABLE)) throw new OperationError(`"${oldDb}" is not a database kept aside by a swap restore (no ${SWAP_TABLE}): not dropped`);
    await c.query(`DROP DATABASE ${myIdent(oldDb)}`);
    return { dropped: true, tables: tables.length - 1 };
  });
}

/** The runbook's undo of the "restore" step: drops the restored copy. */
export function discardRestoredCopy(t: DbTarget, restoreDb: string): Promise<string> {
  if (restoreDb === t.database) return Promise.reject(new OperationError('refusing to drop the production database'));
  return dropWithRetry(t, restoreDb);
}

