import type { Connection } from 'mysql2/promise';
import type { DbTarget } from '../db-url.js';
import { OperationError, errorMessage } from '../errors.js';
import { myIdent, myQualified, rows, withMysql } from './mysql-admin.js';
import { unqualifyTrigger } from './mysql-dump-filter.js';

/**
 * Views, triggers, stored routines and events are bound to a database: RENAME TABLE cannot move a view to
 * another database (1450) nor a table that has triggers (1435), and routines and events belong to the
 * database, not to a table. So a swap reads their definitions (SHOW CREATE, with the database as the
 * session's default so that the text is unqualified), drops and recreates them, each with the
 * character_set_client, collation_connection, sql_mode (and, for events, time_zone) it was created with.
 */

export type ObjectKind = 'procedure' | 'function' | 'view' | 'trigger' | 'event';

export interface SchemaObject {
  kind: ObjectKind;
  name: string;
  /** Triggers: the table they belong to. */
  table?: string;
  /** The CREATE statement, without a database qualifier. */
  create: string;
  characterSetClient: string;
  collationConnection: string;
  sqlMode: string | null;
  /** Events: the time zone their schedule is read in. */
  timeZone: string | null;
}

type Row = Record<string, string | null>;

/** Reads the definitions of `kinds` in `db` (triggers: only those of `tables` when given). */
export async function readObjects(t: DbTarget, db: string, kinds: ObjectKind[], tables?: string[]): Promise<SchemaObject[]> {
  return withMysql(t, async (c) => {
    await c.query(`USE ${myIdent(db)}`);
    const out: SchemaObject[] = [];
    const want = new Set(kinds);
    for (const kind of ['procedure', 'function'] as const) {
      if (!want.has(kind)) continue;
      const names = await rows<{ n: string }>(c, 'SELECT ROUTINE_NAME AS n FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_TYPE = ? ORDER BY ROUTINE_NAME', [db, kind.toUpperCase()]);
      for (const { n } of names) {
        const r = (await rows<Row>(c, `SHOW CREATE ${kind.toUpperCase()} ${myIdent(n)}`))[0]!;
        const create = r[kind === 'procedure' ? 'Create Procedure' : 'Create Function'];
        if (!create) throw new OperationError(`cannot read the definition of ${kind} ${db}.${n} (it needs SHOW CREATE ROUTINE or being its definer)`);
        out.push({ kind, name: n, create, characterSetClient: r.character_set_client!, collationConnection: r.collation_connection!, sqlMode: r.sql_mode ?? '', timeZone: null });
      }
    }
    if (want.has('view')) {
      const names = await rows<{ n: string }>(c, 'SELECT TABLE_NAME AS n FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME', [db]);
      for (const { n } of names) {
        const r = (await rows<Row>(c, `SHOW CREATE VIEW ${myIdent(n)}`))[0]!;
        out.push({ kind: 'view', name: n, create: r['Create View']!, characterSetClient: r.character_set_client!, collationConnection: r.collation_connection!, sqlMode: null, timeZone: null });
      }
    }
    if (want.has('trigger')) {
      const names = await rows<{ n: string; tbl: string }>(
        c,
        `SELECT TRIGGER_NAME AS n, EVENT_OBJECT_TABLE AS tbl FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?
          ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`,
        [db],
      );
      for (const { n, tbl } of names) {
        if (tables && !tables.includes(tbl)) continue;
        const r = (await rows<Row>(c, `SHOW CREATE TRIGGER ${myIdent(n)}`))[0]!;
        out.push({ kind: 'trigger', name: n, table: tbl, create: unqualifyTrigger(r['SQL Original Statement']!), characterSetClient: r.character_set_client!, collationConnection: r.collation_connection!, sqlMode: r.sql_mode ?? '', timeZone: null });
      }
    }
    if (want.has('event')) {
      const names = await rows<{ n: string }>(c, 'SELECT EVENT_NAME AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME', [db]);
      for (const { n } of names) {
        const r = (await rows<Row>(c, `SHOW CREATE EVENT ${myIdent(n)}`))[0]!;
        out.push({ kind: 'event', name: n, create: r['Create Event']!, characterSetClient: r.character_set_client!, collationConnection: r.collation_connection!, sqlMode: r.sql_mode ?? '', timeZone: r.time_zone ?? null });
      }
    }
    return out;
  });
}

/** The mysql2 charset whose encoding matches a server character set name (so the text reaches it intact). */
function clientCharset(cs: string): string {
  const name = cs.toLowerCase();
  if (name === 'utf8mb3' || name === 'utf8') return 'UTF8_GENERAL_CI';
  if (name === 'utf8mb4') return 'UTF8MB4_GENERAL_CI';
  return name.toUpperCase();
}

const SAFE_NAME = /^[A-Za-z0-9_]{1,64}$/;
const CREATE_ORDER: ObjectKind[] = ['procedure', 'function', 'view', 'trigger', 'event'];

/**
 * Creates the objects in `db`, each in a session with its own character set, collation, sql_mode (and time
 * zone): routines, then views (a view that needs another view is retried once that one exists), then
 * triggers (in their original order), then events. Throws at the first object that cannot be created
 * (`bestEffort`: goes on and lists it in `failed`). `lockWaitTimeout` (seconds) bounds the wait for a table
 * another session has locked (CREATE TRIGGER needs the table to itself).
 */
export async function createObjects(t: DbTarget, db: string, objects: SchemaObject[], opts: { bestEffort?: boolean; lockWaitTimeout?: number } = {}): Promise<{ created: SchemaObject[]; failed: Array<{ object: SchemaObject; error: string }> }> {
  const created: SchemaObject[] = [];
  const failures: Array<{ object: SchemaObject; error: string }> = [];
  const charsets = new Set<string>();
  for (const o of objects) {
    if (!SAFE_NAME.test(o.characterSetClient) || !SAFE_NAME.test(o.collationConnection)) throw new OperationError(`${o.kind} ${o.name}: unexpected character set ${o.characterSetClient}/${o.collationConnection}`);
    charsets.add(o.characterSetClient);
  }
  for (const kind of CREATE_ORDER) {
    let todo = objects.filter((o) => o.kind === kind);
    while (todo.length) {
      const failed: Array<{ o: SchemaObject; err: unknown }> = [];
      for (const cs of charsets) {
        const mine = todo.filter((o) => o.characterSetClient === cs);
        if (!mine.length) continue;
        await withMysql(t, async (c) => {
          await c.query(`USE ${myIdent(db)}`);
          await c.query(`SET NAMES ${cs}`);
          if (opts.lockWaitTimeout) await c.query(`SET SESSION lock_wait_timeout = ${Math.max(1, Math.floor(opts.lockWaitTimeout))}`);
          const session: SessionState = {};
          for (const o of mine) {
            try {
              await applySession(c, o, session);
              await c.query(o.create);
              created.push(o);
            } catch (err) {
              if (kind !== 'view' && !opts.bestEffort) throw new OperationError(`creating ${o.kind} ${db}.${o.name} failed: ${errorMessage(err)}`);
              failed.push({ o, err });
            }
          }
        }, { charset: clientCharset(cs) });
      }
      // Views: retry those that failed while others succeeded (a view on a view created later in the list).
      if (kind !== 'view' || failed.length === todo.length) {
        if (failed.length && !opts.bestEffort) throw new OperationError(`creating ${kind} ${db}.${failed[0]!.o.name} failed: ${errorMessage(failed[0]!.err)}`);
        failures.push(...failed.map((f) => ({ object: f.o, error: errorMessage(f.err) })));
        break;
      }
      todo = failed.map((f) => f.o);
    }
  }
  return { created, failed: failures };
}

interface SessionState { collation?: string; sqlMode?: string; timeZone?: string }

/** Sets the session to the object's collation, sql_mode and time zone (only what differs from the last object). */
async function applySession(c: Connection, o: SchemaObject, s: SessionState): Promise<void> {
  if (s.collation !== o.collationConnection) { await c.query('SET SESSION collation_connection = ?', [o.collationConnection]); s.collation = o.collationConnection; }
  if (o.sqlMode !== null && s.sqlMode !== o.sqlMode) { await c.query('SET SESSION sql_mode = ?', [o.sqlMode]); s.sqlMode = o.sqlMode; }
  if (o.timeZone !== null && s.timeZone !== o.timeZone) { await c.query('SET SESSION time_zone = ?', [o.timeZone]); s.timeZone = o.timeZone; }
}

/** Drops the named objects from `db` (IF EXISTS); views last-created-first is not needed (DROP VIEW does not check users). */
export async function dropObjects(c: Connection, db: string, objects: Array<Pick<SchemaObject, 'kind' | 'name'>>): Promise<void> {
  for (const o of objects) {
    await c.query(`DROP ${o.kind.toUpperCase()} IF EXISTS ${myQualified(db, o.name)}`);
  }
}

/** A definition for comparisons: the CREATE text without its DEFINER clause. */
export function withoutDefiner(create: string): string {
  return create.replace(/\s*DEFINER\s*=\s*(?:`(?:[^`]|``)*`|'[^']*'|[^\s@]+)@(?:`(?:[^`]|``)*`|'[^']*'|\S+)/i, '');
}
