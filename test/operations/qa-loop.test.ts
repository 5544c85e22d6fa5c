/**
 * QA in the loop (issue 17 item 2): a passing §12 row is put to the client's QA with the button; unsigned after
 * restoreTest.qaReminder it is reminded once; the digest lists overdue signatures; with restoreTest.requireQa the
 * quarter's test counts only once signed; production restore rows are QA-signable; a QA signature on a test that
 * is still running or failed is refused. Real PostgreSQL; the clock is the only fake.
 */
import { insertRestoreTest } from '../../src/store/restore-test-register.js';
import { finishRun, startRun } from '../../src/store/runs.js';
import { listAudit } from '../../src/store/audit.js';
import { listSignatures } from '../../src/store/signatures.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { FakeClock, testContext, type TestContext } from '../helpers/context.js';
import { qaVerifyRestoreTest } from '../../src/operations/qa-verify.js';
import { remindQa, requestQaVerification } from '../../src/operations/qa-loop.js';
import { buildDigest } from '../../src/operations/digest.js';
import { clientStatus } from '../../src/operations/client-status.js';
import { renderDigest } from '../../src/notify/slack/render/digest.js';

const DAY = 86_400_000;
let state: TestDatabase;
let ctx: TestContext;
const clock = new FakeClock(new Date('2026-03-10T09:00:00Z'));

beforeAll(async () => {
  state = await createTestDatabase('bbt_qaloop');
  ctx = await testContext(testConfig({ stateUrl: state.url, client: { channel: 'C0DEMO', roles: { systemOwners: ['U0OWNER'], itManagers: [], qa: ['U0QA', 'S0QATEAM'], operators: ['U0OPER'] } } }), { clock });
});
afterAll(async () => {
  await ctx?.close();
  await state?.drop();
});

async function row(o: { testedAt: Date; result?: 'OK' | 'Fail'; environment?: 'Test' | 'Prod'; running?: boolean }) {
  const run = await startRun(ctx.pool, { kind: o.environment === 'Prod' ? 'restore' : 'restore_test', client: 'demo', actor: 'U0OPER', trigger: 'slack' });
  const r = await insertRestoreTest(ctx.pool, { runId: run.id, client: 'demo', testedAt: o.testedAt, backupUsed: 'backup_2026-03-01_03-00-00.sql.gz', executedBy: 'Oper', result: o.result ?? 'OK', environment: o.environment ?? 'Test' });
  if (!o.running) await finishRun(ctx.pool, run.id, { status: o.result === 'Fail' ? 'failed' : 'ok' });
  return r;
}

describe('QA in the loop', () => {
  test('a passing test is put to QA (mentions the QA role, the QA verified button) and does not count until signed', async () => {
    const t = await row({ testedAt: new Date('2026-03-09T10:00:00Z') });
    await requestQaVerification(ctx, t);
    const msg = ctx.notifier.posts.at(-1)!;
    expect(msg.channel).toBe('C0DEMO');
    expect(msg.message.text).toContain(`the 2026-Q1 restore test of *demo* passed and is recorded in §12 (row ${t.id}): QA, please review it and sign *QA verified*`);
    expect(msg.message.text).toContain('<@U0QA> <!subteam^S0QATEAM>');
    expect(JSON.stringify(msg.message.blocks)).toContain(`"action_id":"qa_verified","value":"${t.id}"`);

    const d = (await buildDigest(ctx)).clients[0]!;
    expect(d.restoreTest.thisQuarterDone).toBe(false);
    expect(d.restoreTest.awaitingQa).toEqual([expect.objectContaining({ id: t.id, overdue: false })]);
    expect((await clientStatus(ctx, 'demo')).doneThisQuarter).toBe(false);
  });

  test('unsigned after restoreTest.qaReminder (2 days): reminded once; the digest lists the overdue signature', async () => {
    clock.set('2026-03-11T09:59:00Z');
    expect(await remindQa(ctx)).toEqual([]);
    clock.set('2026-03-11T10:00:00Z');
    const before = ctx.notifier.posts.length;
    const reminded = await remindQa(ctx);
    expect(reminded).toHaveLength(1);
    expect(ctx.notifier.posts.length).toBe(before + 1);
    expect(ctx.notifier.posts.at(-1)!.message.text).toMatch(/^:bell: \*Reminder\*: the 2026-Q1 restore test of \*demo\* \(2026-03-09 10:00 UTC\) is still waiting for QA's signature/);
    expect(ctx.notifier.posts.at(-1)!.message.text).toContain('<@U0QA>');
    clock.advance(DAY);
    expect(await remindQa(ctx)).toEqual([]); // once per row
    expect(ctx.notifier.posts.length).toBe(before + 1);
    expect((await listAudit(ctx.pool, { action: 'restore_test.qa_reminded' }))).toHaveLength(1);
    const digest = await buildDigest(ctx);
    expect(digest.clients[0]!.problems).toContain('1 QA signature overdue');
    expect(renderDigest(digest).text).toMatch(/QA signature overdue: §12 row \d+ \(2026-Q1, 2026-03-09\)/);
  });

  test('signed by QA: the quarter counts as done, no more reminders; with requireQa false an unsigned pass counts', async () => {
    const [t] = await ctx.store.restoreTests.list({ client: 'demo', environment: 'Test', result: 'OK' });
    expect((await qaVerifyRestoreTest(ctx, { registerId: t!.id, userId: 'U0QA', userName: 'Quinn QA' })).ok).toBe(true);
    expect((await buildDigest(ctx)).clients[0]!.restoreTest).toMatchObject({ thisQuarterDone: true, awaitingQa: [] });
    expect((await clientStatus(ctx, 'demo')).doneThisQuarter).toBe(true);
    const loose = await testContext(testConfig({ stateUrl: state.url, client: { restoreTest: { requireQa: false } } }), { clock });
    try {
      clock.set('2026-04-03T10:00:00Z');
      await row({ testedAt: new Date('2026-04-02T10:00:00Z') });
      expect((await buildDigest(loose)).clients[0]!.restoreTest.thisQuarterDone).toBe(true);
      expect((await buildDigest(ctx)).clients[0]!.restoreTest.thisQuarterDone).toBe(false);
    } finally {
      await loose.close();
    }
  });

  test('a production restore row of §12 is QA-signable the same way (signed, audited)', async () => {
    const p = await row({ testedAt: clock.now(), environment: 'Prod' });
    await requestQaVerification(ctx, p);
    expect(ctx.notifier.posts.at(-1)!.message.text).toContain(`the production restore of *demo* passed and is recorded in §12 (row ${p.id})`);
    const r = await qaVerifyRestoreTest(ctx, { registerId: p.id, userId: 'U0QA', userName: 'Quinn QA' });
    expect(r).toMatchObject({ ok: true, row: { environment: 'Prod', verified_by_qa: 'Quinn QA' } });
    expect((await listSignatures(ctx.pool)).some((s) => s.subject === `restore_test:${p.id}` && s.meaning === 'qa-verified')).toBe(true);
  });

  test('a QA signature on a test that is still running, or that failed: refused, nothing signed', async () => {
    const signaturesBefore = (await listSignatures(ctx.pool)).length;
    const running = await row({ testedAt: clock.now(), running: true });
    expect(await qaVerifyRestoreTest(ctx, { registerId: running.id, userId: 'U0QA', userName: 'Quinn QA' })).toMatchObject({ ok: false, reason: expect.stringMatching(/^this restore test is still running \(run \d+\): verify it once it has finished\. Nothing was signed/) });
    const failed = await row({ testedAt: clock.now(), result: 'Fail' });
    expect(await qaVerifyRestoreTest(ctx, { registerId: failed.id, userId: 'U0QA', userName: 'Quinn QA' })).toMatchObject({ ok: false, reason: expect.stringMatching(/this restore test failed \(Fail\)/) });
    await requestQaVerification(ctx, failed);
    expect(ctx.notifier.posts.at(-1)!.message.text).not.toContain(`row ${failed.id}`);
    expect((await listSignatures(ctx.pool)).length).toBe(signaturesBefore);
    expect((await listAudit(ctx.pool, { action: 'restore_test.qa_verify_refused' })).map((a) => a.reason)).toEqual(expect.arrayContaining(['still running', 'the test failed']));
  });
});
