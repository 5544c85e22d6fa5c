import { afterAll, beforeAll, expect, test } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { withSlot } from '../../src/store/slots.js';

/** The counting semaphore behind workers.perDatabaseHost and restoreTest.maxConcurrent, on a real state database. */
let db: TestDatabase;
let pool: Pool;
beforeAll(async () => { db = await createTestDatabase('bbt_slots'); pool = createPool(db.url, { max: 8 }); });
afterAll(async () => { await pool?.end(); await db?.drop(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function overlap(limit: number, n: number): Promise<{ max: number; waited: number }> {
  let now = 0;
  let max = 0;
  let waited = 0;
  await Promise.all(Array.from({ length: n }, () => withSlot(pool, 'dump-server', `test:${limit}`, limit, async () => {
    now++; max = Math.max(max, now);
    await sleep(300);
    now--;
  }, { pollMs: 50, onWait: () => { waited++; } })));
  return { max, waited };
}

test('limit 1: one at a time; the others are told they wait', async () => {
  expect(await overlap(1, 4)).toEqual({ max: 1, waited: 3 });
});

test('limit 2: two at a time, never three', async () => {
  const r = await overlap(2, 5);
  expect(r.max).toBe(2);
  expect(r.waited).toBe(3);
});

test('a holder whose connection dies (a killed replica) frees its slot', async () => {
  const other = new pg.Client({ connectionString: db.url });
  await other.connect();
  // The same lock another process would hold: LOCK_NS_WORK, hashtext('dump-server:host:5432#0').
  await other.query(`SELECT pg_advisory_lock(${0x6b6b_0003}, hashtext('dump-server:host:5432#0'))`);
  let ran = false;
  const waiting = withSlot(pool, 'dump-server', 'host:5432', 1, async () => { ran = true; }, { pollMs: 50 });
  await sleep(500);
  expect(ran).toBe(false);
  await other.query('SELECT pg_terminate_backend(pg_backend_pid())').catch(() => undefined);
  await other.end().catch(() => undefined);
  await waiting;
  expect(ran).toBe(true);
});

test('an aborted waiter gives up without running', async () => {
  const ac = new AbortController();
  let ran = 0;
  const holder = withSlot(pool, 'staging-engine', 'local', 1, () => sleep(600));
  await sleep(100);
  const waiter = withSlot(pool, 'staging-engine', 'local', 1, async () => { ran++; }, { pollMs: 50, signal: ac.signal });
  ac.abort(new Error('cancelled: the bot is stopping'));
  await expect(waiter).rejects.toThrow('cancelled: the bot is stopping');
  await holder;
  expect(ran).toBe(0);
});
