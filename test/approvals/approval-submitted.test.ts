import type { Bot } from '../slack/harness.js';
import { FakeClock } from '../helpers/context.js';
import type { TestDatabase } from '../helpers/db.js';
import { decisionVerifies } from '../helpers/evidence.js';
import { getApproval, type ApprovalRow } from '../../src/store/approvals.js';
import { approvalValues, auditOf, click, newRequest, registersOf, shown, startApprovalBot, submit } from '../slack/interactions.js';

/**
 * The signing modal of an approval (approve_restore_modal → src/approvals/approval-submitted.ts). What can be
 * refused from the form alone (the client's name mistyped, the statement not ticked, a form that is not ours) is
 * refused inline, nothing else happening; everything else is acknowledged with a "signing" view and decided by the
 * server from the state database and the config, the outcome shown in the modal. A refusal signs nothing.
 */
let bot: Bot & { other: TestDatabase };
const clock = new FakeClock(new Date());
beforeAll(async () => { bot = await startApprovalBot({ clock }); });
afterAll(async () => { await bot?.close(); });
beforeEach(() => clock.set(new Date()));

const untouched = { status: 'pending', decidedBy: null, meaning: null, signatures: [], audit: ['restore.requested'] };

/** The modal the System Owner's click opens for this request (its id and private_metadata, as Slack returns them). */
async function ownerModal(a: ApprovalRow): Promise<{ id: string; metadata: string }> {
  const r = await click(bot, { actionId: 'approve_restore', value: a.id, userId: 'U0OWNER', messageTs: a.slack_ts! });
  expect(r.view?.view.callback_id).toBe('approve_restore_modal');
  return { id: r.view!.id, metadata: r.view!.view.private_metadata };
}

const send = (userId: string, view: { id: string; metadata: string }, values = approvalValues('demo')) =>
  submit(bot, { userId, viewId: view.id, callbackId: 'approve_restore_modal', metadata: view.metadata, values });

test.each([
  ['a near miss', 'dmo'],
  ['another case', 'Demo'],
  ['nothing', ''],
  ['another client', 'other'],
])("the client's name mistyped (%s): refused inline, saying what to type; nothing signed, nothing audited", async (_what, typed) => {
  const a = await newRequest(bot);
  const modal = await ownerModal(a);
  const r = await send('U0OWNER', modal, approvalValues(typed));
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ response_action: 'errors', errors: { confirm_client: 'To approve, type the client\'s name exactly: "demo". Nothing was signed.' } });
  expect(r.outcome).toBeUndefined();
  expect(await registersOf(bot, a.id)).toEqual(untouched);
});

test('the statement not ticked: refused inline; nothing signed', async () => {
  const a = await newRequest(bot);
  const r = await send('U0OWNER', await ownerModal(a), approvalValues('demo', false));
  expect(r.json).toEqual({ response_action: 'errors', errors: { statement: 'To approve, tick the statement to sign it. Nothing was signed.' } });
  expect(await registersOf(bot, a.id)).toEqual(untouched);
});

test.each([
  ['no metadata', ''],
  ['metadata that is not JSON', 'approve #1'],
  ['a request number that is not one', JSON.stringify({ approvalId: '1 OR 1=1', client: 'demo' })],
])('a form that is not an approval of this bot (%s): refused inline', async (_what, metadata) => {
  const a = await newRequest(bot);
  const r = await send('U0OWNER', { id: 'V0NOTOURS', metadata });
  expect(r.json).toEqual({ response_action: 'errors', errors: { confirm_client: 'This form is not a restore approval of this bot. Nothing was signed.' } });
  expect(await registersOf(bot, a.id)).toEqual(untouched);
});

test.each([
  ['the IT Manager', 'U0ITMGR'],
  ['an operator', 'U0OPER'],
  ['someone with no role', 'U0STRANGER'],
  ['the System Owner of another client', 'U0OTHER'],
])('wrong role: a well-formed submission by %s (a modal never shown to them) is refused by the server; audited; nothing signed', async (_who, userId) => {
  const a = await newRequest(bot);
  const r = await send(userId, { id: `V0FORGED${userId}`, metadata: JSON.stringify({ approvalId: a.id, client: 'demo' }) });
  expect(r.json).toMatchObject({ response_action: 'update' });
  expect(shown(r.outcome)).toContain('Not signed: only the System Owner of demo can approve a full production restore (SOP-001 9.1). Nothing was done.');
  const reg = await registersOf(bot, a.id);
  expect(reg).toEqual({ ...untouched, audit: ['restore.requested', 'restore.decision_refused'] });
  expect(await auditOf(bot, a.id, 'restore.decision_refused')).toEqual([expect.objectContaining({ actor: userId, details: expect.objectContaining({ missingRole: 'systemOwners' }) })]);
});

test("metadata naming another client than the request's: refused as forged; audited; nothing signed", async () => {
  const a = await newRequest(bot);
  const r = await send('U0OWNER', { id: 'V0OTHERCLIENT', metadata: JSON.stringify({ approvalId: a.id, client: 'other' }) }, approvalValues('other'));
  expect(shown(r.outcome)).toContain(`Not signed: this interaction names client \\"other\\" but request #${a.id} is for demo: refused as a forged or stale interaction. Nothing was done.`);
  expect(await registersOf(bot, a.id)).toEqual({ ...untouched, audit: ['restore.requested', 'restore.decision_refused'] });
  expect(await auditOf(bot, a.id, 'restore.decision_refused')).toEqual([expect.objectContaining({ actor: 'U0OWNER', details: expect.objectContaining({ forged: 'client' }) })]);
});

test('an unknown request number in the metadata: refused; audited under that number', async () => {
  const r = await send('U0OWNER', { id: 'V0UNKNOWN', metadata: JSON.stringify({ approvalId: '999999', client: 'demo' }) });
  expect(shown(r.outcome)).toContain('Not signed: there is no restore request #999999. Nothing was done.');
  expect(await registersOf(bot, '999999')).toEqual({ status: undefined, decidedBy: null, meaning: null, signatures: [], audit: ['restore.decision_refused'] });
});

test('four eyes: the requester, also a System Owner, submitting their own approval is refused; audited', async () => {
  const a = await newRequest(bot, { by: 'U0OPER2', byName: 'Otto Operator' });
  const r = await send('U0OPER2', { id: 'V0OWNREQ', metadata: JSON.stringify({ approvalId: a.id, client: 'demo' }) });
  expect(shown(r.outcome)).toContain('Not signed: you requested this restore, so you cannot approve it (four eyes: another System Owner must approve). Nothing was done.');
  expect(await registersOf(bot, a.id)).toEqual({ ...untouched, audit: ['restore.requested', 'restore.decision_refused'] });
  expect((await auditOf(bot, a.id, 'restore.decision_refused'))[0]!.details).toMatchObject({ fourEyes: true });
});

test('the request expired while the modal was open: refused; the request is marked expired; nothing signed', async () => {
  const a = await newRequest(bot);
  const modal = await ownerModal(a);
  clock.advance(25 * 3_600_000);
  const r = await send('U0OWNER', modal);
  expect(shown(r.outcome)).toContain(`Not signed: request #${a.id} expired at ${a.expires_at.toISOString()}`);
  expect(await registersOf(bot, a.id)).toEqual({ ...untouched, status: 'expired', audit: ['restore.requested', 'restore.decision_refused'] });
});

test('submitted twice: the first signs; the second does nothing and says the request is already approved', async () => {
  const a = await newRequest(bot);
  const modal = await ownerModal(a);
  const first = await send('U0OWNER', modal);
  expect(shown(first.outcome)).toContain(`You approved restore #${a.id} of *demo*`);
  const approved = (await getApproval(bot.pool, a.id))!;
  expect(approved).toMatchObject({ status: 'approved', decided_by: 'U0OWNER', decided_by_name: 'Sofía Owner', meaning: 'approved' });
  expect(await decisionVerifies(bot.server.ctx, approved)).toBe(true);
  const second = await send('U0OWNER', modal);
  expect(shown(second.outcome)).toContain(`Not signed: request #${a.id} is already approved by Sofía Owner at ${approved.decided_at!.toISOString()}; a decision is taken once. Nothing was done.`);
  expect(await registersOf(bot, a.id)).toEqual({
    status: 'approved', decidedBy: 'U0OWNER', meaning: 'approved', signatures: [{ meaning: 'approved', signer: 'U0OWNER' }],
    audit: ['restore.requested', 'restore.approved', 'restore.decision_refused'],
  });
  // the request's message lost its Approve/Reject buttons and offers Start
  const msg = bot.emu.messages.get(`${approved.slack_channel}:${approved.slack_ts}`)!;
  expect(JSON.stringify(msg.blocks)).not.toContain('approve_restore');
  expect(JSON.stringify(msg.blocks)).toContain('start_restore');
});
