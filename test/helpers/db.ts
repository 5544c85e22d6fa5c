import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from '@jest/globals';
import pg from 'pg';
import { connectState, type Pool } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase { name: string; url: string; drop(): Promise<void> }

function urlFor(name: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh PostgreSQL database for one test file; `drop()` removes it (terminating leftover sessions). */
export async function createTestDatabase(prefix = 'bbt'): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  return { name, url: urlFor(name), drop: () => dropDatabase(name) };
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/**
 * A fresh state database with every migration applied and a pool on it, for the test file that calls this at its
 * top level: made in beforeAll, the pool ended and the database dropped in afterAll. Read `.pool` and `.db`
 * inside the tests (they exist once beforeAll has run).
 */
export function useMigratedDatabase(prefix: string): { readonly db: TestDatabase; readonly pool: Pool } {
  let db: TestDatabase | undefined;
  let pool: Pool | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(prefix);
    pool = await connectState(db.url);
    await migrate(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`useMigratedDatabase('${prefix}'): ${what} is read before beforeAll made it`);
    return v;
  };
  return { get db() { return ready(db, 'db'); }, get pool() { return ready(pool, 'pool'); } };
}

export async function withPg<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * What a database administrator can do as the superuser: the statement runs with triggers switched off
 * (session_replication_role = replica), so even the append-only evidence tables can be changed. Tests use it to
 * set up odd states and to show that such edits are detected.
 */
export async function asSuperuser(pool: { connect(): Promise<pg.PoolClient> }, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL session_replication_role = replica');
    const r = await c.query(sql, params);
    await c.query('COMMIT');
    return r;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}
