import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, FakeClock } from '../helpers/context.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { requestRestore, REQUESTER_CHECKLIST_IDS } from '../../src/operations/request-restore.js';
import { decideRestore } from '../../src/operations/decide-restore.js';
import { getApproval } from '../../src/store/approvals.js';
import { listAudit } from '../../src/store/audit.js';
import { decisionVerifies } from '../helpers/evidence.js';
import type { BackupRow } from '../../src/store/backup-register.js';
import { makeVerifiedBackup } from './restore-fixtures.js';

let state: TestDatabase;
let prod: TestDatabase;
let dir: string;
let ctx: Awaited<ReturnType<typeof testContext>>;
let backup: BackupRow;
const clock = new FakeClock(new Date('2026-03-10T12:00:00Z'));

beforeAll(async () => {
  state = await createTestDatabase();
  prod = await createTestDatabase('bbprod');
  await fillSampleDatabase(prod.url);
  dir = await mkdtemp(join(tmpdir(), 'bb-decide-'));
  const config = testConfig({
    stateUrl: state.url, demoUrl: prod.url, storageDir: dir,
    client: { roles: { systemOwners: ['U0OWNER', 'U0OWNER2', 'U0OPER2'], itManagers: ['U0ITMGR'], qa: ['U0QA'], operators: ['U0OPER', 'U0OPER2'] } },
  });
  ctx = await testContext(config, { clock });
  backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date('2026-03-09T03:00:00Z') });
});

afterAll(async () => {
  await ctx?.close();
  await state?.drop();
  await prod?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function newRequest(by = 'U0OPER') {
  const r = await requestRestore(ctx, { client: 'demo', backupId: backup.id, scope: 'full', reason: 'data corrupted by a faulty migration', checklist: REQUESTER_CHECKLIST_IDS, requestedBy: by, requestedByName: 'Olga Operator' });
  if (!r.ok) throw new Error(r.message);
  return r.approval;
}

const approve = (id: string, userId: string, extra: Record<string, unknown> = {}) => decideRestore(ctx, {
  approvalId: id, userId, userName: userId === 'U0OWNER' ? 'Sofía Owner' : `Name of ${userId}`, meaning: 'approved', typedClient: 'demo', statementTicked: true, client: 'demo', ...extra,
});

async function refusalsFor(id: string) {
  return (await listAudit(ctx.pool, { action: 'restore.decision_refused' })).filter((a) => a.target === `approval:${id}`);
}

test('an approver without the System Owner role is refused, nothing changes, refusal audited', async () => {
  const a = await newRequest();
  for (const user of ['U0ITMGR', 'U0QA', 'U0STRANGER']) {
    const r = await approve(a.id, user);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/only the System Owner of demo can approve/);
  }
  const row = await getApproval(ctx.pool, a.id);
  expect(row).toMatchObject({ status: 'pending', decided_by: null, decision_signature: null });
  expect(await refusalsFor(a.id)).toHaveLength(3);
});

test('the requester cannot approve their own request (four eyes), even holding the role', async () => {
  const a = await newRequest('U0OPER2');
  const r = await approve(a.id, 'U0OPER2');
  expect(r).toMatchObject({ ok: false });
  if (!r.ok) expect(r.message).toMatch(/you requested this restore/);
  expect((await getApproval(ctx.pool, a.id))!.status).toBe('pending');
  expect((await refusalsFor(a.id))[0]!.details).toMatchObject({ fourEyes: true });
});

test('wrong typed client name or unticked statement: refused with what is expected', async () => {
  const a = await newRequest();
  const r1 = await approve(a.id, 'U0OWNER', { typedClient: 'Demo ' });
  expect(r1.ok).toBe(false);
  if (!r1.ok) expect(r1.message).toMatch(/type the client's name exactly: "demo"/);
  const r2 = await approve(a.id, 'U0OWNER', { statementTicked: false });
  expect(r2.ok).toBe(false);
  if (!r2.ok) expect(r2.message).toMatch(/tick the statement/);
  expect((await getApproval(ctx.pool, a.id))!.status).toBe('pending');
});

test('an expired request is refused and marked expired', async () => {
  const a = await newRequest();
  clock.advance(24 * 3_600_000 + 1000);
  try {
    const r = await approve(a.id, 'U0OWNER');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/expired/);
    expect((await getApproval(ctx.pool, a.id))!).toMatchObject({ status: 'expired', decided_by: null });
  } finally {
    clock.advance(-(24 * 3_600_000 + 1000));
  }
});

test('a forged interaction naming another client or another message is refused', async () => {
  const a = await newRequest();
  await (await import('../../src/store/approvals.js')).setApprovalMessage(ctx.pool, a.id, 'C0DEMO', '111.222');
  const r1 = await approve(a.id, 'U0OWNER', { client: 'other' });
  expect(r1.ok).toBe(false);
  if (!r1.ok) expect(r1.message).toMatch(/forged/);
  const r2 = await approve(a.id, 'U0OWNER', { message: { channel: 'C0DEMO', ts: '999.999' } });
  expect(r2.ok).toBe(false);
  if (!r2.ok) expect(r2.message).toMatch(/does not belong to the message/);
  const r3 = await approve('999999', 'U0OWNER');
  expect(r3.ok).toBe(false);
  if (!r3.ok) expect(r3.message).toMatch(/no restore request #999999/);
  expect((await getApproval(ctx.pool, a.id))!.status).toBe('pending');
});

test('approval by the System Owner is signed, bound to the request, and a second click is refused', async () => {
  const a = await newRequest();
  const r = await approve(a.id, 'U0OWNER');
  expect(r.ok).toBe(true);
  const row = (await getApproval(ctx.pool, a.id))!;
  expect(row).toMatchObject({ status: 'approved', meaning: 'approved', decided_by: 'U0OWNER', decided_by_name: 'Sofía Owner', decided_role: 'System Owner' });
  expect(row.statement).toBe(`I, Sofía Owner, System Owner of demo, approve restoring the production database of demo from backup ${backup.file} taken 2026-03-09 03:00 UTC; all data entered after 2026-03-09 03:00 UTC will be lost (request #${a.id}).`);
  expect(row.decided_at!.toISOString()).toBe(clock.now().toISOString());
  expect(await decisionVerifies(ctx, row)).toBe(true);
  expect(row.decision_key_id).toBe(ctx.signer.keyId);
  const again = await approve(a.id, 'U0OWNER2');
  expect(again.ok).toBe(false);
  if (!again.ok) expect(again.message).toMatch(/already approved by Sofía Owner/);
  expect((await getApproval(ctx.pool, a.id))!.decided_by).toBe('U0OWNER');
  expect((await listAudit(ctx.pool, { action: 'restore.approved' })).filter((x) => x.target === `approval:${a.id}`)).toHaveLength(1);
});

test('two approvers at the same moment (and double clicks) produce exactly one decision', async () => {
  const a = await newRequest();
  const results = await Promise.all([
    approve(a.id, 'U0OWNER'), approve(a.id, 'U0OWNER2'), approve(a.id, 'U0OWNER'), approve(a.id, 'U0OWNER2'),
    decideRestore(ctx, { approvalId: a.id, userId: 'U0OWNER', userName: 'Sofía Owner', meaning: 'rejected', rejectReason: 'no', client: 'demo' }),
  ]);
  expect(results.filter((r) => r.ok)).toHaveLength(1);
  const row = (await getApproval(ctx.pool, a.id))!;
  expect(['approved', 'rejected']).toContain(row.status);
  const decisions = (await listAudit(ctx.pool)).filter((x) => x.target === `approval:${a.id}` && (x.action === 'restore.approved' || x.action === 'restore.rejected'));
  expect(decisions).toHaveLength(1);
  expect(await decisionVerifies(ctx, row)).toBe(true);
});

test('rejection needs a reason and records the signed rejection', async () => {
  const a = await newRequest();
  const r0 = await decideRestore(ctx, { approvalId: a.id, userId: 'U0OWNER', userName: 'Sofía Owner', meaning: 'rejected', client: 'demo' });
  expect(r0.ok).toBe(false);
  const r = await decideRestore(ctx, { approvalId: a.id, userId: 'U0OWNER', userName: 'Sofía Owner', meaning: 'rejected', rejectReason: 'restore the table only', client: 'demo' });
  expect(r.ok).toBe(true);
  const row = (await getApproval(ctx.pool, a.id))!;
  expect(row).toMatchObject({ status: 'rejected', meaning: 'rejected', reject_reason: 'restore the table only' });
  expect(row.statement).toMatch(/^I, Sofía Owner, System Owner of demo, reject restoring/);
  expect(await decisionVerifies(ctx, row)).toBe(true);
});
