import { asSuperuser, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, FakeClock, type TestContext } from '../helpers/context.js';
import { verifyEvidence } from '../../src/evidence/verify.js';
import { gatherEvidenceReport } from '../../src/operations/evidence-report-data.js';
import { quarterPeriod } from '../../src/operations/evidence-period.js';
import { qaVerifyRestoreTest } from '../../src/operations/qa-verify.js';
import { parseEvidenceReportData } from '../../src/evidence/report/model.js';

/**
 * The report's data read from a real state database: only the period's rows, per client; the newest verified
 * backup before the period; and each problem `evidence verify` finds put on the row it is about — an edited
 * verification event on its backup, an edited QA signature on its restore test, an edited incident on itself —
 * and in the integrity list. Another client's rows and problems stay out of a one-client report.
 */
let state: TestDatabase;
let ctx: TestContext;
const Q = quarterPeriod('2026-Q1', 'UTC');
const at = (s: string) => new Date(`${s}Z`);
const ids: Record<string, string> = {};

beforeAll(async () => {
  state = await createTestDatabase('bbt_evdata');
  const clock = new FakeClock(at('2026-04-01T07:00:00'));
  const cfg = testConfig({ stateUrl: state.url, raw: {} });
  const withOther = { ...cfg, clients: { ...cfg.clients, other: { ...cfg.clients.demo!, roles: { ...cfg.clients.demo!.roles, qa: ['U0QA2'] } } } };
  ctx = await testContext(withOther, { clock });
  const b = (client: string, when: string, result: 'OK' | 'Error' = 'OK') => ctx.store.backups.insert({
    client, takenAt: at(when), type: 'scheduled', file: `backup_${client}_${when.slice(0, 10)}.sql.gz`, sizeBytes: 1000, verified: result === 'OK', verifiedAt: at(when),
    executedBy: 'schedule', result,
  });
  ids.before = (await b('demo', '2025-12-30T03:00:00')).id;
  ids.inPeriod = (await b('demo', '2026-02-01T03:00:00')).id;
  ids.failed = (await b('demo', '2026-02-08T03:00:00', 'Error')).id;
  ids.after = (await b('demo', '2026-04-01T03:00:00')).id;
  ids.otherBackup = (await b('other', '2026-02-02T03:00:00')).id;
  await ctx.store.backups.setVerified(ids.inPeriod, true, at('2026-03-02T06:00:00'), 'monthly read-back');
  const t = await ctx.store.restoreTests.insert({ client: 'demo', testedAt: at('2026-03-05T10:00:00'), backupUsed: 'backup_demo_2026-02-01.sql.gz', restoreMinutes: 7, executedBy: 'Olga', result: 'OK' });
  ids.test = t.id;
  const qa = await qaVerifyRestoreTest(ctx, { registerId: t.id, userId: 'U0QA', userName: 'Quique QA' });
  if (!qa.ok) throw new Error(qa.reason);
  ids.incident = (await ctx.store.incidents.insertRestoreIncident({ approvalId: null, client: 'demo', at: at('2026-03-10T12:00:00'), description: 'restore failed', backupUsed: null, recoveryMinutes: 30, dataLost: 'none', correctiveActions: 'retried' })).id;
  const ot = await ctx.store.restoreTests.insert({ client: 'other', testedAt: at('2026-03-06T10:00:00'), backupUsed: 'x', restoreMinutes: 3, executedBy: 'Olga', result: 'OK' });
  ids.otherTest = ot.id;
  await ctx.store.alerts.open({ client: 'demo', kind: 'rpo', message: 'RPO breach', at: at('2026-02-10T00:00:00') });
  await ctx.store.alerts.resolve('demo', at('2026-02-11T00:00:00'), 'a verified backup arrived');
});
afterAll(async () => {
  await ctx?.close();
  await state?.drop();
});

test('intact: the period\'s rows per client, the backup before it, verification events and QA signatures shown, all intact', async () => {
  const evidence = await verifyEvidence(ctx.store, ctx.signer);
  expect(evidence.ok).toBe(true);
  const data = parseEvidenceReportData(await gatherEvidenceReport(ctx, { period: Q, evidence, botVersion: 't' }));
  expect(data.meta.period).toEqual({ from: '2026-01-01T00:00:00.000Z', to: '2026-04-01T00:00:00.000Z', label: '2026-Q1' });
  expect(data.meta.signingKey).toEqual({ keyId: ctx.signer.keyId, algorithm: 'Ed25519', publicKeyPem: ctx.signer.publicKeyPem, retiredAt: null });
  const demo = data.clients.find((c) => c.client === 'demo')!;
  expect(demo.backups.map((b) => b.id)).toEqual([ids.inPeriod, ids.failed]);
  expect(demo.lastVerifiedBeforePeriod).toMatchObject({ takenAt: '2025-12-30T03:00:00.000Z' });
  expect(demo.backups[0]).toMatchObject({ verified: true, verifiedAt: '2026-03-02T06:00:00.000Z', observations: 'monthly read-back', verification: { status: 'intact' } });
  expect(demo.restoreTests).toEqual([expect.objectContaining({ id: ids.test, qaSignature: expect.objectContaining({ signerName: 'Quique QA', role: 'QA', keyId: ctx.signer.keyId }) })]);
  expect(demo.incidents.map((i) => i.id)).toEqual([ids.incident]);
  expect(demo.alerts).toEqual([expect.objectContaining({ kind: 'rpo', openedAt: '2026-02-10T00:00:00.000Z', resolvedAt: '2026-02-11T00:00:00.000Z' })]);
  expect(data.clients.find((c) => c.client === 'other')!.backups.map((b) => b.id)).toEqual([ids.otherBackup]);
  expect(data.integrityIssues).toEqual([]);
});

test('edited rows: each problem on the row it is about, in the integrity list; a one-client report leaves the other client\'s out', async () => {
  await asSuperuser(ctx.pool, `UPDATE backup_register_events SET note = 'all good' WHERE backup_id = $1`, [ids.inPeriod]);
  await asSuperuser(ctx.pool, `UPDATE signatures SET signer_name = 'Someone Else' WHERE subject = $1`, [`restore_test:${ids.test}`]);
  await asSuperuser(ctx.pool, `UPDATE restore_incidents SET data_lost = 'nothing at all' WHERE id = $1`, [ids.incident]);
  await asSuperuser(ctx.pool, `UPDATE restore_test_register SET restore_minutes = 1 WHERE id = $1`, [ids.otherTest]);
  const evidence = await verifyEvidence(ctx.store, ctx.signer);
  expect(evidence.ok).toBe(false);

  const data = parseEvidenceReportData(await gatherEvidenceReport(ctx, { period: Q, client: 'demo', evidence, botVersion: 't' }));
  expect(data.clients.map((c) => c.client)).toEqual(['demo']);
  const demo = data.clients[0]!;
  const backup = demo.backups.find((b) => b.id === ids.inPeriod)!;
  expect(backup.verification).toEqual({ status: 'broken', reasons: [expect.stringMatching(/^edited: its content no longer matches its hash/)] });
  expect(backup.observations).toContain('all good');
  expect(demo.backups.find((b) => b.id === ids.failed)!.verification).toEqual({ status: 'intact' });
  const test = demo.restoreTests[0]!;
  expect(test.verification.status).toBe('broken');
  expect(test.verification.status === 'broken' && test.verification.reasons.join(' | ')).toMatch(/edited: its content no longer matches its hash.*\| bad signature: /);
  expect(demo.incidents[0]!.verification).toMatchObject({ status: 'broken', reasons: [expect.stringContaining('edited')] });
  // The integrity list: demo's problems with their register and row, none of the other client's.
  const issues = data.integrityIssues.map((i) => `${i.register}:${i.id}:${i.client}:${i.what}`);
  expect(issues).toEqual(expect.arrayContaining([`backups:${ids.inPeriod}:demo:edited`, `restoreTests:${ids.test}:demo:edited`, `restoreTests:${ids.test}:demo:bad signature`, `incidents:${ids.incident}:demo:edited`]));
  expect(issues.some((i) => i.startsWith(`restoreTests:${ids.otherTest}:`))).toBe(false);
  expect(data.meta.verification).toMatchObject({ ok: false, summary: expect.stringMatching(/^evidence BROKEN/) });

  // The report for every client shows the other client's broken row too.
  const all = parseEvidenceReportData(await gatherEvidenceReport(ctx, { period: Q, evidence, botVersion: 't' }));
  expect(all.clients.find((c) => c.client === 'other')!.restoreTests[0]!.verification.status).toBe('broken');
});
