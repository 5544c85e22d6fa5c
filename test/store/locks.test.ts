import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { connectState, type Pool } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { withLock, isLocked } from '../../src/store/locks.js';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase('bbt_locks');
  pool = await connectState(db.url);
  await migrate(pool);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

test('work locks are exclusive across connections and released after use', async () => {
  let inside = 0;
  let maxInside = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const first = withLock(pool, 'backup', 'demo', async () => { inside++; maxInside = Math.max(maxInside, inside); await gate; inside--; return 'first'; });
  await new Promise((r) => setTimeout(r, 100));
  expect(await isLocked(pool, 'backup', 'demo')).toBe(true);
  const second = await withLock(pool, 'backup', 'demo', async () => 'second');
  expect(second).toEqual({ acquired: false });
  const waiting = withLock(pool, 'backup', 'demo', async () => { inside++; maxInside = Math.max(maxInside, inside); inside--; return 'waited'; }, { wait: true });
  release();
  expect(await first).toEqual({ acquired: true, value: 'first' });
  expect(await waiting).toEqual({ acquired: true, value: 'waited' });
  expect(maxInside).toBe(1);
  expect(await isLocked(pool, 'backup', 'demo')).toBe(false);
  expect(await withLock(pool, 'backup', 'other', async () => 1)).toEqual({ acquired: true, value: 1 });
});
