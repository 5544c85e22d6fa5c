import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, stat, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import pg from 'pg';
import { createTestDatabase, PG_ADMIN_URL, withPg, type TestDatabase, asSuperuser } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, FakeClock } from '../helpers/context.js';
import { fillSampleDatabase, SAMPLE_TABLES } from '../../src/core/demo-database.js';
import { requestRestore, REQUESTER_CHECKLIST_IDS } from '../../src/operations/request-restore.js';
import { runRestore } from '../../src/operations/restore.js';
import { dropExpiredOldDatabases, markRestoresInterrupted } from '../../src/operations/restore-recovery.js';
import { scheduledRetention } from '../../src/operations/scheduled-jobs.js';
import { getApproval, listRestoreIncidents } from '../../src/store/approvals.js';
import { listAudit } from '../../src/store/audit.js';
import { getBackup, listBackups } from '../../src/store/backup-register.js';
import { listRestoreTests } from '../../src/store/restore-test-register.js';
import { listOpenAlerts } from '../../src/store/alerts.js';
import { reapInterruptedRuns } from '../../src/store/interrupted.js';
import { approvedRequest, makeVerifiedBackup, tableChecksums, writeAfterBackup } from './restore-fixtures.js';

let state: TestDatabase;
let prod: TestDatabase;
let dir: string;
let health: Server;
let healthy = true;
let healthUrl: string;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const appName = `bbt-app-${process.pid}-${Date.now().toString(36)}`;
const contexts: Array<Awaited<ReturnType<typeof testContext>>> = [];

function config(extra: { client?: Record<string, unknown>; raw?: Record<string, unknown> } = {}) {
  return testConfig({
    stateUrl: state.url, demoUrl: prod.url, storageDir: dir,
    client: {
      channel: 'C0DEMO', notifyChannel: 'C0USERS',
      verify: { minTables: 1, tables: SAMPLE_TABLES },
      app: { containers: [appName], healthUrl, healthTimeout: '2s' },
      roles: { systemOwners: ['U0OWNER'], itManagers: ['U0ITMGR'], qa: ['U0QA'], operators: ['U0OPER'] },
      ...(extra.client ?? {}),
    },
    raw: extra.raw,
  });
}

async function context(extra: Parameters<typeof config>[0] = {}) {
  const ctx = await testContext(config(extra));
  contexts.push(ctx);
  return ctx;
}

async function appRunning(): Promise<boolean> {
  return (await docker.getContainer(appName).inspect()).State.Running;
}

async function dbExists(name: string): Promise<boolean> {
  return withPg(PG_ADMIN_URL, async (c) => ((await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount ?? 0) > 0);
}

beforeAll(async () => {
  state = await createTestDatabase();
  prod = await createTestDatabase('bbprod');
  await fillSampleDatabase(prod.url);
  dir = await mkdtemp(join(tmpdir(), 'bb-restore-'));
  health = createServer((_req, res) => { res.statusCode = healthy ? 200 : 503; res.end(healthy ? 'ok' : 'down'); });
  await new Promise<void>((ok) => health.listen(0, '127.0.0.1', ok));
  healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;
  const c = await docker.createContainer({ name: appName, Image: 'postgres:15', Env: ['POSTGRES_PASSWORD=x'], Labels: { 'backup-bot.test': 'restore-app' } });
  await c.start();
  // Wait until the stand-in app (postgres) finished its first start: a stop during initdb would wait for docker's timeout.
  for (let i = 0; i < 120; i++) {
    const logs = (await c.logs({ stdout: true, stderr: true })).toString();
    if ((logs.match(/ready to accept connections/g) ?? []).length >= 2) break;
    await new Promise((ok) => setTimeout(ok, 500));
  }
});

afterAll(async () => {
  for (const c of contexts) await Promise.race([c.close().catch(() => {}), new Promise((ok) => setTimeout(ok, 2000))]);
  await docker.getContainer(appName).remove({ force: true }).catch(() => {});
  await new Promise((ok) => health.close(ok));
  await withPg(PG_ADMIN_URL, async (c) => {
    const dbs = (await c.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${prod.name}%`])).rows.map((r) => r.datname as string);
    for (const d of dbs) await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(d)} WITH (FORCE)`);
  });
  await state?.drop();
  await rm(dir, { recursive: true, force: true });
});

test('full swap restore: production equals the backup, pre-restore backup stored, old database kept, every step audited', async () => {
  const ctx = await context();
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date(Date.now() - 3_600_000) });
  const atBackup = await tableChecksums(prod.url);
  await writeAfterBackup(prod.url);
  const before = await tableChecksums(prod.url);
  expect(before).not.toEqual(atBackup);
  const approval = await approvedRequest(ctx, backup);
  expect(approval.impact).toMatchObject({ rows: expect.arrayContaining([{ table: 'movimientos', backup: 1000, production: 1025, difference: 25 }]) });

  const refused = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OWNER', trigger: 'slack' });
  expect(refused).toMatchObject({ ok: false, message: expect.stringMatching(/only the requester/) });
  // An approval is used within approvals.ttl (24h) of being given.
  const later = await testContext(config(), { clock: new FakeClock(new Date(Date.now() + 25 * 3_600_000)) });
  contexts.push(later);
  const stale = await runRestore(later, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  expect(stale).toMatchObject({ ok: false, message: expect.stringMatching(/expired after approvals\.ttl \(24h\); request the restore again\. Nothing was done\./) });
  expect(await tableChecksums(prod.url)).toEqual(before);

  const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', userName: 'Olga Operator', trigger: 'slack' });
  if (!r.ok) throw new Error(r.message);
  expect(await tableChecksums(prod.url)).toEqual(atBackup);
  expect(await appRunning()).toBe(true);

  const row = (await getApproval(ctx.pool, approval.id))!;
  expect(row).toMatchObject({ status: 'completed', last_step: 'register', register_id: r.register.id });
  expect(row.old_database).toMatch(new RegExp(`^${prod.name}_old_\\d{14}_${row.run_id}$`));
  expect(await dbExists(row.old_database!)).toBe(true);
  expect(await tableChecksums(prod.url.replace(prod.name, row.old_database!))).toEqual(before);
  expect(row.old_database_drop_after!.getTime() - ctx.clock.now().getTime()).toBeGreaterThan(6 * 86_400_000);

  const pre = (await getBackup(ctx.pool, row.pre_restore_backup_id!))!;
  expect(pre).toMatchObject({ type: 'pre-restore', verified: true, result: 'OK' });
  expect((pre.manifest as { rowCounts: Record<string, number> }).rowCounts.movimientos).toBe(1025);
  const preFile = join(dir, pre.key!);
  expect((await stat(preFile)).size).toBe(Number(pre.size_bytes));

  expect(r.register).toMatchObject({ environment: 'Prod', approval_id: approval.id, result: 'OK', backup_used: backup.file });
  const audits = (await listAudit(ctx.pool, { client: 'demo' })).filter((a) => a.target === `approval:${approval.id}`);
  const actions = audits.map((a) => a.action);
  expect(actions).toEqual(expect.arrayContaining(['restore.requested', 'restore.approved', 'restore.started', 'restore.completed']));
  const done = audits.filter((a) => a.action === 'restore.step' && a.details.status === 'done').map((a) => a.details.step);
  expect(done).toEqual(['download', 'notify_users', 'stop_app', 'pre_restore_backup', 'terminate_connections', 'restore', 'verify', 'switch', 'start_app', 'notify_back', 'register']);

  // one runbook message, updated live; the users' notices in notifyChannel
  const runbook = ctx.notifier.posts.filter((p) => p.message.text.startsWith('Production restore of demo:'));
  expect(runbook).toHaveLength(1);
  expect(ctx.notifier.updates.filter((u) => u.ref.ts === runbook[0]!.ref.ts).length).toBeGreaterThan(10);
  expect(ctx.notifier.texts()[ctx.notifier.posts.indexOf(runbook[0]!)]).toMatch(/^Production restore of demo: completed/);
  const notices = ctx.notifier.posts.filter((p) => p.channel === 'C0USERS').map((p) => p.message.text);
  expect(notices[0]).toMatch(/Mantenimiento Programado/);
  expect(notices[1]).toMatch(/restaurados al estado del/);

  const again = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  expect(again).toMatchObject({ ok: false, message: expect.stringMatching(/is completed/) });
});

test('pre-restore backup fails: the restore never starts, production unchanged, application restarted, incident recorded', async () => {
  const ctx = await context({ client: { verify: { minTables: 500, tables: SAMPLE_TABLES } } });
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date(Date.now() - 1_800_000) });
  await writeAfterBackup(prod.url);
  const before = await tableChecksums(prod.url);
  const approval = await approvedRequest(ctx, backup);
  const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  expect(r).toMatchObject({ ok: false, failedStep: 'pre_restore_backup', rolledBack: false });
  expect(await tableChecksums(prod.url)).toEqual(before);
  expect(await appRunning()).toBe(true);
  const row = (await getApproval(ctx.pool, approval.id))!;
  expect(row.status).toBe('failed');
  expect(row.error).toMatch(/pre-restore backup did not complete verified.*Production was not changed/);
  expect(row.steps.some((s) => s.step === 'restore' || s.step === 'terminate_connections')).toBe(false);
  expect(row.steps.filter((s) => s.step === 'restart_app').map((s) => s.status)).toEqual(['started', 'done']);
  expect(await listRestoreIncidents(ctx.pool, { approvalId: approval.id })).toHaveLength(1);
  expect((await listOpenAlerts(ctx.pool, 'demo')).some((a) => a.message.includes(`request #${approval.id}`))).toBe(true);
  await ctx.pool.query(`UPDATE alerts SET resolved_at = now() WHERE client = 'demo' AND resolved_at IS NULL`);
});

test('restore fails halfway (application unhealthy after the switch): swapped back, production identical, app restarted', async () => {
  const ctx = await context();
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date(Date.now() - 1_200_000) });
  await writeAfterBackup(prod.url);
  const before = await tableChecksums(prod.url);
  const approval = await approvedRequest(ctx, backup);
  healthy = false;
  let r;
  try {
    r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  } finally {
    healthy = true;
  }
  expect(r).toMatchObject({ ok: false, failedStep: 'start_app', rolledBack: true });
  expect(await tableChecksums(prod.url)).toEqual(before);
  expect(await appRunning()).toBe(true);
  const row = (await getApproval(ctx.pool, approval.id))!;
  expect(row).toMatchObject({ status: 'rolled_back', old_database: null });
  expect(row.steps.filter((s) => s.status === 'done').map((s) => s.step)).toEqual(expect.arrayContaining(['switch', 'swap_back', 'restart_app']));
  const leftovers = await withPg(PG_ADMIN_URL, async (c) => (await c.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${prod.name}\\_%`])).rows.map((x) => x.datname));
  expect(leftovers.filter((d: string) => d.includes('_restore_') || d.includes('_failed_'))).toEqual([]);
  const [incident] = await listRestoreIncidents(ctx.pool, { approvalId: approval.id });
  expect(incident).toMatchObject({ backup_used: backup.file, data_lost: 'none (production unchanged or rolled back)' });
  expect(incident!.corrective_actions).toMatch(/renamed back/);
  expect((await listAudit(ctx.pool, { action: 'restore.rolled_back' })).some((a) => a.target === `approval:${approval.id}`)).toBe(true);
  await ctx.pool.query(`UPDATE alerts SET resolved_at = now() WHERE client = 'demo' AND resolved_at IS NULL`);
});

test('replace strategy: a backup that breaks halfway through loading → production restored from the pre-restore backup', async () => {
  const ctx = await context({ raw: { approvals: { strategy: 'replace' } } });
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date(Date.now() - 600_000) });
  // Corrupt the stored dump (registered sha256 updated, as if it had been broken before it was stored).
  const file = join(dir, backup.key!);
  const sql = gunzipSync(await readFile(file)).toString('utf8').replace('CREATE VIEW', 'CREATE VIEW broken AS SELECT nope FROM nothing;\nCREATE VIEW');
  const broken = gzipSync(Buffer.from(sql));
  await writeFile(file, broken);
  const sha = createHash('sha256').update(broken).digest('hex');
  await asSuperuser(ctx.pool, 'UPDATE backup_register SET sha256 = $2 WHERE id = $1', [backup.id, sha]);
  await writeAfterBackup(prod.url);
  const before = await tableChecksums(prod.url);
  const approval = await approvedRequest(ctx, (await getBackup(ctx.pool, backup.id))!);
  expect(approval.strategy).toBe('replace');
  const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  expect(r).toMatchObject({ ok: false, failedStep: 'restore', rolledBack: true });
  expect(await tableChecksums(prod.url)).toEqual(before);
  expect(await appRunning()).toBe(true);
  const row = (await getApproval(ctx.pool, approval.id))!;
  expect(row.status).toBe('rolled_back');
  expect(row.steps.find((s) => s.step === 'restore_pre_restore_backup' && s.status === 'done')).toBeDefined();
  await ctx.pool.query(`UPDATE alerts SET resolved_at = now() WHERE client = 'demo' AND resolved_at IS NULL`);
});

test('bot killed mid-runbook: at restart the request is interrupted with its last step, the old database is still there', async () => {
  const ctxA = await testContext(config());
  const backup = await makeVerifiedBackup(ctxA.pool, { url: prod.url, storageDir: dir, takenAt: new Date(Date.now() - 300_000) });
  const approval = await approvedRequest(ctxA, backup);
  let reached!: () => void;
  const atSwitch = new Promise<void>((ok) => { reached = ok; });
  void runRestore(ctxA, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' }, {
    afterStep: async (s) => { if (s === 'switch') { reached(); await new Promise(() => {}); } },
  }).catch(() => undefined);
  await atSwitch;
  // "kill": every connection of bot A dies (its instance lock goes with it), and A never runs again.
  const killed = await withPg(PG_ADMIN_URL, (c) => c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'backup-bot'`, [state.name]));
  expect(killed.rowCount).toBeGreaterThanOrEqual(2);
  void ctxA.close().catch(() => undefined);

  const ctxB = await context();
  const reaped = await reapInterruptedRuns(ctxB.pool, ctxB.clock.now());
  expect(reaped.some((x) => x.kind === 'restore')).toBe(true);
  const marked = await markRestoresInterrupted(ctxB);
  expect(marked.map((m) => m.id)).toEqual([approval.id]);
  const row = (await getApproval(ctxB.pool, approval.id))!;
  expect(row).toMatchObject({ status: 'interrupted', last_step: 'switch' });
  expect(row.error).toMatch(/last completed step: switch/);
  expect(await dbExists(row.old_database!)).toBe(true);
  expect(ctxB.notifier.texts().some((t) => t.includes('interrupted') && t.includes(row.old_database!))).toBe(true);
  expect((await listAudit(ctxB.pool, { action: 'restore.interrupted' })).map((a) => a.target)).toContain(`approval:${approval.id}`);
  // the interrupted request cannot be started again
  const again = await runRestore(ctxB, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  expect(again).toMatchObject({ ok: false, message: expect.stringMatching(/is interrupted/) });
  await docker.getContainer(appName).start().catch(() => undefined);
});

describe('partial restore (custom-format backup, IT Manager approval)', () => {
  test('refused before anything changes when other tables reference the chosen ones', async () => {
    const ctx = await context({ client: { database: { engine: 'postgres', url: prod.url, format: 'custom' } } });
    const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, format: 'custom', takenAt: new Date(Date.now() - 200_000) });
    const before = await tableChecksums(prod.url);
    const r = await requestRestore(ctx, { client: 'demo', backupId: backup.id, scope: 'partial', tables: ['lotes'], reason: 'bad lot edit', checklist: REQUESTER_CHECKLIST_IDS, requestedBy: 'U0OPER' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/foreign keys from tables outside the restore reference the chosen tables: .*bultos → lotes/);
    expect(await tableChecksums(prod.url)).toEqual(before);
    const plain = (await listBackups(ctx.pool, { client: 'demo' })).find((b) => b.format === 'plain')!;
    const r2 = await requestRestore(ctx, { client: 'demo', backupId: plain.id, scope: 'partial', tables: ['alertas'], reason: 'x', checklist: REQUESTER_CHECKLIST_IDS, requestedBy: 'U0OPER' });
    expect(r2).toMatchObject({ ok: false, message: expect.stringMatching(/needs a custom-format PostgreSQL backup/) });
  });

  test('chosen tables replaced in one transaction; other tables keep their newer data', async () => {
    const ctx = await context({ client: { database: { engine: 'postgres', url: prod.url, format: 'custom' } } });
    const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, format: 'custom', takenAt: new Date(Date.now() - 100_000) });
    const atBackup = await tableChecksums(prod.url);
    const maxAlerta = await withPg(prod.url, async (c) => Number((await c.query('SELECT max(id) AS m FROM alertas')).rows[0].m));
    await writeAfterBackup(prod.url);
    await withPg(prod.url, (c) => c.query(`INSERT INTO revinfo (revtstmp) VALUES (1); INSERT INTO lotes_aud (id, rev, revtype) SELECT 1, max(rev), 1 FROM revinfo`));
    const before = await tableChecksums(prod.url);
    const tables = ['configuracion', 'alertas', 'lotes_aud', 'revinfo'];
    const approval = await approvedRequest(ctx, backup, 'partial', tables);
    expect(approval).toMatchObject({ decided_role: 'IT Manager', strategy: 'partial' });
    const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
    if (!r.ok) throw new Error(r.message);
    const after = await tableChecksums(prod.url);
    for (const t of tables) expect(after[t]).toBe(atBackup[t]);
    for (const t of Object.keys(before).filter((x) => !tables.includes(x))) expect(after[t]).toBe(before[t]);
    // the sequence came back with the data: a new row gets the next id after the backup's
    const next = await withPg(prod.url, async (c) => (await c.query(`INSERT INTO alertas (mensaje, nivel) VALUES ('n', 'baja') RETURNING id`)).rows[0].id);
    expect(next).toBe(maxAlerta + 1);
    expect((await listRestoreTests(ctx.pool, { environment: 'Prod' })).some((x) => x.approval_id === approval.id)).toBe(true);
  });
});

test('old databases kept by completed swaps are dropped after approvals.keepOldFor; an interrupted one is never dropped', async () => {
  const ctx = await context();
  const kept = (await ctx.pool.query(`SELECT id, status, old_database FROM approval_rows WHERE old_database IS NOT NULL ORDER BY id`)).rows as Array<{ id: string; status: string; old_database: string }>;
  const completed = kept.filter((k) => k.status === 'completed');
  const interrupted = kept.filter((k) => k.status === 'interrupted');
  expect(completed.length).toBeGreaterThan(0);
  expect(await dropExpiredOldDatabases(ctx)).toEqual([]);
  await ctx.pool.query(`UPDATE approval_state SET old_database_drop_after = now() - interval '1 second' WHERE old_database IS NOT NULL`);
  // The daily retention job drops them (one run per client).
  const [job] = await scheduledRetention(ctx, { cron: '* * * * *' });
  expect(job).toMatchObject({ job: 'retention', client: 'demo', status: 'ok' });
  for (const k of completed) expect(job!.reason).toContain(k.old_database);
  expect(await dropExpiredOldDatabases(ctx)).toEqual([]);
  for (const k of completed) expect(await dbExists(k.old_database)).toBe(false);
  for (const k of interrupted) expect(await dbExists(k.old_database)).toBe(true);
  expect((await listAudit(ctx.pool, { action: 'restore.old_database_dropped' })).length).toBe(completed.length);
});
