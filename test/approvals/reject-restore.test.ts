import type { Bot } from '../slack/harness.js';
import { FakeClock } from '../helpers/context.js';
import type { TestDatabase } from '../helpers/db.js';
import { decisionVerifies } from '../helpers/evidence.js';
import { getApproval, listApprovals, type ApprovalRow } from '../../src/store/approvals.js';
import { auditOf, click, decided, newRequest, otherRequest, registersOf, shown, startApprovalBot, submit } from '../slack/interactions.js';

/**
 * "Reject" on a restore request and its modal (reject_restore / reject_restore_modal → src/approvals/reject-restore.ts):
 * the button opens a modal at once, then checks the request and the clicker; the rejection, with its reason, is
 * signed like an approval. A refusal is shown in the modal and changes nothing.
 */
let bot: Bot & { other: TestDatabase };
const clock = new FakeClock(new Date());
beforeAll(async () => { bot = await startApprovalBot({ clock }); });
afterAll(async () => { await bot?.close(); });
beforeEach(() => clock.set(new Date()));

const untouched = { status: 'pending', decidedBy: null, meaning: null, signatures: [], audit: ['restore.requested'] };
const rejectClick = (value: string, userId: string, messageTs?: string) => click(bot, { actionId: 'reject_restore', value, userId, ...(messageTs ? { messageTs } : {}) });
const reason = (text: string | null) => ({ reason: { value: { type: 'plain_text_input', value: text } } });
const send = (userId: string, view: { id: string; metadata: string }, text: string | null = 'the import was fixed in place') =>
  submit(bot, { userId, viewId: view.id, callbackId: 'reject_restore_modal', metadata: view.metadata, values: reason(text) });

async function ownerModal(a: ApprovalRow): Promise<{ id: string; metadata: string }> {
  const r = await rejectClick(a.id, 'U0OWNER', a.slack_ts!);
  expect(r.view?.view.callback_id).toBe('reject_restore_modal');
  return { id: r.view!.id, metadata: r.view!.view.private_metadata };
}

test('the System Owner rejects with a reason: signed (meaning rejected), audited, the message loses its buttons', async () => {
  const a = await newRequest(bot);
  const click1 = await rejectClick(a.id, 'U0OWNER', a.slack_ts!);
  expect(click1.ms).toBeLessThan(3000);
  expect(shown(click1.view)).toContain(`Rejecting the production restore request #${a.id} of *demo*`);
  const r = await send('U0OWNER', { id: click1.view!.id, metadata: click1.view!.view.private_metadata });
  expect(r.json).toMatchObject({ response_action: 'update' });
  expect(shown(r.outcome)).toContain(`You rejected restore #${a.id} of *demo*; your signed reason is recorded.`);
  const row = (await getApproval(bot.pool, a.id))!;
  expect(row).toMatchObject({ status: 'rejected', decided_by: 'U0OWNER', meaning: 'rejected' });
  expect(await decisionVerifies(bot.server.ctx, row)).toBe(true);
  expect(await registersOf(bot, a.id)).toEqual({ status: 'rejected', decidedBy: 'U0OWNER', meaning: 'rejected', signatures: [{ meaning: 'rejected', signer: 'U0OWNER' }], audit: ['restore.requested', 'restore.rejected'] });
  expect((await auditOf(bot, a.id, 'restore.rejected'))[0]!.reason).toBe('the import was fixed in place');
  const msg = bot.emu.messages.get(`${row.slack_channel}:${row.slack_ts}`)!;
  expect(JSON.stringify(msg.blocks)).not.toMatch(/approve_restore|reject_restore|start_restore/);
});

test.each([
  ['the IT Manager', 'U0ITMGR'],
  ['an operator', 'U0OPER'],
  ['QA', 'U0QA'],
  ['someone with no role', 'U0STRANGER'],
  ['the System Owner of another client', 'U0OTHER'],
])('wrong role on the button: %s is told why in the modal; nothing changes', async (_who, userId) => {
  const a = await newRequest(bot);
  const r = await rejectClick(a.id, userId, a.slack_ts!);
  expect(shown(r.view)).toContain('only the System Owner of demo can reject a full production restore (SOP-001 9.1). Nothing was done.');
  expect(r.view!.view.submit).toBeUndefined();
  expect(await registersOf(bot, a.id)).toEqual(untouched);
});

test('wrong role on a forged submission (a modal never shown to them): refused by the server; audited; nothing signed', async () => {
  const a = await newRequest(bot);
  const r = await send('U0ITMGR', { id: 'V0FORGEDREJ', metadata: JSON.stringify({ approvalId: a.id, client: 'demo' }) });
  expect(shown(r.outcome)).toContain('Not recorded: only the System Owner of demo can reject a full production restore');
  expect(await registersOf(bot, a.id)).toEqual({ ...untouched, audit: ['restore.requested', 'restore.decision_refused'] });
  expect(await auditOf(bot, a.id, 'restore.decision_refused')).toEqual([expect.objectContaining({ actor: 'U0ITMGR', details: expect.objectContaining({ meaning: 'rejected', missingRole: 'systemOwners' }) })]);
});

test.each([
  ['an unknown request number', '999999', 'there is no restore request #999999. Nothing was done.'],
  ['a value that is not a request number', 'all', 'there is no restore request #all. Nothing was done.'],
])('%s on the button: refused in the modal; no request changes', async (_what, value, text) => {
  const before = await listApprovals(bot.pool);
  const r = await rejectClick(value, 'U0OWNER');
  expect(shown(r.view)).toContain(text);
  expect(await listApprovals(bot.pool)).toEqual(before);
});

test("a button value naming another client's request on this request's message, or metadata naming another client: refused as forged", async () => {
  const a = await newRequest(bot);
  const b = await otherRequest(bot);
  const r = await rejectClick(b.id, 'U0OTHER', a.slack_ts!);
  expect(shown(r.view)).toContain(`this button does not belong to the message of request #${b.id}: refused as a forged interaction. Nothing was done.`);
  const s = await send('U0OWNER', { id: 'V0REJOTHER', metadata: JSON.stringify({ approvalId: a.id, client: 'other' }) });
  expect(shown(s.outcome)).toContain(`Not recorded: this interaction names client \\"other\\" but request #${a.id} is for demo: refused as a forged or stale interaction.`);
  expect(await registersOf(bot, a.id)).toEqual({ ...untouched, audit: ['restore.requested', 'restore.decision_refused'] });
  expect(await registersOf(bot, b.id)).toEqual(untouched);
});

test.each([
  ['no reason', null, 'A rejection needs a reason.'],
  ['only spaces', '   ', 'A rejection needs a reason.'],
])('a rejection with %s: refused inline; nothing recorded', async (_what, text, error) => {
  const a = await newRequest(bot);
  const r = await send('U0OWNER', await ownerModal(a), text);
  expect(r.json).toEqual({ response_action: 'errors', errors: { reason: error } });
  expect(r.outcome).toBeUndefined();
  expect(await registersOf(bot, a.id)).toEqual(untouched);
});

test('a form that is not a rejection of this bot: refused inline', async () => {
  const a = await newRequest(bot);
  const r = await send('U0OWNER', { id: 'V0NOTOURS', metadata: '{"approvalId":"x"}' });
  expect(r.json).toEqual({ response_action: 'errors', errors: { reason: 'This form is not a restore rejection of this bot.' } });
  expect(await registersOf(bot, a.id)).toEqual(untouched);
});

test('an expired request: the button says it expired; the request is marked expired; nothing signed', async () => {
  const a = await newRequest(bot);
  clock.advance(25 * 3_600_000);
  const r = await rejectClick(a.id, 'U0OWNER', a.slack_ts!);
  expect(shown(r.view)).toContain(`request #${a.id} expired at ${a.expires_at.toISOString()}`);
  expect(await registersOf(bot, a.id)).toEqual({ ...untouched, status: 'expired' });
});

test('clicking twice: Reject (or Approve) on a decided request says it is already decided; the second submission signs nothing', async () => {
  const a = await newRequest(bot);
  const modal = await ownerModal(a);
  expect(shown((await send('U0OWNER', modal)).outcome)).toContain('You rejected restore');
  const row = (await getApproval(bot.pool, a.id))!;
  const again = await send('U0OWNER', modal, 'once more');
  expect(shown(again.outcome)).toContain(`Not recorded: request #${a.id} is already rejected by Sofía Owner at ${row.decided_at!.toISOString()}; a decision is taken once.`);
  for (const actionId of ['reject_restore', 'approve_restore']) {
    const r = await click(bot, { actionId, value: a.id, userId: 'U0OWNER', messageTs: a.slack_ts! });
    expect(shown(r.view)).toContain(`request #${a.id} is already rejected by Sofía Owner`);
  }
  expect(await registersOf(bot, a.id)).toEqual({
    status: 'rejected', decidedBy: 'U0OWNER', meaning: 'rejected', signatures: [{ meaning: 'rejected', signer: 'U0OWNER' }],
    audit: ['restore.requested', 'restore.rejected', 'restore.decision_refused'],
  });
  // an approved request cannot be rejected afterwards either
  const b = await decided(bot, 'approved');
  expect(shown((await rejectClick(b.id, 'U0OWNER', b.slack_ts!)).view)).toContain(`request #${b.id} is already approved by Sofía Owner`);
  expect((await registersOf(bot, b.id)).signatures).toEqual([{ meaning: 'approved', signer: 'U0OWNER' }]);
});
