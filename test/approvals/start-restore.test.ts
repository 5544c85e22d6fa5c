import type { Bot } from '../slack/harness.js';
import { FakeClock } from '../helpers/context.js';
import { withPg, PG_ADMIN_URL, type TestDatabase } from '../helpers/db.js';
import { getApproval, type ApprovalRow } from '../../src/store/approvals.js';
import { listRuns } from '../../src/store/runs.js';
import { auditOf, click, decided, newRequest, otherRequest, registersOf, startApprovalBot } from '../slack/interactions.js';
import { tableChecksums } from '../operations/restore-fixtures.js';

/**
 * "Start restore" on an approved request (start_restore → src/approvals/start-restore.ts): only the requester, only
 * an approved request, once. A refusal comes back as an ephemeral message (response_url), is audited as
 * restore.start_refused, and nothing runs: no restore run, no restore.started, production untouched.
 */
let bot: Bot & { other: TestDatabase };
const clock = new FakeClock(new Date());
beforeAll(async () => { bot = await startApprovalBot({ clock }); });
afterAll(async () => { await bot?.close(); });
beforeEach(() => clock.set(new Date()));

const startClick = (value: string, userId: string, messageTs?: string) => click(bot, { actionId: 'start_restore', value, userId, ...(messageTs ? { messageTs } : {}) });
const restoreRuns = async () => (await listRuns(bot.pool, { kind: 'restore' })).length;

/** The refusal the user was shown: one ephemeral answer that leaves the request's message alone. */
function refusal(r: { status: number; answers: any[] }): string {
  expect(r.status).toBe(200);
  expect(r.answers).toHaveLength(1);
  expect(r.answers[0]).toMatchObject({ response_type: 'ephemeral', replace_original: false });
  return r.answers[0].text as string;
}

/** Nothing ran: the request's registers are as before, plus the audited refusal; production and the runs as they were. */
async function expectNothingRan(a: ApprovalRow, before: Awaited<ReturnType<typeof registersOf>>, prod: Record<string, string>, runs: number, actor: string): Promise<void> {
  expect(await registersOf(bot, a.id)).toEqual({ ...before, audit: [...before.audit, 'restore.start_refused'] });
  expect((await auditOf(bot, a.id, 'restore.start_refused')).at(-1)).toMatchObject({ actor });
  expect(await tableChecksums(bot.demo.url)).toEqual(prod);
  expect(await restoreRuns()).toBe(runs);
}

async function snapshot(a: ApprovalRow) {
  return { before: await registersOf(bot, a.id), prod: await tableChecksums(bot.demo.url), runs: await restoreRuns() };
}

test.each([
  ['the System Owner who approved it', 'U0OWNER'],
  ['another operator of demo', 'U0OPER2'],
  ['the operator of another client', 'U0OTHEROP'],
  ['someone with no role', 'U0STRANGER'],
])('started by someone other than the requester (%s): refused, saying who may; nothing runs', async (_who, userId) => {
  const a = await decided(bot, 'approved');
  const s = await snapshot(a);
  const text = refusal(await startClick(a.id, userId, a.slack_ts!));
  expect(text).toBe(`:warning: only the requester (Olga Operator) can start restore #${a.id}. Nothing was done.`);
  await expectNothingRan(a, s.before, s.prod, s.runs, userId);
  expect((await getApproval(bot.pool, a.id))!.status).toBe('approved');
});

test('a pending request (not approved yet): refused; nothing runs', async () => {
  const a = await newRequest(bot);
  const s = await snapshot(a);
  expect(refusal(await startClick(a.id, 'U0OPER', a.slack_ts!))).toBe(`:warning: restore #${a.id} is pending (waiting for the written approval); only an approved request can be started, once. Nothing was done.`);
  await expectNothingRan(a, s.before, s.prod, s.runs, 'U0OPER');
});

test('a rejected request: refused; nothing runs', async () => {
  const a = await decided(bot, 'rejected');
  const s = await snapshot(a);
  expect(s.before).toMatchObject({ status: 'rejected', signatures: [{ meaning: 'rejected', signer: 'U0OWNER' }] });
  expect(refusal(await startClick(a.id, 'U0OPER', a.slack_ts!))).toBe(`:warning: restore #${a.id} was rejected; it cannot be started. Nothing was done.`);
  await expectNothingRan(a, s.before, s.prod, s.runs, 'U0OPER');
});

test.each([
  ['an unknown request number', '999999', /^:warning: there is no restore request #999999\. Nothing was done\.$/],
  ['a value that is not a request number', '1 OR 1=1', /^:warning: .*approvalId/],
])('%s: refused; audited; nothing runs', async (_what, value, text) => {
  const runs = await restoreRuns();
  expect(refusal(await startClick(value, 'U0OPER'))).toMatch(text);
  expect((await auditOf(bot, value, 'restore.start_refused')).at(-1)).toMatchObject({ actor: 'U0OPER' });
  expect(await restoreRuns()).toBe(runs);
});

test("a button value naming another client's request, clicked on this request's message: refused; neither runs", async () => {
  const a = await decided(bot, 'approved');
  const b = await otherRequest(bot);
  const s = await snapshot(a);
  const bBefore = await registersOf(bot, b.id);
  expect(refusal(await startClick(b.id, 'U0OTHEROP', a.slack_ts!))).toBe(`:warning: this button does not belong to the message of request #${b.id}: refused. Nothing was done.`);
  expect(await registersOf(bot, b.id)).toEqual({ ...bBefore, audit: [...bBefore.audit, 'restore.start_refused'] });
  expect(await registersOf(bot, a.id)).toEqual(s.before);
  expect(await restoreRuns()).toBe(s.runs);
});

test('an approval older than approvals.ttl: refused, asking for a new request; nothing runs', async () => {
  const a = await decided(bot, 'approved');
  clock.advance(25 * 3_600_000);
  const s = await snapshot(a);
  const approved = (await registersOf(bot, a.id));
  expect(approved.status).toBe('approved');
  expect(refusal(await startClick(a.id, 'U0OPER', a.slack_ts!))).toMatch(new RegExp(`^:warning: the approval of restore #${a.id} was given at .* and expired after approvals.ttl \\(24h\\); request the restore again\\. Nothing was done\\.$`));
  await expectNothingRan(a, s.before, s.prod, s.runs, 'U0OPER');
});

test('clicking twice: the requester starts it once (the runbook runs to completion); the second click does nothing and says so', async () => {
  const a = await decided(bot, 'approved');
  const first = await startClick(a.id, 'U0OPER', a.slack_ts!);
  expect(first.status).toBe(200);
  expect(first.ms).toBeLessThan(3000);
  expect(first.answers).toEqual([]);
  const done = (await getApproval(bot.pool, a.id))!;
  expect(done).toMatchObject({ status: 'completed', started_by: 'U0OPER' });
  try {
    const s = await snapshot(a);
    expect(s.before.audit.filter((x) => x === 'restore.started')).toHaveLength(1);
    expect(refusal(await startClick(a.id, 'U0OPER', a.slack_ts!))).toBe(`:warning: restore #${a.id} is completed: it was already started (the audit log records it); an approval is used once. Nothing was done.`);
    await expectNothingRan(a, s.before, s.prod, s.runs, 'U0OPER');
  } finally {
    if (done.old_database) await withPg(PG_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS "${done.old_database}" WITH (FORCE)`));
  }
});
