/**
 * The CLI's way through the shared limits (front-door-limits.ts) over several staging engines (docker.hosts):
 * waiting spans every engine's slots and is said once; --now takes the first engine at once, warning with the
 * slots taken on all of them, and writes the bypass to the audit log. Real PostgreSQL slots (advisory locks).
 */
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { frontDoorContext } from '../../src/operations/front-door-limits.js';
import { withAnySlot } from '../../src/store/slots.js';
import { listAudit } from '../../src/store/audit.js';
import { createPool, type Pool } from '../../src/store/db.js';

let state: TestDatabase;
let ctx: TestContext;
/** Another replica's sessions, holding the slots. */
let other: Pool;
const ENGINES = ['tcp://127.0.0.1:1', 'tcp://127.0.0.1:2'];
beforeAll(async () => {
  state = await createTestDatabase('bbt_frontdoor');
  ctx = await testContext(testConfig({ stateUrl: state.url }));
  other = createPool(state.url, { max: 4 });
});
afterAll(async () => { await other?.end(); await ctx?.close(); await state?.drop(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Holds every engine's one slot (restoreTest.maxConcurrent 1) from another session until `release`. */
async function holdAll(): Promise<{ release: () => Promise<void> }> {
  const releases: Array<() => void> = [];
  const held: Promise<unknown>[] = [];
  for (let i = 0; i < ENGINES.length; i++) {
    let got = false;
    held.push(withAnySlot(other, 'staging-engine', ENGINES, 1, () => { got = true; return new Promise<void>((r) => { releases.push(r); }); }));
    for (let t = 0; t < 100 && !got; t++) await sleep(20);
  }
  return { release: async () => { releases.forEach((r) => r()); await Promise.all(held); } };
}

test('wait: every engine busy → one waiting line naming both engines, then it runs on the engine that frees', async () => {
  const hold = await holdAll();
  const said: string[] = [];
  const fd = frontDoorContext(ctx, 'demo', { mode: 'wait', actor: 'ana', say: (l) => said.push(l) });
  let ran: string | undefined;
  const run = fd.ctx.store.withAnySlot('staging-engine', ENGINES, 1, async (key) => { ran = key; return key; }, { pollMs: 50 });
  await sleep(500);
  expect(ran).toBeUndefined();
  expect(said).toEqual([`waiting: all 1 slot(s) of each of the 2 Docker engines (${ENGINES.join(', ')}) are taken (restoreTest.maxConcurrent 1); it starts when one frees (--now bypasses the limit)`]);
  await hold.release();
  await run;
  expect(ENGINES).toContain(ran);
  expect(said[1]).toMatch(new RegExp(`^a slot for Docker engine ${ran!.replace(/[./]/g, '\\$&')} is free after \\d+\\.\\d s: starting$`));
  expect(fd.record).toMatchObject({ mode: 'wait', limit: 'restoreTest.maxConcurrent 1', key: ENGINES.join(', ') });
});

test('--now: runs at once on the first engine beside both taken slots, with the warning and the audit entry', async () => {
  const hold = await holdAll();
  try {
    const said: string[] = [];
    const fd = frontDoorContext(ctx, 'demo', { mode: 'now', actor: 'ana', say: (l) => said.push(l) });
    const ran = await fd.ctx.store.withAnySlot('staging-engine', ENGINES, 1, async (key) => key);
    expect(ran).toBe(ENGINES[0]);
    expect(said).toEqual([`warning: --now bypasses the work queue (0 piece(s) of work queued for the 2 Docker engines (${ENGINES.join(', ')})) and restoreTest.maxConcurrent 1 (2 of 2 slot(s) taken): it runs at once, alongside whatever already runs there; the client's own lock still holds`]);
    expect(fd.record).toMatchObject({ mode: 'now', bypassed: ['work queue', 'restoreTest.maxConcurrent'], slotsTaken: 2 });
    const audit = await listAudit(ctx.pool, { action: 'limits.bypassed' });
    expect(audit.map((a) => [a.actor, a.client, a.target])).toEqual([['ana', 'demo', `staging-engine:${ENGINES.join(',')}`]]);
  } finally {
    await hold.release();
  }
});
