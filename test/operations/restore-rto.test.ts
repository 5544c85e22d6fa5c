/**
 * Issue 18 item 2 (production): a production restore still running at the RTO posts an S1 alert naming the System
 * Owners and IT Managers, and again at twice the RTO; nothing more once it ended; the §12 row records the real
 * recovery time. Real PostgreSQL (production database, state), local storage; the restore is held after its
 * `restore` step by the test's afterStep hook so that it outlasts a 1 s RTO.
 *
 * @needs slow
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, PG_ADMIN_URL, withPg, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { fillSampleDatabase, SAMPLE_TABLES } from '../../src/core/demo-database.js';
import { requestRestore, REQUESTER_CHECKLIST_IDS } from '../../src/operations/request-restore.js';
import { decideRestore } from '../../src/operations/decide-restore.js';
import { runRestore } from '../../src/operations/restore.js';
import { listAudit } from '../../src/store/audit.js';
import { makeVerifiedBackup } from './restore-fixtures.js';

let state: TestDatabase;
let prod: TestDatabase;
let dir: string;
let ctx: TestContext;

beforeAll(async () => {
  state = await createTestDatabase();
  prod = await createTestDatabase('bbrtoprod');
  await fillSampleDatabase(prod.url);
  dir = await mkdtemp(join(tmpdir(), 'bb-rto-'));
  ctx = await testContext(testConfig({
    stateUrl: state.url, demoUrl: prod.url, storageDir: dir,
    client: { rto: '1s', verify: { minTables: 1, tables: SAMPLE_TABLES }, roles: { systemOwners: ['U0OWNER'], itManagers: ['U0ITMGR'], qa: ['U0QA'], operators: ['U0OPER'] } },
  }));
}, 60_000);
afterAll(async () => {
  await ctx.close();
  await withPg(PG_ADMIN_URL, async (c) => {
    const dbs = (await c.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${prod.name}%`])).rows.map((r) => r.datname as string);
    for (const d of dbs) await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(d)} WITH (FORCE)`);
  });
  await state.drop();
  await rm(dir, { recursive: true, force: true });
});

test('still running at the RTO and at twice the RTO: two S1 alerts naming System Owners and IT Managers, audited; none after it ended', async () => {
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date(Date.now() - 3_600_000) });
  const req = await requestRestore(ctx, { client: 'demo', backupId: backup.id, scope: 'full', tables: [], reason: 'bad data import', checklist: REQUESTER_CHECKLIST_IDS, requestedBy: 'U0OPER', requestedByName: 'Olga Operator' });
  if (!req.ok) throw new Error(req.message);
  const d = await decideRestore(ctx, { approvalId: req.approval.id, userId: 'U0OWNER', userName: 'Sofía Owner', meaning: 'approved', typedClient: 'demo', statementTicked: true });
  if (!d.ok) throw new Error(d.message);

  const rtoAlerts = () => ctx.notifier.texts().filter((t) => t.includes('still running at'));
  let seenDuringRun: string[] = [];
  const r = await runRestore(ctx, { approvalId: req.approval.id, userId: 'U0OPER', userName: 'Olga Operator', trigger: 'slack' }, {
    afterStep: async (step) => {
      if (step !== 'restore') return;
      await new Promise((ok) => setTimeout(ok, 2_600)); // the system stays down past 2 × RTO
      seenDuringRun = rtoAlerts();
    },
  });
  if (!r.ok) throw new Error(r.message);
  expect(seenDuringRun).toHaveLength(2);
  expect(seenDuringRun[0]).toMatch(new RegExp(`^:rotating_light: \\*S1\\* Production restore of demo still running at the RTO \\(\\*demo\\*\\): request #${req.approval.id} has been running for [\\d.]+ min \\(RTO 1s\\)`));
  expect(seenDuringRun[1]).toMatch(/still running at twice the RTO/);
  for (const t of seenDuringRun) {
    expect(t).toContain('<@U0OWNER>');
    expect(t).toContain('<@U0ITMGR>');
    expect(t).not.toContain('<@U0OPER>');
  }
  const audits = (await listAudit(ctx.pool, { client: 'demo' })).filter((a) => a.action === 'restore.rto_exceeded');
  expect(audits.map((a) => [a.target, a.details.times])).toEqual([[`approval:${req.approval.id}`, 1], [`approval:${req.approval.id}`, 2]]);
  // The register records the real recovery time (over 2.6 s held), not the clock of the context.
  expect(Number(r.register.restore_minutes)).toBeGreaterThanOrEqual(0.04);
  await new Promise((ok) => setTimeout(ok, 1_500));
  expect(rtoAlerts()).toHaveLength(2);
}, 120_000);
