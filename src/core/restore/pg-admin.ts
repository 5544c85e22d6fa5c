import pg from 'pg';
import type { DbTarget } from '../db-url.js';
import { OperationError } from '../errors.js';

/**
 * Database-level mechanics of a production restore on a PostgreSQL server: connections to the server's
 * maintenance database, terminating sessions, creating a database like another one, and the atomic swap
 * (two renames in one transaction).
 */

const MAX_IDENT = 63;

function clientConfig(t: DbTarget, database = t.database): pg.ClientConfig {
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

/**
 * What CREATE DATABASE fixes and a later ALTER cannot change in place: owner (alterable, but needed at create
 * so the restored objects can be owned), encoding, locale (provider, collate, ctype, ICU locale and rules)
 * and tablespace. The optional fields are absent on servers that do not have them (PostgreSQL < 15 / 16).
 */
export interface DatabaseProps {
  owner: string;
  encoding: string;
  collate: string;
  ctype: string;
  /** PostgreSQL 15+: `libc`, `icu` (17+: `builtin`). */
  localeProvider?: string;
  /** The ICU (15-16: daticulocale) or builtin/ICU (17+: datlocale) locale; null for libc. */
  locale?: string | null;
  /** PostgreSQL 16+: ICU tailoring rules. */
  icuRules?: string | null;
  tablespace?: string;
}

const PROVIDERS: Record<string, string> = { c: 'libc', i: 'icu', b: 'builtin' };

export async function databaseProps(admin: pg.Client, name: string): Promise<DatabaseProps> {
  // to_jsonb(d): the locale columns differ between major versions (daticulocale → datlocale in 17).
  const r = await admin.query<{ owner: string; encoding: string; collate: string; ctype: string; tablespace: string; raw: Record<string, unknown> }>(
    `SELECT pg_get_userbyid(d.datdba) AS owner, pg_encoding_to_char(d.encoding) AS encoding, d.datcollate AS collate, d.datctype AS ctype,
            t.spcname AS tablespace, to_jsonb(d) AS raw
       FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = $1`,
    [name],
  );
  const p = r.rows[0];
  if (!p) throw new OperationError(`database "${name}" does not exist on the server`);
  const out: DatabaseProps = { owner: p.owner, encoding: p.encoding, collate: p.collate, ctype: p.ctype, tablespace: p.tablespace };
  const provider = p.raw.datlocprovider;
  if (typeof provider === 'string') {
    out.localeProvider = PROVIDERS[provider] ?? provider;
    const loc = p.raw.datlocale ?? p.raw.daticulocale;
    out.locale = typeof loc === 'string' ? loc : null;
  }
  if ('daticurules' in p.raw) out.icuRules = typeof p.raw.daticurules === 'string' ? p.raw.daticurules : null;
  return out;
}

/**
 * Creates an empty database with the given owner, encoding, locale (and locale provider) and tablespace.
 * CONNECTION LIMIT, ALLOW_CONNECTIONS, IS_TEMPLATE, grants, settings and the comment are not set here:
 * applyDatabaseSettings (pg-database-props.ts) sets them after the data is loaded (a database setting such
 * as statement_timeout or default_transaction_read_only would otherwise apply to the load itself).
 */
export async function createDatabase(admin: pg.Client, name: string, p: DatabaseProps): Promise<void> {
  const L = (v: string) => pg.escapeLiteral(v);
  let locale = '';
  if (p.localeProvider && p.localeProvider !== 'libc') {
    locale = ` LOCALE_PROVIDER ${L(p.localeProvider)}`;
    if (p.locale) locale += p.localeProvider === 'builtin' ? ` BUILTIN_LOCALE ${L(p.locale)}` : ` ICU_LOCALE ${L(p.locale)}`;
    if (p.icuRules) locale += ` ICU_RULES ${L(p.icuRules)}`;
  }
  await admin.query(
    `CREATE DATABASE ${pg.escapeIdentifier(name)} WITH TEMPLATE template0 OWNER ${pg.escapeIdentifier(p.owner)}
       ENCODING ${L(p.encoding)} LC_COLLATE ${L(p.collate)} LC_CTYPE ${L(p.ctype)}${locale}${p.tablespace ? ` TABLESPACE ${pg.escapeIdentifier(p.tablespace)}` : ''}`,
  );
}

/** Creates an empty database with the owner, encoding, locale and tablespace of `like` (which must exist). */
export async function createDatabaseLike(admin: pg.Client, name: string, like: string): Promise<void> {
  await createDatabase(admin, name, await databaseProps(admin, like));
}

/** Drops a database if it exists (also one marked IS_TEMPLATE, which DROP DATABASE refuses). */
export async function dropDatabase(admin: pg.Client, name: string): Promise<void> {
  const t = await admin.query<{ tpl: boolean }>('SELECT datistemplate AS tpl FROM pg_database WHERE datname = $1', [name]);
  if (t.rows[0]?.tpl) await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} WITH IS_TEMPLATE false`);
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
  // The database's own settings apply to this session too (production's `ALTER DATABASE … SET
  // statement_timeout = '5s'` once they are re-applied): counting a large table must not hit them.
  await c.query('SET statement_timeout = 0');
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
