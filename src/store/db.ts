import pg from 'pg';
import { OperationError } from '../core/errors.js';
import { redactUrl } from '../core/redact.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export const SCHEMA = 'backup_bot';

/** Host, port and database of a connection URL, for error messages (never the password). */
function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    return `database "${decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default)'}" on ${u.hostname || 'localhost'}:${u.port || '5432'}`;
  } catch {
    return redactUrl(url);
  }
}

export function createPool(url: string, opts: { max?: number; applicationName?: string } = {}): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'backup-bot',
    connectionTimeoutMillis: 10_000,
    options: `-c search_path=${SCHEMA},public`,
  });
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => {});
  return pool;
}

/** Opens the pool and checks the connection, turning connection failures into a clear message. */
export async function connectState(url: string, opts: { max?: number } = {}): Promise<Pool> {
  const pool = createPool(url, opts);
  try {
    const c = await pool.connect();
    c.release();
    return pool;
  } catch (err) {
    await pool.end().catch(() => {});
    throw new OperationError(`cannot connect to the state ${describeDatabase(url)}: ${(err as Error).message}`);
  }
}

/** Creates the database named in `url` if it does not exist (quickstart and tests). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  try {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount) return false;
    try {
      await c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } catch (err) {
      if ((err as { code?: string }).code !== '42P04') throw err; // created meanwhile
      return false;
    }
    return true;
  } finally {
    await c.end();
  }
}

export async function withTransaction<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => { broken = err; }; // a connection dying mid-transaction must not crash the process
  c.on('error', onError);
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.off('error', onError);
    c.release(broken);
  }
}
