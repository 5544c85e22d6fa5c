import mysql from 'mysql2/promise';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { DbTarget } from '../db-url.js';
import { OperationError, errorMessage } from '../errors.js';
import { redactSecrets } from '../redact.js';

/**
 * Server-level mechanics of a production restore on a MySQL/MariaDB server, over one mysql2 connection
 * (admin statements need one session: its lock_wait_timeout, its CONNECTION_ID(), error numbers):
 * databases like another one (character set and collation), base tables, ending other sessions.
 * Dumps are loaded with the `mysql` client (mysql-load.ts): mysqldump output uses client-side DELIMITER.
 */

/** MySQL/MariaDB identifiers are at most 64 characters. */
const MAX_IDENT = 64;

/** `` `name` `` with backticks doubled. */
export function myIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/** `` `db`.`name` `` */
export function myQualified(db: string, name: string): string {
  return `${myIdent(db)}.${myIdent(name)}`;
}

/** Opens one session (no default database unless given). `charset` is a mysql2 charset/collation name. */
async function connectMysql(t: DbTarget, opts: { database?: string; charset?: string } = {}): Promise<Connection> {
  try {
    const c = await mysql.createConnection({
      host: t.host,
      port: t.port,
      user: t.user,
      password: t.password,
      ...(opts.database ? { database: opts.database } : {}),
      charset: opts.charset ?? 'UTF8MB4_GENERAL_CI',
      connectTimeout: 10_000,
      multipleStatements: false,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      ...(t.params.ssl === 'true' || t.params.sslmode === 'require' ? { ssl: {} } : {}),
    });
    c.on('error', () => {});
    return c;
  } catch (err) {
    throw new OperationError(`cannot connect to mysql on ${t.host}:${t.port} as ${t.user}: ${redactSecrets(errorMessage(err))}`);
  }
}

export async function withMysql<T>(t: DbTarget, fn: (c: Connection) => Promise<T>, opts: { database?: string; charset?: string } = {}): Promise<T> {
  const c = await connectMysql(t, opts);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => c.destroy());
  }
}

/** Rows of a query as plain objects. */
export async function rows<T = Record<string, unknown>>(c: Connection, sql: string, values: unknown[] = []): Promise<T[]> {
  const [r] = await c.query<RowDataPacket[]>(sql, values);
  return r as unknown as T[];
}

/** The server's error number of a mysql2 error (1205 lock wait timeout, 1044/1142 access denied …). */
export function mysqlErrno(err: unknown): number | undefined {
  const n = (err as { errno?: unknown })?.errno;
  return typeof n === 'number' ? n : undefined;
}

/** `<base><suffix>` within 64 characters (the base is shortened, the suffix kept). */
export function derivedName(base: string, suffix: string): string {
  const room = MAX_IDENT - [...suffix].length;
  return [...base].slice(0, Math.max(0, room)).join('') + suffix;
}

/** `<db>__restore_<id>` */
export function restoreDatabaseName(prodDb: string, id: string): string {
  return derivedName(prodDb, `__restore_${id}`);
}

/** `<db>__old_<id>` */
export function oldDatabaseName(prodDb: string, id: string): string {
  return derivedName(prodDb, `__old_${id}`);
}

export async function databaseExists(c: Connection, name: string): Promise<boolean> {
  return (await rows(c, 'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name])).length > 0;
}

export interface MysqlDatabaseProps { charset: string; collation: string }

export async function databaseProps(c: Connection, name: string): Promise<MysqlDatabaseProps> {
  const r = await rows<{ cs: string; co: string }>(c, 'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name]);
  const p = r[0];
  if (!p) throw new OperationError(`database "${name}" does not exist on the server`);
  return { charset: p.cs, collation: p.co };
}

const CHARSET_NAME = /^[A-Za-z0-9_]{1,64}$/;

/** Creates an empty database with the given default character set and collation (refuses an existing one). */
export async function createDatabase(c: Connection, name: string, p: MysqlDatabaseProps): Promise<void> {
  if (!CHARSET_NAME.test(p.charset) || !CHARSET_NAME.test(p.collation)) throw new OperationError(`unexpected character set "${p.charset}" / collation "${p.collation}"`);
  await c.query(`CREATE DATABASE ${myIdent(name)} CHARACTER SET ${p.charset} COLLATE ${p.collation}`);
}

/** Creates an empty database with the character set and collation of `like` (which must exist). */
export async function createDatabaseLike(c: Connection, name: string, like: string): Promise<MysqlDatabaseProps> {
  const p = await databaseProps(c, like);
  await createDatabase(c, name, p);
  return p;
}

export async function dropDatabase(c: Connection, name: string): Promise<void> {
  await c.query(`DROP DATABASE IF EXISTS ${myIdent(name)}`);
}

export interface TableInfo {
  name: string;
  /** BASE TABLE, SEQUENCE or SYSTEM VERSIONED. */
  type: string;
  engine: string | null;
  rowFormat: string | null;
  collation: string | null;
}

/** Tables that RENAME TABLE moves (everything but views and temporary tables), by name. */
export async function listTables(c: Connection, db: string): Promise<TableInfo[]> {
  return rows<TableInfo>(
    c,
    `SELECT TABLE_NAME AS name, TABLE_TYPE AS type, ENGINE AS engine, ROW_FORMAT AS rowFormat, TABLE_COLLATION AS collation
       FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE NOT IN ('VIEW', 'SYSTEM VIEW', 'TEMPORARY') ORDER BY TABLE_NAME`,
    [db],
  );
}

/** `'user'@'host'` of this session (CURRENT_USER, the account whose privileges apply). */
export async function currentAccount(c: Connection): Promise<{ user: string; host: string; grantee: string; roles: string[] }> {
  const r = await rows<{ u: string; role: string | null }>(c, 'SELECT CURRENT_USER() AS u, CURRENT_ROLE() AS role');
  const u = r[0]!.u;
  const at = u.lastIndexOf('@');
  const user = at < 0 ? u : u.slice(0, at);
  const host = at < 0 ? '%' : u.slice(at + 1);
  const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const role = r[0]!.role;
  return { user, host, grantee: `${q(user)}@${q(host)}`, roles: role && role !== 'NONE' ? [q(role)] : [] };
}

export interface EndConnectionsResult {
  /** Sessions ended. */
  ended: number;
  ids: number[];
  /** Sessions that could not be ended (already gone are not listed). */
  failed: Array<{ id: number; user: string; error: string }>;
}

/**
 * Ends (KILL CONNECTION) every session whose default database is `db`, or that belongs to one of `users`,
 * except this session and `exceptIds` (the bot's other sessions) and the server's own threads. A session
 * that ended by itself meanwhile (1094 unknown thread) is not counted. Other users' sessions are only
 * visible with PROCESS and can only be ended with CONNECTION ADMIN (or SUPER): see mysql-privileges.ts.
 */
export async function endConnections(c: Connection, db: string, opts: { exceptIds?: number[]; users?: string[] } = {}): Promise<EndConnectionsResult> {
  const users = opts.users ?? [];
  const list = await rows<{ id: string; user: string }>(
    c,
    `SELECT ID AS id, USER AS user FROM information_schema.PROCESSLIST
      WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Killed') AND USER NOT IN ('system user', 'event_scheduler')
        AND (DB = ?${users.length ? ` OR USER IN (${users.map(() => '?').join(',')})` : ''})`,
    [db, ...users],
  );
  const except = new Set(opts.exceptIds ?? []);
  const out: EndConnectionsResult = { ended: 0, ids: [], failed: [] };
  for (const s of list) {
    const id = Number(s.id);
    if (except.has(id)) continue;
    try {
      await c.query(`KILL CONNECTION ${id}`);
      out.ended++;
      out.ids.push(id);
    } catch (err) {
      if (mysqlErrno(err) === 1094) continue; // unknown thread: it ended by itself
      out.failed.push({ id, user: s.user, error: errorMessage(err) });
    }
  }
  return out;
}

/** This session's id (to exclude it, or a loader's, from endConnections). */
export async function connectionId(c: Connection): Promise<number> {
  return Number((await rows<{ id: string }>(c, 'SELECT CONNECTION_ID() AS id'))[0]!.id);
}
