import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { qaVerifyRestoreTest } from '../../src/operations/qa-verify.js';
import { testConfig } from '../helpers/config.js';
import { seedApproval } from '../helpers/evidence.js';
import { FakeClock, testContext , type TestContext } from '../helpers/context.js';
import type { Context } from '../../src/context.js';
import type { RecordingNotifier } from '../helpers/notifier.js';
import { insertBackup } from '../../src/store/backup-register.js';
import { insertRestoreTest } from '../../src/store/restore-test-register.js';
import { finishRun, startRun } from '../../src/store/runs.js';
import { openAlert } from '../../src/store/alerts.js';
import { buildDigest, isSizeDrop, median, postDigest, restoreTestDue, sparkline } from '../../src/operations/digest.js';
import { renderDigest, renderDigestText } from '../../src/notify/slack/render/digest.js';

const D = 86_400_000;
let db: TestDatabase;
let ctx: TestContext;
const now = new Date('2026-05-20T09:00:00Z');
const clock = new FakeClock(now);

beforeAll(async () => {
  db = await createTestDatabase('bbt_digest');
  const config = testConfig({
    stateUrl: db.url,
    client: { rpo: '7d' },
    raw: {
      clients: {
        demo: { database: { engine: 'postgres', url: db.url }, storage: ['local'], schedule: '0 3 * * *', rpo: '7d', restoreTest: { months: [3, 6, 9, 12], requireQa: false }, roles: { qa: ['U0QA'] } },
        erp: { database: { engine: 'mysql', url: 'mysql://root@127.0.0.1:3306/erp' }, storage: ['local'], schedule: '0 3 * * 0', rpo: '2d', restoreTest: { months: [2, 5, 8, 11] } },
      },
    },
  });
  ctx = await testContext(config, { clock });

  // demo: 6 OK scheduled backups (one a day), the newest less than half the median; one failed run today.
  const sizes = [1000, 1100, 1050, 1200, 1150, 400];
  for (let i = 0; i < sizes.length; i++) {
    const at = new Date(now.getTime() - (sizes.length - i) * D + 3 * 3_600_000);
    const run = await startRun(ctx.pool, { kind: 'backup', client: 'demo', actor: 'schedule', trigger: 'schedule', startedAt: at });
    await finishRun(ctx.pool, run.id, { status: 'ok', at });
    await insertBackup(ctx.pool, { runId: run.id, client: 'demo', takenAt: at, type: 'scheduled', key: `demo/b${i}.sql.gz`, sizeBytes: sizes[i], verified: true, verifiedAt: at, executedBy: 'schedule', result: 'OK' });
  }
  const failed = await startRun(ctx.pool, { kind: 'backup', client: 'demo', actor: 'schedule', trigger: 'schedule', startedAt: new Date(now.getTime() - 2 * 3_600_000) });
  await finishRun(ctx.pool, failed.id, { status: 'failed', error: 'boom', at: now });
  const oldFailure = await startRun(ctx.pool, { kind: 'verify', client: 'demo', actor: 'schedule', trigger: 'schedule', startedAt: new Date(now.getTime() - 2 * D) });
  await finishRun(ctx.pool, oldFailure.id, { status: 'failed', error: 'old', at: now });
  // An unverified newer backup does not count as "last verified".
  const unverified = await insertBackup(ctx.pool, { client: 'demo', takenAt: new Date(now.getTime() - 3_600_000), type: 'manual', key: 'demo/unverified.sql.gz', sizeBytes: 1000, verified: false, executedBy: 'U1', result: 'Error' });
  // Restore tests of demo: OK in 2026-Q1 (QA signed), nothing in Q2 → next due 2026-06-01 05:00, not overdue.
  const rt = await insertRestoreTest(ctx.pool, { client: 'demo', testedAt: new Date('2026-03-02T05:30:00Z'), executedBy: 'schedule', result: 'OK' });
  expect(await qaVerifyRestoreTest(ctx, { registerId: rt.id, userId: 'U0QA', userName: 'QA Person' })).toMatchObject({ ok: true });
  // Pending approvals: two for demo (one expired → not pending), none for erp.
  for (const [client, expires, status] of [['demo', 1, 'pending'], ['demo', 1, 'pending'], ['demo', -1, 'pending'], ['demo', 1, 'expired']] as const) {
    await seedApproval(ctx.pool, { client, backupId: unverified.id, backupKey: 'k', expiresAt: new Date(now.getTime() + expires * D), status });
  }

  // erp: last verified backup 3 days old (RPO 2d breached), restore test in Feb (Q1) → May (Q2) due 05-01, overdue.
  const at = new Date(now.getTime() - 3 * D);
  await insertBackup(ctx.pool, { client: 'erp', takenAt: at, type: 'scheduled', key: 'erp/x.sql.gz', sizeBytes: 5000, verified: true, verifiedAt: at, executedBy: 'schedule', result: 'OK' });
  await insertRestoreTest(ctx.pool, { client: 'erp', testedAt: new Date('2026-02-01T05:30:00Z'), executedBy: 'schedule', result: 'OK' });
  await insertRestoreTest(ctx.pool, { client: 'erp', testedAt: new Date('2026-05-01T05:30:00Z'), executedBy: 'schedule', result: 'Fail' });
  await openAlert(ctx.pool, { client: 'erp', kind: 'rpo', message: 'x', at: now });
});
afterAll(async () => {
  await ctx?.close();
  await db?.drop();
});

describe('digest helpers', () => {
  test('sparkline, median and the size-drop rule', () => {
    expect(sparkline([0, 4, 8])).toBe('▁▅█');
    expect(sparkline([1000, 1010])).toBe('██');
    expect(sparkline([1000, 1100, 1050, 1200, 1150, 400])).toBe('▇▇▇██▃');
    expect(sparkline([])).toBe('');
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(isSizeDrop([1000, 1100, 499])).toBe(true);
    expect(isSizeDrop([1000, 1000, 500])).toBe(false); // exactly half is not "more than half"
    expect(isSizeDrop([1000, 400])).toBe(false); // too little history
  });

  test('restore test due dates: the quarter after the last passing test, in a configured month', () => {
    const m = [3, 6, 9, 12];
    expect(restoreTestDue(m, '0 5 1 * *', 'UTC', new Date('2026-05-20T00:00:00Z'), '2026-Q1')).toEqual({ due: new Date('2026-06-01T05:00:00Z'), quarter: '2026-Q2', overdue: false });
    expect(restoreTestDue(m, '0 5 1 * *', 'UTC', new Date('2026-07-20T00:00:00Z'), '2026-Q1')).toMatchObject({ quarter: '2026-Q2', overdue: true });
    expect(restoreTestDue(m, '0 5 1 * *', 'UTC', new Date('2026-05-20T00:00:00Z'), '2026-Q2')).toMatchObject({ due: new Date('2026-09-01T05:00:00Z'), overdue: false });
    expect(restoreTestDue(m, '0 5 1 * *', 'UTC', new Date('2026-05-20T00:00:00Z'), undefined)).toMatchObject({ quarter: '2026-Q2', overdue: false });
    // Time zone: 05:00 in Buenos Aires is 08:00 UTC.
    expect(restoreTestDue([1], '0 5 1 * *', 'America/Argentina/Buenos_Aires', new Date('2026-05-20T00:00:00Z'), '2026-Q1')!.due).toEqual(new Date('2027-01-01T08:00:00Z'));
    expect(restoreTestDue([], '0 5 1 * *', 'UTC', now, undefined)).toBeNull();
  });
});

describe('buildDigest', () => {
  test("the digest's numbers match the registers", async () => {
    const d = await buildDigest(ctx);
    expect(d.clients.map((c) => c.client)).toEqual(['demo', 'erp']);
    for (const c of d.clients) {
      // Last verified backup = the register's newest OK + verified row.
      const reg = await ctx.pool.query(
        `SELECT id, taken_at, size_bytes FROM backup_register WHERE client = $1 AND result = 'OK' AND verified AND deleted_at IS NULL ORDER BY taken_at DESC LIMIT 1`, [c.client]);
      expect(c.lastVerified?.id).toBe(reg.rows[0].id);
      expect(c.lastVerified?.takenAt).toBe(new Date(reg.rows[0].taken_at).toISOString());
      expect(c.lastVerified?.sizeBytes).toBe(Number(reg.rows[0].size_bytes));
      expect(c.lastVerified?.ageMs).toBe(now.getTime() - new Date(reg.rows[0].taken_at).getTime());
      // Sizes = the register's latest OK rows, oldest first.
      const sizes = await ctx.pool.query(`SELECT size_bytes FROM backup_register WHERE client = $1 AND result = 'OK' ORDER BY taken_at DESC LIMIT 10`, [c.client]);
      expect(c.sizes).toEqual(sizes.rows.map((r) => Number(r.size_bytes)).reverse());
      // Failures in the last 24 h = runs failed/interrupted since now - 24h.
      const f = await ctx.pool.query(`SELECT count(*)::int AS n FROM runs WHERE client = $1 AND status IN ('failed','interrupted') AND started_at >= $2`, [c.client, new Date(now.getTime() - D)]);
      expect(c.failures24h).toBe(f.rows[0].n);
      // Pending approvals = approvals pending and not expired.
      const p = await ctx.pool.query(`SELECT count(*)::int AS n FROM approval_rows WHERE client = $1 AND status = 'pending' AND expires_at > $2`, [c.client, now]);
      expect(c.pendingApprovals).toBe(p.rows[0].n);
      // Last restore test = the register's newest Test row.
      const t = await ctx.pool.query(`SELECT id, result FROM restore_test_register WHERE client = $1 AND environment = 'Test' ORDER BY tested_at DESC LIMIT 1`, [c.client]);
      expect(c.restoreTest.last?.id).toBe(t.rows[0].id);
      expect(c.restoreTest.last?.result).toBe(t.rows[0].result);
    }
    const [demo, erp] = d.clients as [typeof d.clients[0], typeof d.clients[0]];
    expect(demo).toMatchObject({
      status: 'warning', sizeDrop: true, failures24h: 1, failuresByKind: { backup: 1 }, pendingApprovals: 2, rpo: { ok: true },
      restoreTest: { thisQuarter: '2026-Q2', thisQuarterDone: false, overdue: false, nextDue: '2026-06-01T05:00:00.000Z', last: { qaVerified: true } },
    });
    expect(demo.sparkline).toHaveLength(6);
    expect(demo.problems).toEqual(expect.arrayContaining(['1 failure in 24 h', 'backup size dropped by more than half']));
    expect(erp).toMatchObject({
      status: 'critical', sizeDrop: false, failures24h: 0, pendingApprovals: 0, openAlerts: 1, rpo: { ok: false, rpo: '2d' },
      restoreTest: { thisQuarterDone: false, overdue: true, nextDue: '2026-05-01T05:00:00.000Z', last: { result: 'Fail' } },
    });
  });

  test('rendered: one message, marks, overdue in red, within Slack limits; the terminal form has no emoji codes', async () => {
    const d = await buildDigest(ctx);
    const m = renderDigest(d);
    expect(m.blocks!.length).toBeLessThanOrEqual(50);
    for (const b of m.blocks as Array<{ text?: { text: string } }>) expect((b.text?.text ?? '').length).toBeLessThanOrEqual(3000);
    expect(m.text).toContain(':warning: *demo*');
    expect(m.text).toContain(':red_circle: *erp*');
    expect(m.text).toContain(':red_circle: *overdue* since 2026-05-01');
    expect(m.text).toContain('RPO 2d: :red_circle: *breached*');
    expect(m.text).toContain('newest is less than half the median');
    expect(m.text).toContain('pending approvals: 2');
    expect(m.text).toContain('next due 2026-06-01');
    const text = renderDigestText(d);
    expect(text).not.toMatch(/:[a-z_]+:/);
    expect(text).toContain('[RED] erp');
  });

  test('postDigest posts one message and records a digest run', async () => {
    const before = ctx.notifier.posts.length;
    const r = await postDigest(ctx, { trigger: 'cli', actor: 'test' });
    expect(ctx.notifier.texts().slice(before)).toHaveLength(1);
    const run = await ctx.pool.query('SELECT kind, status FROM runs WHERE id = $1', [r.runId]);
    expect(run.rows[0]).toEqual({ kind: 'digest', status: 'ok' });
  });
});
