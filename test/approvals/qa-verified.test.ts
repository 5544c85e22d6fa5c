import { startBot, type Bot } from '../slack/harness.js';
import { interactivityBody, buttonClickPayload, sendSigned } from '../slack/sign.js';
import { insertRestoreTest, getRestoreTest } from '../../src/store/restore-test-register.js';
import { listAudit } from '../../src/store/audit.js';
import { signaturesFor } from '../../src/store/signatures.js';

/** The "QA verified" button (action_id qa_verified) on a restore-test result. */
let bot: Bot;
let rowId: string;
beforeAll(async () => {
  // a second client whose QA is someone else (its database is never reached by these tests)
  bot = await startBot({ clients: { other: { database: { engine: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/bbt_qa_other_never_used' }, schedule: '0 3 * * *', storage: ['local'], roles: { qa: ['U0OTHERQA'], operators: ['U0OTHEROP'] } } } });
  rowId = (await insertRestoreTest(bot.pool, { client: 'demo', testedAt: new Date(), backupUsed: 'backup_x.sql.gz', executedBy: 'Olga Operator', result: 'OK' })).id;
});
afterAll(async () => { await bot?.close(); });

async function click(value: string, userId: string): Promise<{ status: number; answer: any }> {
  const responseUrl = bot.emu.responseUrl();
  const res = await sendSigned(bot.eventsUrl, interactivityBody(buttonClickPayload({ actionId: 'qa_verified', value, userId, responseUrl })));
  const id = responseUrl.split('/').pop()!;
  await bot.emu.waitFor(() => bot.emu.responses.get(id)!.bodies.length > 0, 'the answer on response_url', 10_000);
  return { status: res.status, answer: bot.emu.responses.get(id)!.bodies[0] };
}

test('a button value that is not a register id, or an unknown id: nothing signed', async () => {
  expect((await click('1; DROP TABLE runs', 'U0QA')).answer.text).toContain('does not refer to a restore test');
  expect((await click('999999', 'U0QA')).answer.text).toContain('Restore test 999999 is not in the register');
  expect((await getRestoreTest(bot.pool, rowId))!.verified_by_qa).toBeNull();
});

test('refusal: an operator (not QA) clicking is refused politely, naming the QA role; audited; nothing signed', async () => {
  const r = await click(rowId, 'U0OPER');
  expect(r.status).toBe(200);
  expect(r.answer).toMatchObject({ response_type: 'ephemeral', replace_original: false });
  expect(r.answer.text).toContain('only QA of demo can mark a restore test verified (clients.demo.roles.qa)');
  expect((await getRestoreTest(bot.pool, rowId))!.verified_by_qa).toBeNull();
  expect((await listAudit(bot.pool, { action: 'restore_test.qa_verify_refused' })).some((a) => a.actor === 'U0OPER' && a.target === `restore_test:${rowId}`)).toBe(true);
});

test('QA signs once: the register row gets the name from users.info; a second click changes nothing', async () => {
  const r = await click(rowId, 'U0QA');
  expect(r.answer.text).toContain('You verified the restore test of *demo*');
  const row = await getRestoreTest(bot.pool, rowId);
  expect(row).toMatchObject({ verified_by_qa: 'Quique QA', verified_by_qa_id: 'U0QA' });
  const again = await click(rowId, 'U0QA');
  expect(again.answer.text).toContain('Not signed: already verified by Quique QA');
  expect((await getRestoreTest(bot.pool, rowId))!.verified_by_qa_at).toEqual(row!.verified_by_qa_at);
  expect((await signaturesFor(bot.pool, `restore_test:${rowId}`)).map((x) => x.signer_id)).toEqual(['U0QA']);
});

test('a forged click is refused with 401 before anything is read', async () => {
  const res = await sendSigned(bot.eventsUrl, interactivityBody(buttonClickPayload({ actionId: 'qa_verified', value: rowId, userId: 'U0QA' })), { secret: 'forged' });
  expect(res.status).toBe(401);
});

test("a QA of demo clicking the button of another client's restore test: refused (roles of that row's client, from the config); nothing signed", async () => {
  const other = (await insertRestoreTest(bot.pool, { client: 'other', testedAt: new Date(), backupUsed: 'backup_o.sql.gz', executedBy: 'Olivia Otherop', result: 'OK' })).id;
  const r = await click(other, 'U0QA');
  expect(r.answer).toMatchObject({ response_type: 'ephemeral', replace_original: false });
  expect(r.answer.text).toContain('only QA of other can mark a restore test verified (clients.other.roles.qa)');
  expect((await getRestoreTest(bot.pool, other))!.verified_by_qa).toBeNull();
  expect(await signaturesFor(bot.pool, `restore_test:${other}`)).toEqual([]);
  expect((await listAudit(bot.pool, { action: 'restore_test.qa_verify_refused' })).some((a) => a.actor === 'U0QA' && a.target === `restore_test:${other}`)).toBe(true);
});

test('four eyes: the QA who launched the restore test may not verify it through the button; nothing signed', async () => {
  const ctx = bot.server.ctx;
  const run = await ctx.store.runs.start({ kind: 'restore_test', client: 'demo', actor: 'U0QA', trigger: 'slack' });
  await ctx.store.audit.append({ actor: 'U0QA', action: 'restore_test.started', client: 'demo', target: `run:${run.id}` });
  const own = (await ctx.store.restoreTests.insert({ runId: run.id, client: 'demo', testedAt: new Date(), backupUsed: 'backup_y.sql.gz', executedBy: 'Quique QA', result: 'OK' })).id;
  const r = await click(own, 'U0QA');
  expect(r.answer.text).toContain('Not signed: you launched this restore test, so you cannot also verify it as QA');
  expect((await getRestoreTest(bot.pool, own))!.verified_by_qa).toBeNull();
  expect(await signaturesFor(bot.pool, `restore_test:${own}`)).toEqual([]);
});
