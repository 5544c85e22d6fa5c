import { queriesOn } from '../../src/store/store.js';
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
import { canonicalJson, requestHash, signatureHash, verifySignature } from '../../src/core/signature.js';
import { makeVerifiedBackup } from '../operations/restore-fixtures.js';

let state: TestDatabase;
let prod: TestDatabase;
let dir: string;
let ctx: Awaited<ReturnType<typeof testContext>>;
let approvalId: string;

beforeAll(async () => {
  state = await createTestDatabase();
  prod = await createTestDatabase('bbprod');
  await fillSampleDatabase(prod.url);
  dir = await mkdtemp(join(tmpdir(), 'bb-sig-'));
  ctx = await testContext(testConfig({ stateUrl: state.url, demoUrl: prod.url, storageDir: dir }), { clock: new FakeClock(new Date('2026-03-10T12:00:00Z')) });
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date('2026-03-09T03:00:00Z') });
  const r = await requestRestore(ctx, { client: 'demo', backupId: backup.id, scope: 'full', reason: 'corruption', checklist: REQUESTER_CHECKLIST_IDS, requestedBy: 'U0OPER' });
  if (!r.ok) throw new Error(r.message);
  approvalId = r.approval.id;
  const d = await decideRestore(ctx, { approvalId, userId: 'U0OWNER', userName: 'Sofía Owner', meaning: 'approved', typedClient: 'demo', statementTicked: true });
  if (!d.ok) throw new Error(d.message);
});

afterAll(async () => {
  await ctx?.close();
  await state?.drop();
  await prod?.drop();
  await rm(dir, { recursive: true, force: true });
});

test('canonical JSON sorts keys at every level and writes dates in UTC', () => {
  expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: null }], c: new Date('2026-01-01T00:00:00-03:00') } }))
    .toBe('{"a":{"c":"2026-01-01T03:00:00.000Z","d":[2,{"y":null,"z":1}]},"b":1}');
});

test('the stored signature verifies against the stored request', async () => {
  const row = (await getApproval(ctx.pool, approvalId))!;
  expect(row.request_hash).toMatch(/^[0-9a-f]{64}$/);
  expect(row.signature_hash).toMatch(/^[0-9a-f]{64}$/);
  expect(verifySignature(row)).toEqual({ ok: true, requestHashOk: true, signatureOk: true, problems: [] });
});

test.each([
  ['reason', `UPDATE approvals SET reason = reason || ' (edited)' WHERE id = $1`],
  ['backup', `UPDATE approvals SET backup_key = 'demo/other.sql.gz' WHERE id = $1`],
  ['impact', `UPDATE approvals SET impact = jsonb_set(impact, '{dataLossText}', '"0s"') WHERE id = $1`],
  ['expiry', `UPDATE approvals SET expires_at = expires_at + interval '1 day' WHERE id = $1`],
  ['tables', `UPDATE approvals SET tables = '["users"]' WHERE id = $1`],
])('editing the request row (%s) after signing is detected', async (_what, sql) => {
  const c = await ctx.pool.connect();
  await c.query('BEGIN');
  try {
    await c.query(sql, [approvalId]);
    const row = (await c.query('SELECT * FROM approvals WHERE id = $1', [approvalId])).rows[0];
    const v = verifySignature(row);
    expect(v.ok).toBe(false);
    expect(v.requestHashOk).toBe(false);
    expect(v.problems[0]).toMatch(/request was changed/);
  } finally {
    await c.query('ROLLBACK');
    c.release();
  }
});

test('re-hashing an edited request does not help: the signature was over the original hash', async () => {
  const row = (await getApproval(ctx.pool, approvalId))!;
  const forged = { ...row, reason: 'something else' };
  forged.request_hash = requestHash(forged);
  const v = verifySignature(forged);
  expect(v).toMatchObject({ ok: false, requestHashOk: true, signatureOk: false });
});

test('editing the signer, time, meaning or statement is detected', async () => {
  const row = (await getApproval(ctx.pool, approvalId))!;
  for (const edit of [{ decided_by_name: 'Someone Else' }, { decided_at: new Date(row.decided_at!.getTime() + 1000) }, { statement: row.statement + '.' }, { meaning: 'rejected' as const }, { decided_by: 'U0OTHER' }]) {
    expect(verifySignature({ ...row, ...edit })).toMatchObject({ ok: false, signatureOk: false });
  }
  expect(signatureHash({ requestHash: row.request_hash, signerId: row.decided_by!, signerName: row.decided_by_name!, meaning: 'approved', signedAt: row.decided_at!, statement: row.statement! })).toBe(row.signature_hash);
});

test('register approvals export: every request with decision, signer, statement, hashes and the re-verified hash', async () => {
  const { exportApprovalsRegister } = await import('../../src/operations/export-register.js');
  const json = JSON.parse(await exportApprovalsRegister(queriesOn(ctx.pool), { format: 'json', timezone: 'UTC' }));
  expect(json).toHaveLength(1);
  expect(json[0]).toMatchObject({ id: approvalId, decision: 'approved', signerName: 'Sofía Owner', signerRole: 'System Owner', hashVerified: true, status: 'approved' });
  expect(json[0].statement).toMatch(/^I, Sofía Owner, System Owner of demo, approve restoring/);
  const c = await ctx.pool.connect();
  try {
    await c.query('BEGIN');
    await c.query(`UPDATE approvals SET reason = 'edited' WHERE id = $1`, [approvalId]);
    const csv = await exportApprovalsRegister(queriesOn(c), { format: 'csv', timezone: 'UTC' });
    expect(csv.split('\r\n')[0]).toContain('Hash Verificado');
    expect(csv).toContain('NO: the request was changed after it was made');
  } finally {
    await c.query('ROLLBACK');
    c.release();
  }
});
