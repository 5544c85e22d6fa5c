/**
 * `/backup status` and the digest read the same truth (issue 5): the next restore test due and whether
 * it is overdue come from one rule. Before, /backup status looked only at the current quarter, so a
 * quarter missed entirely (Q2 with no test, now Q3) was "not done yet" there and overdue in the digest.
 */
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { FakeClock, testContext } from '../helpers/context.js';
import { clientStatus } from '../../src/operations/client-status.js';
import { buildDigest } from '../../src/operations/digest.js';
import { insertRestoreTest } from '../../src/store/restore-test-register.js';
import { renderBackupStatus } from '../../src/notify/slack/render/backup-status.js';

let state: TestDatabase;
let ctx: Awaited<ReturnType<typeof testContext>>;
const clock = new FakeClock(new Date('2026-02-10T00:00:00Z'));

beforeAll(async () => {
  state = await createTestDatabase('bbt_status');
  // The due rules alone: a passing test counts without QA's signature here (requireQa: qa-loop.test.ts).
  ctx = await testContext(testConfig({ stateUrl: state.url, client: { restoreTest: { requireQa: false } } }), { clock });
});
afterAll(async () => {
  await ctx?.close();
  await state?.drop();
});

async function both() {
  const s = await clientStatus(ctx, 'demo');
  const [d] = (await buildDigest(ctx, { clients: ['demo'] })).clients;
  expect(s.due?.due.toISOString() ?? null).toBe(d!.restoreTest.nextDue);
  expect(s.due?.overdue ?? false).toBe(d!.restoreTest.overdue);
  expect(s.doneThisQuarter).toBe(d!.restoreTest.thisQuarterDone);
  return { s, text: renderBackupStatus([s], clock.now(), 'UTC').text };
}

test('quarterly months (3, 6, 9, 12): due, overdue, done, a missed quarter — status and digest agree', async () => {
  let r = await both();
  expect(r.s.due).toEqual({ due: new Date('2026-03-01T05:00:00Z'), quarter: '2026-Q1', overdue: false });
  expect(r.text).toContain("This quarter's (2026-Q1) restore test is not done yet; due 1 March 2026");

  clock.set('2026-03-10T00:00:00Z');
  r = await both();
  expect(r.s.due).toMatchObject({ quarter: '2026-Q1', overdue: true });
  expect(r.text).toContain(":red_circle: This quarter's (2026-Q1) restore test is due since 1 March 2026 and not done yet");

  await insertRestoreTest(ctx.pool, { client: 'demo', testedAt: new Date('2026-03-11T10:00:00Z'), executedBy: 'U0OPER', result: 'OK' });
  clock.set('2026-03-12T00:00:00Z');
  r = await both();
  expect(r.s.due).toEqual({ due: new Date('2026-06-01T05:00:00Z'), quarter: '2026-Q2', overdue: false });
  expect(r.text).toContain(":white_check_mark: This quarter's (2026-Q1) restore test is done; next due 1 June 2026");

  // Q2 passes without a test; in Q3 the missed Q2 test is overdue (it used to read "not done yet; due 1 September").
  clock.set('2026-08-05T00:00:00Z');
  r = await both();
  expect(r.s.due).toMatchObject({ quarter: '2026-Q2', overdue: true });
  expect(r.text).toContain(':red_circle: The 2026-Q2 restore test is due since 1 June 2026 and not done yet');
});
