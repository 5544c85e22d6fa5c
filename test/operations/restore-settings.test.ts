import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import pg from 'pg';
import { createTestDatabase, PG_ADMIN_URL, withPg, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext } from '../helpers/context.js';
import { fillSampleDatabase, SAMPLE_TABLES } from '../../src/core/demo-database.js';
import { runRestore } from '../../src/operations/restore.js';
import { getApproval } from '../../src/store/approvals.js';
import { parseDbUrl } from '../../src/core/db-url.js';
import { captureDatabaseSettings, compareDatabaseSettings, type DatabaseSettings } from '../../src/core/restore/pg-database-props.js';
import { approvedRequest, makeVerifiedBackup, tableChecksums, writeAfterBackup } from './restore-fixtures.js';

/**
 * Production keeps its settings (issue 15 item 4): a production restore (swap, replace, partial) gives the
 * database back the grants, `ALTER DATABASE … SET` and per-role settings, comment, owner, connection limit and
 * default privileges it had before, none of which CREATE DATABASE or a plain dump carries; the verify step
 * compares them, and a difference fails the step and rolls back.
 */
let state: TestDatabase;
let prod: TestDatabase;
let dir: string;
let health: Server;
let healthUrl: string;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const tag = `${process.pid}_${Date.now().toString(36)}`;
const appName = `bbt-app-settings-${tag.replace(/_/g, '-')}`;
const ROLE = { app: `bbt_app_${tag}`, owner: `bbt_owner_${tag}`, nobody: `bbt_nobody_${tag}`, gone: `bbt_gone_${tag}` };
const contexts: Array<Awaited<ReturnType<typeof testContext>>> = [];
const I = (s: string) => pg.escapeIdentifier(s);

async function context(client: Record<string, unknown> = {}, raw?: Record<string, unknown>) {
  const ctx = await testContext(testConfig({
    stateUrl: state.url, demoUrl: prod.url, storageDir: dir,
    client: {
      channel: 'C0DEMO', verify: { minTables: 1, tables: SAMPLE_TABLES }, app: { containers: [appName], healthUrl, healthTimeout: '2s' },
      roles: { systemOwners: ['U0OWNER'], itManagers: ['U0ITMGR'], qa: ['U0QA'], operators: ['U0OPER'] }, ...client,
    },
    raw,
  }));
  contexts.push(ctx);
  return ctx;
}

const settingsOf = (): Promise<DatabaseSettings> => captureDatabaseSettings(parseDbUrl(prod.url, 'postgres'), prod.name);

/** What the production database carries outside its dump; set after the backup is taken, so the backup has none of it. */
async function dressProduction(): Promise<void> {
  const D = I(prod.name);
  await withPg(PG_ADMIN_URL, async (c) => {
    await c.query(`ALTER DATABASE ${D} OWNER TO ${I(ROLE.owner)}`);
    await c.query(`REVOKE ALL ON DATABASE ${D} FROM PUBLIC`);
    await c.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${D} TO ${I(ROLE.app)}`);
    await c.query(`GRANT CREATE ON DATABASE ${D} TO ${I(ROLE.app)} WITH GRANT OPTION`);
    await c.query(`ALTER DATABASE ${D} SET statement_timeout = '5s'`);
    await c.query(`ALTER DATABASE ${D} SET search_path = app, "$user", public`);
    await c.query(`ALTER ROLE ${I(ROLE.app)} IN DATABASE ${D} SET work_mem = '8MB'`);
    await c.query(`COMMENT ON DATABASE ${D} IS 'ERP production: do not drop'`);
    await c.query(`ALTER DATABASE ${D} WITH CONNECTION LIMIT 40`);
  });
  await withPg(prod.url, async (c) => {
    await c.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${I(ROLE.app)}`);
    await c.query(`ALTER DEFAULT PRIVILEGES GRANT USAGE ON SEQUENCES TO ${I(ROLE.app)}`);
  });
}

/** Checks what a person would: PUBLIC cannot connect, the app role can and gets the database's settings. */
async function productionBehaves(): Promise<void> {
  const as = (role: string) => prod.url.replace('//postgres@', `//${role}@`);
  await expect(withPg(as(ROLE.nobody), (c) => c.query('SELECT 1'))).rejects.toThrow(/permission denied for database/);
  const shown = await withPg(as(ROLE.app), async (c) => ({
    timeout: (await c.query('SHOW statement_timeout')).rows[0].statement_timeout,
    workMem: (await c.query('SHOW work_mem')).rows[0].work_mem,
    path: (await c.query('SHOW search_path')).rows[0].search_path,
  }));
  expect(shown).toEqual({ timeout: '5s', workMem: '8MB', path: 'app, "$user", public' });
}

beforeAll(async () => {
  state = await createTestDatabase();
  prod = await createTestDatabase('bbprodset');
  expect(prod.url).toContain('//postgres@');
  await fillSampleDatabase(prod.url);
  await withPg(PG_ADMIN_URL, async (c) => {
    for (const r of [ROLE.app, ROLE.nobody, ROLE.gone]) await c.query(`CREATE ROLE ${I(r)} LOGIN`);
    await c.query(`CREATE ROLE ${I(ROLE.owner)}`);
  });
  dir = await mkdtemp(join(tmpdir(), 'bb-restore-settings-'));
  health = createServer((_req, res) => { res.end('ok'); });
  await new Promise<void>((ok) => health.listen(0, '127.0.0.1', ok));
  healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;
  // The stand-in application: any container will do; one that stops at once keeps the runbook quick.
  const c = await docker.createContainer({ name: appName, Image: 'postgres:15', Cmd: ['sleep', 'infinity'], StopSignal: 'SIGKILL', Labels: { 'backup-bot.test': 'restore-app' } });
  await c.start();
});

afterAll(async () => {
  for (const c of contexts) await Promise.race([c.close().catch(() => {}), new Promise((ok) => setTimeout(ok, 2000))]);
  await docker.getContainer(appName).remove({ force: true }).catch(() => {});
  await new Promise((ok) => health.close(ok));
  await withPg(PG_ADMIN_URL, async (c) => {
    const dbs = (await c.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${prod.name}%`])).rows.map((r) => r.datname as string);
    for (const d of dbs) await c.query(`DROP DATABASE IF EXISTS ${I(d)} WITH (FORCE)`);
    for (const r of Object.values(ROLE)) await c.query(`DROP ROLE IF EXISTS ${I(r)}`).catch(() => undefined);
  });
  await state?.drop();
  await rm(dir, { recursive: true, force: true });
});

test('swap (full): the restored database carries production\'s grants, settings, comment, owner, connection limit and default privileges', async () => {
  const ctx = await context();
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date(Date.now() - 3_600_000) });
  const atBackup = await tableChecksums(prod.url);
  await writeAfterBackup(prod.url);
  await dressProduction();
  const before = await settingsOf();
  expect(before).toMatchObject({ owner: ROLE.owner, connectionLimit: 40, comment: 'ERP production: do not drop', settings: { statement_timeout: '5s' } });
  expect(before.grants.some((g) => g.grantee === null)).toBe(false);
  expect(before.defaultPrivileges).toHaveLength(2);
  await productionBehaves();

  const r = await runRestore(ctx, { approvalId: (await approvedRequest(ctx, backup)).id, userId: 'U0OPER', trigger: 'slack' });
  if (!r.ok) throw new Error(r.message);
  expect(await tableChecksums(prod.url)).toEqual(atBackup);
  expect(compareDatabaseSettings(before, await settingsOf())).toEqual({ same: true, differences: [], notes: [] });
  await productionBehaves();
  const row = (await getApproval(ctx.pool, r.approval.id))!;
  expect(row.steps.find((s) => s.step === 'restore' && s.status === 'done')?.note).toMatch(/production's database settings applied \(\d+ change/);
  expect(row.steps.find((s) => s.step === 'verify' && s.status === 'done')?.note).toMatch(/grants, settings, comment, owner, connection limit and default privileges as in production/);
});

test('replace (full): dropped and created, the database gets every setting back', async () => {
  const ctx = await context({}, { approvals: { strategy: 'replace' } });
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date(Date.now() - 1_800_000) });
  const before = await settingsOf();
  const r = await runRestore(ctx, { approvalId: (await approvedRequest(ctx, backup)).id, userId: 'U0OPER', trigger: 'slack' });
  if (!r.ok) throw new Error(r.message);
  expect(r.approval.strategy).toBe('replace');
  expect(compareDatabaseSettings(before, await settingsOf()).differences).toEqual([]);
  await productionBehaves();
});

test('partial (custom format): the chosen tables are replaced and the database keeps its settings', async () => {
  const ctx = await context({ database: { engine: 'postgres', url: prod.url, format: 'custom' } });
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, format: 'custom', takenAt: new Date(Date.now() - 900_000) });
  const before = await settingsOf();
  const r = await runRestore(ctx, { approvalId: (await approvedRequest(ctx, backup, 'partial', ['alertas'])).id, userId: 'U0OPER', trigger: 'slack' });
  if (!r.ok) throw new Error(r.message);
  expect(compareDatabaseSettings(before, await settingsOf()).differences).toEqual([]);
  await productionBehaves();
  expect((await getApproval(ctx.pool, r.approval.id))!.steps.find((s) => s.step === 'verify' && s.status === 'done')?.note).toMatch(/as in production/);
});

test('a setting that cannot be put back fails the verify step and rolls back: production is reloaded from the pre-restore backup with its settings', async () => {
  const ctx = await context({}, { approvals: { strategy: 'replace' } });
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date(Date.now() - 600_000) });
  await writeAfterBackup(prod.url);
  await withPg(PG_ADMIN_URL, (c) => c.query(`GRANT CONNECT ON DATABASE ${I(prod.name)} TO ${I(ROLE.gone)}`));
  const data = await tableChecksums(prod.url);
  const before = await settingsOf();
  expect(before.grants.map((g) => g.grantee)).toContain(ROLE.gone);
  const approval = await approvedRequest(ctx, backup);
  // After the settings were captured (with the pre-restore backup), the role they grant to disappears.
  const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' }, {
    afterStep: async (step) => {
      if (step !== 'pre_restore_backup') return;
      await withPg(PG_ADMIN_URL, async (c) => {
        await c.query(`REVOKE ALL ON DATABASE ${I(prod.name)} FROM ${I(ROLE.gone)}`);
        await c.query(`DROP ROLE ${I(ROLE.gone)}`);
      });
    },
  });
  expect(r).toMatchObject({ ok: false, failedStep: 'verify', rolledBack: true });
  const row = (await getApproval(ctx.pool, approval.id))!;
  expect(row.status).toBe('rolled_back');
  const failed = row.steps.find((s) => s.step === 'verify' && s.status === 'failed')!;
  expect(failed.note).toMatch(new RegExp(`does not carry production's settings: grants on the database to ${ROLE.gone}: expected CONNECT, found nothing`));
  expect(row.steps.find((s) => s.step === 'restore_pre_restore_backup' && s.status === 'done')?.note).toMatch(/settings applied/);
  // production: the data it had, and every setting but the grant to the role that no longer exists
  expect(await tableChecksums(prod.url)).toEqual(data);
  const after = compareDatabaseSettings(before, await settingsOf());
  expect(after.differences).toHaveLength(1);
  expect(after.differences[0]).toMatch(new RegExp(`grants on the database to ${ROLE.gone}`));
  await productionBehaves();
});
