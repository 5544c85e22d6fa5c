import pg from 'pg';
import type { DbTarget } from '../db-url.js';
import { OperationError } from '../errors.js';

/**
 * Database-level mechanics of a production restore on a PostgreSQL server: connections to the server's
 * maintenance database, terminating sessions, creating a database like another one, and the atomic swap
 * (two renames in one transaction).
 */

export const MAX_IDENT = 63;

export function clientConfig(t: DbTarget, database = t.database): pg.ClientConfig {
  return {
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    database,
    application_name: 'backup-bot-restore',
    connectionTimeoutMillis: 10_000,
    ...(t.params.sslmode && t.params.sslmode !== 'disable' ? { ssl: { rejectUnauthorized: t.params.sslmode === 'verify-full' } } : {}),
  };
}

export async function withDb<T>(t: DbTarget, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(clientConfig(t, database));
  c.on('error', () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/** Runs `fn` on the server's maintenance database (`postgres`), never on the database being replaced. */
export function withAdmin<T>(t: DbTarget, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  return withDb(t, t.params.maintenanceDb ?? 'postgres', fn);
}

/** `<base><suffix>` within PostgreSQL's 63-byte identifier limit (the base is shortened, the suffix kept). */
export function derivedName(base: string, suffix: string): string {
  const room = MAX_IDENT - Buffer.byteLength(suffix);
  let b = base;
  while (Buffer.byteLength(b) > room) b = b.slice(0, -1);
  return b + suffix;
}

/** `20260106030000` */
export function compactTimestamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export async function databaseExists(admin: pg.Client, name: string): Promise<boolean> {
  const r = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (r.rowCount ?? 0) > 0;
}

/** Ends every other session on `database`; returns how many were ended. */
export async function terminateConnections(admin: pg.Client, database: string): Promise<number> {
  const r = await admin.query<{ ok: boolean }>(
    'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [database],
  );
  return r.rows.filter((x) => x.ok).length;
}

export interface DatabaseProps { owner: string; encoding: string; collate: string; ctype: string }

export async function databaseProps(admin: pg.Client, name: string): Promise<DatabaseProps> {
  const r = await admin.query<DatabaseProps>(
    `SELECT pg_get_userbyid(datdba) AS owner, pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype
       FROM pg_database WHERE datname = $1`,
    [name],
  );
  const p = r.rows[0];
  if (!p) throw new OperationError(`database "${name}" does not exist on the server`);
  return p;
}

/** Creates an empty database with the given owner, encoding and locale. */
export async function createDatabase(admin: pg.Client, name: string, p: DatabaseProps): Promise<void> {
  await admin.query(
    `CREATE DATABASE ${pg.escapeIdentifier(name)} WITH TEMPLATE template0 OWNER ${pg.escapeIdentifier(p.owner)}
       ENCODING ${pg.escapeLiteral(p.encoding)} LC_COLLATE ${pg.escapeLiteral(p.collate)} LC_CTYPE ${pg.escapeLiteral(p.ctype)}`,
  );
}

/** Creates an empty database with the owner, encoding and locale of `like` (which must exist). */
export async function createDatabaseLike(admin: pg.Client, name: string, like: string): Promise<void> {
  await createDatabase(admin, name, await databaseProps(admin, like));
}

export async function dropDatabase(admin: pg.Client, name: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
}

/**
 * Renames databases in one transaction, ending sessions on each source first (retried when a session
 * slips in between): either every rename happens or none does.
 */
export async function renameDatabases(admin: pg.Client, renames: Array<{ from: string; to: string }>, attempts = 5): Promise<void> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    for (const r of renames) await terminateConnections(admin, r.from);
    try {
      await admin.query('BEGIN');
      for (const r of renames) await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(r.from)} RENAME TO ${pg.escapeIdentifier(r.to)}`);
      await admin.query('COMMIT');
      return;
    } catch (err) {
      last = err;
      await admin.query('ROLLBACK').catch(() => {});
      if ((err as { code?: string }).code !== '55006') break; // object_in_use: a session reconnected; retry
      await new Promise((res) => setTimeout(res, 200 * (i + 1)));
    }
  }
  throw new OperationError(`could not rename ${renames.map((r) => `"${r.from}" → "${r.to}"`).join(', ')}: ${(last as Error)?.message ?? 'unknown error'}`);
}

/** Rows per table (`schema.table` or `table`, resolved with the default search path). */
export async function countRows(c: pg.Client, tables: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) {
    const ident = t.split('.').map((p) => pg.escapeIdentifier(p)).join('.');
    const r = await c.query<{ n: string }>(`SELECT count(*)::bigint AS n FROM ${ident}`);
    out[t] = Number(r.rows[0]?.n ?? 0);
  }
  return out;
}

/** Ordinary and partitioned tables outside the system schemas. */
export async function countTables(c: pg.Client): Promise<number> {
  const r = await c.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE cl.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
  );
  return Number(r.rows[0]?.n ?? 0);
}
