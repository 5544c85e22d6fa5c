/**
 * Issue 18 item 3: records that say only what happened. The request shows before approval which steps will be
 * skipped; a step that did nothing is recorded as skipped with the reason; the §12 Prod row says "not checked"
 * when there is no health URL; verify.checks run on the restored production database and app.checks on the
 * started application, and a failing one fails its step and rolls back. Real PostgreSQL (production and state),
 * local storage, a real HTTP server as the application's pages.
 *
 * @needs slow
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, PG_ADMIN_URL, withPg, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { fillSampleDatabase, SAMPLE_TABLES } from '../../src/core/demo-database.js';
import { runRestore } from '../../src/operations/restore.js';
import { getApproval } from '../../src/store/approvals.js';
import { approvedRequest, makeVerifiedBackup, tableChecksums, writeAfterBackup } from './restore-fixtures.js';

let state: TestDatabase;
let prod: TestDatabase;
let dir: string;
let web: Server;
let webUrl: string;
let loginPage = '<title>Conitrack — Iniciar sesión</title>';
const contexts: TestContext[] = [];

const CHECK_OK = { name: 'an active admin user exists', sql: 'SELECT EXISTS (SELECT 1 FROM users WHERE admin AND activo)' };

async function context(client: Record<string, unknown>): Promise<TestContext> {
  const ctx = await testContext(testConfig({
    stateUrl: state.url, demoUrl: prod.url, storageDir: dir,
    client: { verify: { minTables: 1, tables: SAMPLE_TABLES, checks: [CHECK_OK] }, roles: { systemOwners: ['U0OWNER'], itManagers: ['U0ITMGR'], qa: ['U0QA'], operators: ['U0OPER'] }, ...client },
  }));
  contexts.push(ctx);
  return ctx;
}

beforeAll(async () => {
  state = await createTestDatabase();
  prod = await createTestDatabase('bbrecprod');
  await fillSampleDatabase(prod.url);
  dir = await mkdtemp(join(tmpdir(), 'bb-rec-'));
  web = createServer((req, res) => {
    res.statusCode = 200;
    res.end(req.url === '/health' ? 'ok' : loginPage);
  });
  await new Promise<void>((ok) => web.listen(0, '127.0.0.1', ok));
  webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
}, 60_000);
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await new Promise((ok) => web.close(ok));
  await withPg(PG_ADMIN_URL, async (c) => {
    const dbs = (await c.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${prod.name}%`])).rows.map((r) => r.datname as string);
    for (const d of dbs) await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(d)} WITH (FORCE)`);
  });
  await state.drop();
  await rm(dir, { recursive: true, force: true });
});

test('no notifyChannel, no application: the request lists the skipped steps before approval; the runbook records them skipped with the reason; §12 says health "not checked"; verify.checks ran on production', async () => {
  const ctx = await context({});
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date(Date.now() - 3_600_000) });
  const approval = await approvedRequest(ctx, backup);
  const skipped = (approval.impact as { skippedSteps: Array<{ step: string; reason: string }> }).skippedSteps;
  expect(skipped.map((k) => [k.step, k.reason])).toEqual([
    ['notify_users', 'no notifyChannel configured for the users'],
    ['stop_app', 'no application configured (clients.demo.app)'],
    ['start_app', 'no application configured (clients.demo.app)'],
    ['notify_back', 'no notifyChannel configured for the users'],
  ]);
  // What the approver saw in the request message, before approving.
  const blocks = JSON.stringify(ctx.notifier.posts.find((p) => p.message.text.startsWith('Production restore of demo requested'))!.message.blocks);
  expect(blocks).toContain('*Steps that will be skipped:*');
  expect(blocks).toContain('• Notify users (maintenance notice): skipped — no notifyChannel configured for the users');

  const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', userName: 'Olga Operator', trigger: 'slack' });
  if (!r.ok) throw new Error(r.message);
  const row = (await getApproval(ctx.pool, approval.id))!;
  const byStep = (name: string) => row.steps.filter((s) => s.step === name).map((s) => [s.status, s.note]);
  expect(byStep('notify_users')).toEqual([['skipped', 'no notifyChannel configured for the users']]);
  expect(byStep('notify_back')).toEqual([['skipped', 'no notifyChannel configured for the users']]);
  expect(byStep('stop_app')).toEqual([['skipped', 'no application configured (clients.demo.app)']]);
  expect(row.steps.find((s) => s.step === 'verify' && s.status === 'done')!.note).toMatch(/; 1 verify\.checks passed$/);
  expect(r.register.checks).toEqual([
    { name: 'row counts match the backup manifest', ok: true },
    { name: 'database settings as in production', ok: true },
    { name: CHECK_OK.name, ok: true, detail: 'true' },
    { name: 'application health', ok: true, detail: 'not checked (no application configured)' },
  ]);
}, 120_000);

test('a verify.check that fails on the restored database fails the verify step: production is not switched', async () => {
  const ctx = await context({ verify: { minTables: 1, tables: SAMPLE_TABLES, checks: [CHECK_OK, { name: 'a million lots', sql: 'SELECT count(*) >= 1000000 FROM lotes' }] } });
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date(Date.now() - 1_800_000) });
  await writeAfterBackup(prod.url);
  const before = await tableChecksums(prod.url);
  const approval = await approvedRequest(ctx, backup);
  const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  expect(r).toMatchObject({ ok: false, failedStep: 'verify' });
  expect(r.ok ? '' : r.message).toMatch(/verify\.checks failed on the restored database: a million lots: returned "false" \(must return true\)/);
  expect(await tableChecksums(prod.url)).toEqual(before);
}, 120_000);

test('app.checks after the start: passing ones are in §12 with the health "passed"; a page without the expected text rolls back', async () => {
  const app = { stop: ['true'], start: ['true'], healthUrl: `${webUrl}/health`, healthTimeout: '5s', checks: [{ url: `${webUrl}/login`, expect: 'Iniciar sesión' }] };
  const ctx = await context({ app });
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date(Date.now() - 1_200_000) });
  const ok = await runRestore(ctx, { approvalId: (await approvedRequest(ctx, backup)).id, userId: 'U0OPER', trigger: 'slack' });
  if (!ok.ok) throw new Error(ok.message);
  expect(ok.register.checks).toEqual([
    { name: 'row counts match the backup manifest', ok: true },
    { name: 'database settings as in production', ok: true },
    { name: CHECK_OK.name, ok: true, detail: 'true' },
    { name: 'application health', ok: true, detail: 'passed' },
    { name: `app ${webUrl}/login`, ok: true, detail: 'HTTP 200, contains "Iniciar sesión"' },
  ]);

  // The restored application shows an error page instead of its login: the restore is rolled back.
  await writeAfterBackup(prod.url);
  const before = await tableChecksums(prod.url);
  const backup2 = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date(Date.now() - 600_000) });
  await writeAfterBackup(prod.url);
  const before2 = await tableChecksums(prod.url);
  expect(before2).not.toEqual(before);
  loginPage = '<h1>500 Internal Server Error</h1>';
  try {
    const bad = await runRestore(ctx, { approvalId: (await approvedRequest(ctx, backup2)).id, userId: 'U0OPER', trigger: 'slack' });
    expect(bad).toMatchObject({ ok: false, failedStep: 'start_app', rolledBack: true });
    expect(bad.ok ? '' : bad.message).toMatch(new RegExp(`app\\.checks failed: app ${webUrl}/login: the page does not contain "Iniciar sesión"`));
  } finally {
    loginPage = '<title>Conitrack — Iniciar sesión</title>';
  }
  expect(await tableChecksums(prod.url)).toEqual(before2);
}, 180_000);
