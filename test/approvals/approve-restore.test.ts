import { DEMO_CHANNEL, type Bot } from '../slack/harness.js';
import { FakeClock } from '../helpers/context.js';
import type { TestDatabase } from '../helpers/db.js';
import { listApprovals } from '../../src/store/approvals.js';
import { click, decided, newRequest, otherRequest, registersOf, shown, startApprovalBot } from '../slack/interactions.js';

/**
 * The "Approve" button of a restore request (approve_restore → src/approvals/approve-restore.ts): acknowledged at
 * once, a modal opened, then the request and the clicker checked from the state database and the config. A
 * refusal is shown in the modal and nothing is signed or decided.
 */
let bot: Bot & { other: TestDatabase };
const clock = new FakeClock(new Date());
beforeAll(async () => { bot = await startApprovalBot({ clock }); });
afterAll(async () => { await bot?.close(); });
beforeEach(() => clock.set(new Date()));

const approveClick = (value: string, userId: string, messageTs?: string, o: { userName?: string; channel?: string } = {}) =>
  click(bot, { actionId: 'approve_restore', value, userId, ...(messageTs ? { messageTs } : {}), ...o });

/** A request as just made: pending, no signature, only its request in the audit log. */
const untouched = { status: 'pending', decidedBy: null, meaning: null, signatures: [], audit: ['restore.requested'] };

test('the System Owner: acked at once, the modal shows the whole statement to sign (what the refusals are compared with)', async () => {
  const a = await newRequest(bot);
  const r = await approveClick(a.id, 'U0OWNER', a.slack_ts!);
  expect(r.status).toBe(200);
  expect(r.ms).toBeLessThan(3000);
  expect(r.view?.view.callback_id).toBe('approve_restore_modal');
  expect(shown(r.view)).toContain(`I, Sofía Owner, System Owner of demo, approve restoring the production database of demo from backup ${a.backup_file}`);
  expect(r.view!.view.submit).toBeDefined();
  expect(await registersOf(bot, a.id)).toEqual(untouched);
});

test.each([
  ['the IT Manager (a full restore needs the System Owner)', 'U0ITMGR', undefined],
  ['an operator', 'U0OPER', undefined],
  ['QA', 'U0QA', undefined],
  ['someone with no role', 'U0STRANGER', undefined],
  ['the System Owner of another client', 'U0OTHER', undefined],
  ['the IT Manager whose click claims the System Owner\'s name', 'U0ITMGR', 'Sofía Owner'],
])('wrong role: %s is told why in the modal (roles from the config); nothing signed or decided', async (_who, userId, userName) => {
  const a = await newRequest(bot);
  const r = await approveClick(a.id, userId, a.slack_ts!, userName ? { userName } : {});
  expect(r.status).toBe(200);
  expect(shown(r.view)).toContain(`only the System Owner of demo can approve a full production restore (SOP-001 9.1). Nothing was done.`);
  expect(r.view!.view.submit).toBeUndefined();
  expect(await registersOf(bot, a.id)).toEqual(untouched);
});

test.each([
  ['an unknown request number', '999999', 'there is no restore request #999999'],
  ['a value that is not a request number', "1; DROP TABLE approvals", 'there is no restore request #1; DROP TABLE approv. Nothing was done.'],
  ['an empty value', '', 'there is no restore request #. Nothing was done.'],
])('%s: refused in the modal; no request changes', async (_what, value, text) => {
  const before = await listApprovals(bot.pool);
  const r = await approveClick(value, 'U0OWNER');
  expect(shown(r.view)).toContain(text);
  expect(r.view!.view.submit).toBeUndefined();
  expect(await listApprovals(bot.pool)).toEqual(before);
});

test("a button value naming another client's request, clicked on this request's message: refused as forged; neither request changes", async () => {
  const a = await newRequest(bot);
  const b = await otherRequest(bot);
  // by the System Owner of demo, and by the System Owner of other: the message decides, not who clicks
  for (const userId of ['U0OWNER', 'U0OTHER']) {
    const r = await approveClick(b.id, userId, a.slack_ts!);
    expect(shown(r.view)).toContain(`this button does not belong to the message of request #${b.id}: refused as a forged interaction. Nothing was done.`);
  }
  // the same message in another channel is not that message either
  const moved = await approveClick(b.id, 'U0OTHER', b.slack_ts!, { channel: DEMO_CHANNEL });
  expect(shown(moved.view)).toContain('refused as a forged interaction');
  expect(await registersOf(bot, a.id)).toEqual(untouched);
  expect(await registersOf(bot, b.id)).toEqual(untouched);
});

test('four eyes: the requester may not approve their own request, even holding the System Owner role', async () => {
  const a = await newRequest(bot, { by: 'U0OPER2', byName: 'Otto Operator' });
  const r = await approveClick(a.id, 'U0OPER2', a.slack_ts!);
  expect(shown(r.view)).toContain('you requested this restore, so you cannot approve it (four eyes: another System Owner must approve). Nothing was done.');
  expect(await registersOf(bot, a.id)).toEqual(untouched);
});

test('an expired request: told it expired (and it is marked expired); nothing signed', async () => {
  const a = await newRequest(bot);
  clock.advance(25 * 3_600_000);
  const r = await approveClick(a.id, 'U0OWNER', a.slack_ts!);
  expect(shown(r.view)).toContain(`request #${a.id} expired at ${a.expires_at.toISOString()} (requests are valid for 24h); ask for a new one. Nothing was done.`);
  expect(await registersOf(bot, a.id)).toEqual({ ...untouched, status: 'expired' });
});

test('clicking again once decided: told it is already approved, by whom; still one signature', async () => {
  const a = await decided(bot, 'approved');
  const before = await registersOf(bot, a.id);
  expect(before).toMatchObject({ status: 'approved', signatures: [{ meaning: 'approved', signer: 'U0OWNER' }] });
  for (const userId of ['U0OWNER', 'U0OPER2']) {
    const r = await approveClick(a.id, userId, a.slack_ts!);
    expect(shown(r.view)).toContain(`request #${a.id} is already approved by Sofía Owner at ${a.decided_at!.toISOString()}; a decision is taken once. Nothing was done.`);
    expect(r.view!.view.submit).toBeUndefined();
  }
  expect(await registersOf(bot, a.id)).toEqual(before);
});

test('a forged click (wrong signing secret) is refused with 401; no modal opens', async () => {
  const a = await newRequest(bot);
  const { buttonClickPayload, interactivityBody, sendSigned } = await import('../slack/sign.js');
  const opened = bot.emu.callsTo('views.open').length;
  const res = await sendSigned(bot.eventsUrl, interactivityBody(buttonClickPayload({ actionId: 'approve_restore', value: a.id, userId: 'U0OWNER', channel: DEMO_CHANNEL, messageTs: a.slack_ts! })), { secret: 'forged' });
  expect(res.status).toBe(401);
  await bot.server.slack!.background.idle(10_000);
  expect(bot.emu.callsTo('views.open').length).toBe(opened);
  expect(await registersOf(bot, a.id)).toEqual(untouched);
});
