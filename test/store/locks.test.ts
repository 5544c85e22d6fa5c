import { useMigratedDatabase } from '../helpers/db.js';
import { withLock, isLocked } from '../../src/store/locks.js';

const state = useMigratedDatabase('bbt_locks');

test('work locks are exclusive across connections and released after use', async () => {
  let inside = 0;
  let maxInside = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const first = withLock(state.pool, 'backup', 'demo', async () => { inside++; maxInside = Math.max(maxInside, inside); await gate; inside--; return 'first'; });
  await new Promise((r) => setTimeout(r, 100));
  expect(await isLocked(state.pool, 'backup', 'demo')).toBe(true);
  const second = await withLock(state.pool, 'backup', 'demo', async () => 'second');
  expect(second).toEqual({ acquired: false });
  const waiting = withLock(state.pool, 'backup', 'demo', async () => { inside++; maxInside = Math.max(maxInside, inside); inside--; return 'waited'; }, { wait: true });
  release();
  expect(await first).toEqual({ acquired: true, value: 'first' });
  expect(await waiting).toEqual({ acquired: true, value: 'waited' });
  expect(maxInside).toBe(1);
  expect(await isLocked(state.pool, 'backup', 'demo')).toBe(false);
  expect(await withLock(state.pool, 'backup', 'other', async () => 1)).toEqual({ acquired: true, value: 1 });
});
