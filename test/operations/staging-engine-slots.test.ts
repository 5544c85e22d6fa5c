/**
 * The slots behind docker.hosts (src/store/slots.ts withAnySlot, used by withStagingEngine): a free slot of any
 * engine, every engine's first slot before any engine's second, waiting (told once) when all are taken.
 * (Beside the restore test's engine choice rather than in test/store: the helper exists for it.)
 */
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { withAnySlot } from '../../src/store/slots.js';

let db: TestDatabase;
let pool: Pool;
beforeAll(async () => { db = await createTestDatabase('bbt_anyslot'); pool = createPool(db.url, { max: 10 }); });
afterAll(async () => { await pool?.end(); await db?.drop(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('spreads over the keys (a#0, b#0, a#1, b#1), then waits for whichever frees first', async () => {
  const got: string[] = [];
  const releases: Array<() => void> = [];
  const hold = (i: number, onWait?: () => void) => withAnySlot(pool, 'staging-engine', ['a', 'b'], 2, async (key) => {
    got[i] = key;
    await new Promise<void>((r) => { releases[i] = r; });
    return key;
  }, { pollMs: 50, onWait });
  const held = [];
  for (let i = 0; i < 4; i++) {
    held.push(hold(i));
    // One after the other, so the order is the spreading order.
    for (let t = 0; t < 100 && got[i] === undefined; t++) await sleep(20);
  }
  expect(got).toEqual(['a', 'b', 'a', 'b']);
  let waits = 0;
  const fifth = hold(4, () => { waits++; });
  await sleep(400);
  expect(got[4]).toBeUndefined();
  expect(waits).toBe(1);
  releases[1]!();
  await held[1];
  for (let t = 0; t < 100 && got[4] === undefined; t++) await sleep(20);
  expect(got[4]).toBe('b');
  for (const i of [0, 2, 3, 4]) releases[i]!();
  await Promise.all([...held, fifth]);
  expect(waits).toBe(1);
});

it('refuses an empty list of keys', async () => {
  await expect(withAnySlot(pool, 'staging-engine', [], 1, async () => 1)).rejects.toThrow(/no keys/);
});
