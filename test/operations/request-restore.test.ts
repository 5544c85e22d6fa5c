import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, FakeClock } from '../helpers/context.js';
import { fillSampleDatabase, SAMPLE_TABLES } from '../../src/core/demo-database.js';
import { requestRestore, REQUESTER_CHECKLIST_IDS } from '../../src/operations/request-restore.js';
import { listApprovals } from '../../src/store/approvals.js';
import { listAudit } from '../../src/store/audit.js';
import { insertRestoreTest } from '../../src/store/restore-test-register.js';
import { setBackupVerified, type BackupRow } from '../../src/store/backup-register.js';
import { makeVerifiedBackup, writeAfterBackup } from './restore-fixtures.js';

let state: TestDatabase;
let prod: TestDatabase;
let dir: string;
let ctx: Awaited<ReturnType<typeof testContext>>;
let backup: BackupRow;
const clock = new FakeClock(new Date('2026-03-10T12:00:00Z'));
const base = () => ({ client: 'demo', backupId: backup.id, scope: 'full' as const, reason: 'corrupted lots', checklist: REQUESTER_CHECKLIST_IDS, requestedBy: 'U0OPER', requestedByName: 'Olga Operator' });

beforeAll(async () => {
  state = await createTestDatabase();
  prod = await createTestDatabase('bbprod');
  await fillSampleDatabase(prod.url);
  dir = await mkdtemp(join(tmpdir(), 'bb-req-'));
  ctx = await testContext(testConfig({ stateUrl: state.url, demoUrl: prod.url, storageDir: dir, client: { channel: 'C0DEMO', rto: '4h', verify: { minTables: 1, tables: SAMPLE_TABLES } } }), { clock });
  backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date('2026-03-08T03:00:00Z') });
  await writeAfterBackup(prod.url);
});

afterAll(async () => {
  await ctx?.close();
  await state?.drop();
  await prod?.drop();
  await rm(dir, { recursive: true, force: true });
});

test('a pending request measures the data that will be lost, the expected downtime, expires after approvals.ttl, is audited and posted', async () => {
  await insertRestoreTest(ctx.pool, { client: 'demo', testedAt: new Date('2026-03-01T05:00:00Z'), restoreMinutes: 12.5, executedBy: 'bot', result: 'OK' });
  const r = await requestRestore(ctx, { ...base(), ticket: 'INC-7' });
  if (!r.ok) throw new Error(r.message);
  const a = r.approval;
  expect(a).toMatchObject({ status: 'pending', scope: 'full', strategy: 'swap', backup_file: backup.file, backup_sha256: backup.sha256, ticket: 'INC-7' });
  expect(a.expires_at.toISOString()).toBe('2026-03-11T12:00:00.000Z');
  expect(a.impact).toMatchObject({ dataLossMs: 57 * 3_600_000, dataLossText: '2d 9h', expectedDowntimeMinutes: 12.5, rtoMinutes: 240, withinRto: true });
  const rows = (a.impact as { rows: Array<{ table: string; difference: number | null }> }).rows;
  expect(rows.find((x) => x.table === 'movimientos')).toEqual({ table: 'movimientos', backup: 1000, production: 1025, difference: 25 });
  expect(rows.find((x) => x.table === 'alertas')).toMatchObject({ difference: 1 });
  expect(rows.find((x) => x.table === 'users')).toMatchObject({ difference: 0 });
  const post = ctx.notifier.posts.at(-1)!;
  expect(post.channel).toBe('C0DEMO');
  expect(post.message.text).toMatch(/data after 2026-03-08 03:00 UTC will be lost \(2d 9h\)/);
  expect(post.message.text).toContain('<@U0OWNER>');
  expect(JSON.stringify(post.message.blocks)).toMatch(/about 13 min \(last restore test\) against an RTO of 240 min/);
  expect(a.slack_ts).toBe(post.ref.ts);
  const [audit] = (await listAudit(ctx.pool, { action: 'restore.requested' })).filter((x) => x.target === `approval:${a.id}`);
  expect(audit).toMatchObject({ actor: 'U0OPER', reason: 'corrupted lots', details: expect.objectContaining({ requestHash: a.request_hash }) });
});

test('bad input and unsafe requests are refused with the reason, nothing stored', async () => {
  const before = (await listApprovals(ctx.pool)).length;
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ reason: '  ' }, /reason is required/],
    [{ checklist: ['reason'] }, /checklist \(SOP-001 13.3\) is not complete.*Personal de soporte disponible/],
    [{ requestedBy: 'U0QA' }, /operator/],
    [{ client: 'nope' }, /there is no client "nope" on which you hold a role/],
    [{ backupId: '999999' }, /not a backup of demo/],
    [{ backupId: 'x; drop' }, /backupId/],
    [{ tables: ['users'] }, /only be chosen for a partial restore/],
    [{ scope: 'partial', tables: ['alertas'] }, /needs a custom-format PostgreSQL backup/],
  ];
  for (const [patch, re] of cases) {
    const r = await requestRestore(ctx, { ...base(), ...patch } as never);
    expect({ patch, ok: r.ok }).toEqual({ patch, ok: false });
    if (!r.ok) expect(r.message).toMatch(re);
  }
  const unverified = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date('2026-03-09T03:00:00Z') });
  await setBackupVerified(ctx.pool, unverified.id, false, new Date());
  const r = await requestRestore(ctx, { ...base(), backupId: unverified.id });
  expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/is not verified; only verified backups/) });
  expect((await listApprovals(ctx.pool)).length).toBe(before);
  expect((await listAudit(ctx.pool, { action: 'restore.request_refused' })).length).toBeGreaterThanOrEqual(7);
});
