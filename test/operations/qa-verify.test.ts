/**
 * qaVerifyRestoreTest: only the client's QA may fill "Verificado Por (QA)", once; the id from the
 * button is re-read from the register; everything is audited; the run's message loses its button.
 */
import { qaVerifyRestoreTest } from '../../src/operations/qa-verify.js';
import { insertRestoreTest, getRestoreTest } from '../../src/store/restore-test-register.js';
import { finishRun, setRunMessage, startRun } from '../../src/store/runs.js';
import { listAudit } from '../../src/store/audit.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { FakeClock, testContext , type TestContext } from '../helpers/context.js';
import type { Context } from '../../src/context.js';
import type { RecordingNotifier } from '../helpers/notifier.js';

describe('qaVerifyRestoreTest', () => {
  let state: TestDatabase;
  let ctx: TestContext;
  const clock = new FakeClock(new Date('2026-03-02T15:04:00Z'));

  beforeAll(async () => {
    state = await createTestDatabase('bbt_qa');
    ctx = await testContext(testConfig({ stateUrl: state.url }), { clock });
  });
  afterAll(async () => {
    await ctx?.close();
    await state?.drop();
  });

  async function recordedTest() {
    const run = await startRun(ctx.pool, { kind: 'restore_test', client: 'demo', actor: 'U0OPER', trigger: 'slack' });
    const row = await insertRestoreTest(ctx.pool, { runId: run.id, client: 'demo', testedAt: new Date('2026-03-01T05:00:00Z'), backupUsed: 'backup_x.sql.gz', executedBy: 'Oper', result: 'OK', checks: [{ name: 'tables', ok: true, detail: '16 tables' }] });
    await setRunMessage(ctx.pool, run.id, 'C0DEMO', '111.222');
    await finishRun(ctx.pool, run.id, {
      status: 'ok',
      details: { view: { client: 'demo', runId: run.id, backupFile: 'backup_x.sql.gz', backupTakenAt: '2026-02-28T03:00:00Z', actorName: 'Oper', timezone: 'UTC', step: 'done', reached: ['provisioning', 'downloading', 'restoring', 'verifying', 'destroying', 'done'], rtoMs: 14_400_000, result: { ok: true, checks: [{ name: 'tables', ok: true }], restoreMs: 1000, registerId: row.id } } },
    });
    return row;
  }

  it('QA fills "Verificado Por (QA)" with name and time, audited, message updated without the button', async () => {
    const row = await recordedTest();
    const r = await qaVerifyRestoreTest(ctx, { registerId: row.id, userId: 'U0QA', userName: 'Quinn QA' });
    expect(r.ok).toBe(true);
    const now = await getRestoreTest(ctx.pool, row.id);
    expect(now).toMatchObject({ verified_by_qa: 'Quinn QA', verified_by_qa_id: 'U0QA' });
    expect(new Date(now!.verified_by_qa_at!).toISOString()).toBe('2026-03-02T15:04:00.000Z');
    const a = await listAudit(ctx.pool, { action: 'restore_test.qa_verified' });
    expect(a.at(-1)).toMatchObject({ actor: 'U0QA', client: 'demo', target: `restore_test:${row.id}` });
    const upd = ctx.notifier.updates.at(-1)!;
    expect(upd.ref).toEqual({ channel: 'C0DEMO', ts: '111.222' });
    expect(JSON.stringify(upd.message.blocks)).toContain('Verificado por (QA): Quinn QA at 2026-03-02 15:04 UTC');
    expect(JSON.stringify(upd.message.blocks)).not.toContain('qa_verified');
  });

  it('a second click: already verified by X at T, nothing changes', async () => {
    const row = await recordedTest();
    expect((await qaVerifyRestoreTest(ctx, { registerId: row.id, userId: 'U0QA', userName: 'Quinn QA' })).ok).toBe(true);
    clock.advance(60_000);
    const again = await qaVerifyRestoreTest(ctx, { registerId: row.id, userId: 'U0QA', userName: 'Someone Else' });
    expect(again).toEqual({ ok: false, reason: 'already verified by Quinn QA at 2026-03-02 15:04 UTC' });
    expect((await getRestoreTest(ctx.pool, row.id))!.verified_by_qa).toBe('Quinn QA');
  });

  it('not QA (an operator, a System Owner): refused, audited, nothing changes', async () => {
    const row = await recordedTest();
    for (const userId of ['U0OPER', 'U0OWNER']) {
      const r = await qaVerifyRestoreTest(ctx, { registerId: row.id, userId, userName: 'x' });
      expect(r).toEqual({ ok: false, reason: 'only QA of demo can mark a restore test verified (clients.demo.roles.qa); nothing was changed' });
    }
    expect((await getRestoreTest(ctx.pool, row.id))!.verified_by_qa).toBeNull();
    expect((await listAudit(ctx.pool, { action: 'restore_test.qa_verify_refused' })).map((a) => a.actor)).toEqual(['U0OPER', 'U0OWNER']);
  });

  it('a forged or unknown register id is refused', async () => {
    expect(await qaVerifyRestoreTest(ctx, { registerId: '1; DROP TABLE x', userId: 'U0QA', userName: 'Q' })).toMatchObject({ ok: false, reason: expect.stringMatching(/^invalid request: registerId must be a restore-test register row id/) });
    expect(await qaVerifyRestoreTest(ctx, { registerId: '999999', userId: 'U0QA', userName: 'Q' })).toEqual({ ok: false, reason: 'Restore test 999999 is not in the register; nothing was signed' });
  });
});
