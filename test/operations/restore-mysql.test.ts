import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import Docker from 'dockerode';
import mysql from 'mysql2/promise';
import { createTestDatabase, PG_ADMIN_URL, withPg, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { mysqlExec } from '../helpers/mariadb.js';
import { approvedRequest } from './restore-fixtures.js';
import { databasesLike, dropDatabasesLike, seedShop, snapshot, uniqueDb, type DbSnapshot } from '../helpers/mysql-restore.js';
import { runBackup } from '../../src/operations/backup.js';
import { checkEvidence } from '../../src/operations/check-evidence.js';
import { exportRegister } from '../../src/operations/export-register.js';
import { requestRestore, REQUESTER_CHECKLIST_IDS } from '../../src/operations/request-restore.js';
import { runRestore } from '../../src/operations/restore.js';
import { dropExpiredOldDatabases, markRestoresInterrupted } from '../../src/operations/restore-recovery.js';
import { getApproval, listApprovals, listRestoreIncidents } from '../../src/store/approvals.js';
import { listAudit } from '../../src/store/audit.js';
import { insertBackup, type BackupRow } from '../../src/store/backup-register.js';
import { listRestoreTests } from '../../src/store/restore-test-register.js';
import { reapInterruptedRuns } from '../../src/store/interrupted.js';

/**
 * The production-restore runbook for a MySQL/MariaDB client, end to end against the real MariaDB on
 * 127.0.0.1:3306: request → signed approval → runbook (restore-steps.ts with restore-mysql.ts), faults and
 * the way back, the bot killed mid-runbook, the old tables dropped after approvals.keepOldFor.
 */

const PREFIX = uniqueDb('bbmr');
let state: TestDatabase;
let dir: string;
let health: Server;
let healthy = true;
let healthUrl: string;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const appName = `bbt-myapp-${process.pid}-${Date.now().toString(36)}`;
const contexts: TestContext[] = [];
const TABLES = ['customers', 'orders', 'legacy'];

function config(prod: string, extra: { client?: Record<string, unknown>; approvals?: Record<string, unknown>; url?: string } = {}) {
  return testConfig({
    stateUrl: state.url, storageDir: dir,
    client: {
      database: { engine: 'mysql', url: extra.url ?? `mysql://root@127.0.0.1:3306/${prod}` },
      channel: 'C0DEMO', notifyChannel: 'C0USERS',
      verify: { minTables: 1, tables: TABLES, checks: [{ name: 'orders have customers', sql: 'SELECT COUNT(*) = 0 FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL' }] },
      app: { containers: [appName], healthUrl, healthTimeout: '2s' },
      roles: { systemOwners: ['U0OWNER'], itManagers: ['U0ITMGR'], qa: ['U0QA'], operators: ['U0OPER'] },
      ...(extra.client ?? {}),
    },
    raw: { approvals: { lockWait: '2s', ...(extra.approvals ?? {}) } },
  });
}

async function context(prod: string, extra: Parameters<typeof config>[1] = {}): Promise<TestContext> {
  const ctx = await testContext(config(prod, extra));
  contexts.push(ctx);
  return ctx;
}

async function appRunning(): Promise<boolean> {
  return (await docker.getContainer(appName).inspect()).State.Running;
}

/** Production with the shop schema and an event; its verified backup (runBackup: mysqldump --events); then changes. */
async function prepare(ctx: TestContext, prod: string): Promise<{ backup: BackupRow; atBackup: DbSnapshot; changed: DbSnapshot }> {
  const r = await runBackup(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli', wait: true });
  if (!r.ok || !r.verified || !r.backup) throw new Error(`backup failed: ${r.error}`);
  const atBackup = await snapshot(prod);
  await mysqlExec(`
    INSERT INTO customers (id, name) VALUES (50, 'nuevo'); INSERT INTO orders (id, customer_id, total) VALUES (50, 50, 3.25); UPDATE orders SET total = 999 WHERE id = 1;
    CREATE TABLE added_later (i INT); INSERT INTO added_later VALUES (1);
    CREATE OR REPLACE VIEW big_orders AS SELECT o.id, c.name, o.total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.total > 100;
    DROP TRIGGER customers_bi; CREATE TRIGGER customers_bi BEFORE INSERT ON customers FOR EACH ROW SET NEW.updated_by = 'changed';
    DROP PROCEDURE count_orders; DROP EVENT ev_purge; CREATE EVENT ev_new ON SCHEDULE EVERY 2 DAY DISABLE DO DELETE FROM audit_log WHERE id < 0;`, prod);
  const changed = await snapshot(prod);
  expect(changed).not.toEqual(atBackup);
  return { backup: r.backup, atBackup, changed };
}

async function seed(name: string): Promise<string> {
  const prod = `${PREFIX}_${name}`;
  await seedShop(prod, 20);
  await mysqlExec('CREATE EVENT ev_purge ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit_log WHERE id < 0', prod);
  // An object defined by another account: recreated with its own definer.
  await mysqlExec("CREATE DEFINER = 'mariadb.sys'@'localhost' SQL SECURITY INVOKER VIEW legacy_ids AS SELECT id FROM legacy", prod);
  return prod;
}

/** `kind name` → DEFINER of every view, trigger, routine and event (the snapshot compares definitions without it). */
async function definers(db: string): Promise<Record<string, string>> {
  const out = await mysqlExec(`
    SELECT CONCAT('view ', TABLE_NAME), DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '${db}'
    UNION ALL SELECT CONCAT('trigger ', TRIGGER_NAME), DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '${db}'
    UNION ALL SELECT CONCAT(LOWER(ROUTINE_TYPE), ' ', ROUTINE_NAME), DEFINER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '${db}'
    UNION ALL SELECT CONCAT('event ', EVENT_NAME), DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '${db}'`);
  return Object.fromEntries(out.split('\n').filter(Boolean).map((l) => l.split('\t') as [string, string]));
}

async function resolveAlerts(ctx: TestContext): Promise<void> {
  await ctx.pool.query(`UPDATE alerts SET resolved_at = now() WHERE client = 'demo' AND resolved_at IS NULL`);
}

beforeAll(async () => {
  state = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'bb-myrestore-'));
  health = createServer((_req, res) => { res.statusCode = healthy ? 200 : 503; res.end(healthy ? 'ok' : 'down'); });
  await new Promise<void>((ok) => health.listen(0, '127.0.0.1', ok));
  healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;
  // The application stand-in: a container that stops at once on SIGTERM.
  const c = await docker.createContainer({
    name: appName, Image: 'postgres:15', Entrypoint: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.2; done'],
    Labels: { 'backup-bot.test': 'restore-app' }, HostConfig: { NetworkMode: 'none' },
  });
  await c.start();
});

afterAll(async () => {
  for (const c of contexts) await Promise.race([c.close().catch(() => {}), new Promise((ok) => setTimeout(ok, 2000))]);
  await docker.getContainer(appName).remove({ force: true }).catch(() => {});
  await new Promise((ok) => health.close(ok));
  await dropDatabasesLike(PREFIX);
  await state?.drop();
  await rm(dir, { recursive: true, force: true });
});

test('full swap restore with approval: production equals the backup (tables, checksums, views, triggers, routines, events, charset), old tables kept, every step audited', async () => {
  const prod = await seed('full');
  const ctx = await context(prod);
  const definersAtBackup = await definers(prod);
  const { backup, atBackup, changed } = await prepare(ctx, prod);
  await mysqlExec("ALTER DEFINER = 'root'@'localhost' VIEW legacy_ids AS SELECT id FROM legacy", prod);
  const approval = await approvedRequest(ctx, backup);
  expect(approval.impact).toMatchObject({ rows: expect.arrayContaining([{ table: 'customers', backup: 20, production: 21, difference: 1 }]) });
  // The application's session on production: ended by the runbook (KILL), not the bot's own.
  const appSession = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: prod });
  appSession.on('error', () => {});

  const refused = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OWNER', trigger: 'slack' });
  expect(refused).toMatchObject({ ok: false, message: expect.stringMatching(/only the requester/) });
  expect(await snapshot(prod)).toEqual(changed);
  expect(await definers(prod)).not.toEqual(definersAtBackup);

  const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', userName: 'Olga Operator', trigger: 'slack' });
  if (!r.ok) throw new Error(r.message);
  expect(await snapshot(prod)).toEqual(atBackup);
  expect(await definers(prod)).toEqual(definersAtBackup);
  expect(definersAtBackup['view legacy_ids']).toBe('mariadb.sys@localhost');
  expect(atBackup.charset).toBe('utf8mb4/utf8mb4_unicode_ci');
  expect(Object.keys(atBackup.objects).sort()).toEqual(['event ev_purge', 'function order_total', 'procedure count_orders', 'trigger customers_bi', 'trigger orders_ai', 'view big_order_names', 'view big_orders', 'view latin_view', 'view legacy_ids']);
  expect(atBackup.tables.legacy!.create).toMatch(/CHARSET=latin1/);
  expect(await appRunning()).toBe(true);
  await expect(appSession.query('SELECT 1')).rejects.toThrow();
  await appSession.destroy();

  const row = (await getApproval(ctx.pool, approval.id))!;
  const oldDb = `${prod}__old_${approval.id}`;
  expect(row).toMatchObject({ status: 'completed', last_step: 'register', register_id: r.register.id, old_database: oldDb, restore_database: `${prod}__restore_${approval.id}` });
  expect(row.old_database_drop_after!.getTime() - ctx.clock.now().getTime()).toBeGreaterThan(6 * 86_400_000);
  expect(await databasesLike(`${prod}__`)).toEqual([oldDb]);
  // Production's previous tables, as they were, in the old database.
  expect((await mysqlExec('SELECT COUNT(*) FROM added_later', oldDb)).trim()).toBe('1');
  expect((await mysqlExec('SELECT total FROM orders WHERE id = 1', oldDb)).trim()).toBe('999.00');
  const pre = (await listApprovals(ctx.pool, { client: 'demo' })).find((a) => a.id === approval.id)!.pre_restore_backup_id;
  expect(pre).not.toBeNull();

  expect(r.register).toMatchObject({ environment: 'Prod', approval_id: approval.id, result: 'OK', backup_used: backup.file });
  expect(r.register.checks.map((c) => c.name)).toEqual(['row counts match the backup manifest', 'CHECKSUM TABLE of production equals the restored copy', 'verify.checks: orders have customers', 'application health']);
  expect(r.register.records_verified).toEqual({ customers: 20, orders: 20, legacy: 20 });
  const audits = (await listAudit(ctx.pool, { client: 'demo' })).filter((a) => a.target === `approval:${approval.id}`);
  expect(audits.map((a) => a.action)).toEqual(expect.arrayContaining(['restore.requested', 'restore.approved', 'restore.started', 'restore.completed']));
  const done = audits.filter((a) => a.action === 'restore.step' && a.details.status === 'done');
  expect(done.map((a) => a.details.step)).toEqual(['download', 'notify_users', 'stop_app', 'pre_restore_backup', 'terminate_connections', 'restore', 'verify', 'switch', 'start_app', 'notify_back', 'register']);
  const note = (step: string) => String(done.find((a) => a.details.step === step)!.details.note);
  expect(note('download')).toMatch(/holds the privileges of a swap restore/);
  expect(note('terminate_connections')).toMatch(/^[1-9]\d* session\(s\) on .* ended \(KILL CONNECTION/);
  expect(note('switch')).toMatch(/one RENAME TABLE .*: 4 restored table\(s\) into .*, its previous 5 kept in .*__old_.* 9 view\(s\)\/trigger\(s\)\/routine\(s\)\/event\(s\) recreated .*CHECKSUM TABLE: 4 table\(s\) match; 1 verify.checks passed/);

  // One runbook message updated live; the users' notices.
  const runbook = ctx.notifier.posts.filter((p) => p.message.text.startsWith('Production restore of demo:'));
  expect(runbook).toHaveLength(1);
  expect(ctx.notifier.texts()[ctx.notifier.posts.indexOf(runbook[0]!)]).toMatch(/^Production restore of demo: completed/);
  expect(ctx.notifier.posts.filter((p) => p.channel === 'C0USERS')).toHaveLength(2);

  const again = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  expect(again).toMatchObject({ ok: false, message: expect.stringMatching(/is completed/) });

  // The §12 register (as exported for an inspector) has the Prod row; every chain and signature verifies.
  const csv = await exportRegister(ctx, { register: 'restore-tests', client: 'demo', format: 'csv', timezone: 'UTC' });
  const prodLine = csv.split('\n').find((l) => l.includes(`#${approval.id} approved by Sofía Owner`))!;
  expect(prodLine).toMatch(new RegExp(`${backup.file!.replace(/\./g, '\\.')}.*,Prod,.*customers:20.*,OK,.*Production restore \\(swap\\).*previous tables kept as ${prod}__old_${approval.id} until`));
  expect(await checkEvidence(ctx, { reason: 'verify', actor: 'test' })).toMatchObject({ ok: true, broken: [] });

  // After approvals.keepOldFor the retention drops the old tables (not before).
  expect(await dropExpiredOldDatabases(ctx)).toEqual([]);
  await ctx.pool.query(`UPDATE approval_state SET old_database_drop_after = now() - interval '1 second' WHERE approval_id = $1`, [approval.id]);
  expect(await dropExpiredOldDatabases(ctx)).toEqual([{ approvalId: approval.id, client: 'demo', database: oldDb }]);
  expect(await databasesLike(`${prod}__`)).toEqual([]);
  expect(await snapshot(prod)).toEqual(atBackup);
});

test('a fault after the switch (verify.checks fails on production): swapped back, production exactly as before, nothing left aside, incident recorded', async () => {
  const prod = await seed('checks');
  const ctx = await context(prod, { client: { verify: { minTables: 1, tables: TABLES, checks: [{ name: 'the table added after the backup is there', sql: 'SELECT COUNT(*) >= 0 FROM added_later' }] } } });
  const { backup, changed } = await prepare(ctx, prod);
  const approval = await approvedRequest(ctx, backup);
  const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  expect(r).toMatchObject({ ok: false, failedStep: 'switch', rolledBack: true });
  expect(await snapshot(prod)).toEqual(changed);
  expect(await appRunning()).toBe(true);
  expect(await databasesLike(`${prod}__`)).toEqual([]);
  const row = (await getApproval(ctx.pool, approval.id))!;
  expect(row).toMatchObject({ status: 'rolled_back', old_database: null });
  expect(row.error).toMatch(/switch failed: verify\.checks failed on production: the table added after the backup is there: .*added_later.* doesn't exist.*Rolled back: production's previous tables renamed back/);
  expect(row.steps.filter((s) => s.status === 'done').map((s) => s.step)).toEqual(expect.arrayContaining(['verify', 'swap_back', 'restart_app']));
  const [incident] = await listRestoreIncidents(ctx.pool, { approvalId: approval.id });
  expect(incident).toMatchObject({ backup_used: backup.file, data_lost: 'none (production unchanged or rolled back)' });
  expect(incident!.corrective_actions).toMatch(/renamed back/);
  expect((await listAudit(ctx.pool, { action: 'restore.rolled_back' })).some((a) => a.target === `approval:${approval.id}`)).toBe(true);
  expect(ctx.notifier.texts().some((t) => t.startsWith('Production restore of demo: failed — rolled back'))).toBe(true);
  expect(await checkEvidence(ctx, { reason: 'verify', actor: 'test' })).toMatchObject({ ok: true, broken: [] });
  await resolveAlerts(ctx);
});

test('the application unhealthy after the switch: swapped back (views, triggers, routines and definers as before), application restarted', async () => {
  const prod = await seed('health');
  const ctx = await context(prod);
  const { backup, changed } = await prepare(ctx, prod);
  const definersBefore = await definers(prod);
  const approval = await approvedRequest(ctx, backup);
  healthy = false;
  let r;
  try {
    r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  } finally {
    healthy = true;
  }
  expect(r).toMatchObject({ ok: false, failedStep: 'start_app', rolledBack: true });
  expect(await snapshot(prod)).toEqual(changed);
  expect(await definers(prod)).toEqual(definersBefore);
  expect(await databasesLike(`${prod}__`)).toEqual([]);
  expect(await appRunning()).toBe(true);
  const row = (await getApproval(ctx.pool, approval.id))!;
  expect(row).toMatchObject({ status: 'rolled_back', old_database: null });
  // The way back, in order: the application stopped again (it must not write during the swap back), production back, restarted.
  const after = row.steps.slice(row.steps.findIndex((s) => s.step === 'start_app' && s.status === 'failed') + 1);
  expect(after.filter((s) => s.status === 'done').map((s) => s.step)).toEqual(['stop_app_again', 'swap_back', 'restart_app']);
  await resolveAlerts(ctx);
});

test('a truncated backup fails before the swap: production untouched, no __restore_ database left, application restarted', async () => {
  const prod = await seed('trunc');
  const ctx = await context(prod);
  const { backup, changed } = await prepare(ctx, prod);
  // The stored backup cut short (registered with its own sha256, as if it had been stored truncated).
  const bytes = await readFile(join(dir, backup.key!));
  const cut = bytes.subarray(0, Math.floor(bytes.length * 0.6));
  const key = backup.key!.replace(/\.sql\.gz$/, '_cut.sql.gz');
  await writeFile(join(dir, key), cut);
  const sha256 = createHash('sha256').update(cut).digest('hex');
  const truncated = await insertBackup(ctx.pool, {
    client: 'demo', takenAt: backup.taken_at, type: 'manual', file: key.split('/').pop()!, key, format: 'plain', engine: 'mysql', sizeBytes: cut.length, verified: true,
    verifiedAt: backup.taken_at, executedBy: 'test', result: 'OK', sha256, tablesCounted: backup.tables_counted, locations: [{ destination: 'local', ok: true, key }],
    manifest: { ...(backup.manifest as Record<string, unknown>), key, sha256, sizeBytes: cut.length },
  });
  const approval = await approvedRequest(ctx, truncated);
  const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  expect(r).toMatchObject({ ok: false, failedStep: 'restore', rolledBack: false });
  expect(r.ok || r.message).toMatch(/restore failed: loading the backup into .*__restore_.* failed \(gzip error: .*truncated or damaged\).*production .* was not touched.*Production was not changed/);
  expect(await snapshot(prod)).toEqual(changed);
  expect(await databasesLike(`${prod}__`)).toEqual([]);
  expect(await appRunning()).toBe(true);
  expect((await getApproval(ctx.pool, approval.id))!).toMatchObject({ status: 'failed', old_database: null });
  await resolveAlerts(ctx);
});

test('a corrupted backup (damaged SQL) fails before the swap: production untouched, no __restore_ database left', async () => {
  const prod = await seed('corrupt');
  const ctx = await context(prod);
  const { backup, changed } = await prepare(ctx, prod);
  const original = gunzipSync(await readFile(join(dir, backup.key!))).toString('utf8');
  const sql = original.replace(/INSERT INTO `orders` VALUES\s*\(/, 'INSERT INTO `orders` VALUES (((');
  expect(sql).not.toBe(original);
  const broken = gzipSync(Buffer.from(sql));
  const key = backup.key!.replace(/\.sql\.gz$/, '_bad.sql.gz');
  await writeFile(join(dir, key), broken);
  const sha256 = createHash('sha256').update(broken).digest('hex');
  const bad = await insertBackup(ctx.pool, {
    client: 'demo', takenAt: backup.taken_at, type: 'manual', file: key.split('/').pop()!, key, format: 'plain', engine: 'mysql', sizeBytes: broken.length, verified: true,
    verifiedAt: backup.taken_at, executedBy: 'test', result: 'OK', sha256, tablesCounted: backup.tables_counted, locations: [{ destination: 'local', ok: true, key }],
    manifest: { ...(backup.manifest as Record<string, unknown>), key, sha256, sizeBytes: broken.length },
  });
  const approval = await approvedRequest(ctx, bad);
  const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  expect(r).toMatchObject({ ok: false, failedStep: 'restore', rolledBack: false });
  expect(r.ok || r.message).toMatch(/ERROR 1064 .*syntax/);
  expect(await snapshot(prod)).toEqual(changed);
  expect(await databasesLike(`${prod}__`)).toEqual([]);
  await resolveAlerts(ctx);
});

test('the server connection lost mid-load: the restore step fails, production untouched, no __restore_ database left', async () => {
  const prod = await seed('gone');
  await mysqlExec('INSERT INTO audit_log (what) SELECT CONCAT(\'row \', seq, REPEAT(\'x\', 60)) FROM seq_1_to_60000', prod);
  const ctx = await context(prod);
  const { backup, changed } = await prepare(ctx, prod);
  const approval = await approvedRequest(ctx, backup);
  const restoreDb = `${prod}__restore_${approval.id}`;
  // The loader's session is cut by the server (KILL) while it loads.
  let stop = false;
  let killed = 0;
  const killer = (async () => {
    while (!stop && killed === 0) {
      const ids = (await mysqlExec(`SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '${restoreDb}' AND COMMAND = 'Query'`).catch(() => '')).split('\n').filter(Boolean);
      for (const id of ids) { await mysqlExec(`KILL CONNECTION ${id}`).catch(() => undefined); killed++; }
      await new Promise((ok) => setTimeout(ok, 5));
    }
  })();
  let r;
  try {
    r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  } finally {
    stop = true;
    await killer;
  }
  expect(killed).toBeGreaterThan(0);
  expect(r).toMatchObject({ ok: false, failedStep: 'restore', rolledBack: false });
  expect(r.ok || r.message).toMatch(/loading the backup into .* failed \(exit code 1\): ERROR (2013|2006|1927) \((HY000|70100)\)( at line \d+)?: (Lost connection|.*[Ss]erver has gone away|Connection was killed)/);
  expect(r.ok || r.message).not.toMatch(/xxxxxxxx/); // the client's echo of the statement (row data) is never shown
  expect(await snapshot(prod)).toEqual(changed);
  expect(await databasesLike(`${prod}__`)).toEqual([]);
  await resolveAlerts(ctx);
});

test('a table locked by a long transaction when the swap starts: waits approvals.lockWait, fails cleanly, production untouched, restored copy dropped', async () => {
  const prod = await seed('lock');
  const ctx = await context(prod);
  const { backup, changed } = await prepare(ctx, prod);
  const approval = await approvedRequest(ctx, backup);
  // Not on production as default database: the runbook's KILL leaves it alone, like a session of another application.
  const holder = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  let r;
  try {
    await holder.query('START TRANSACTION');
    await holder.query(`SELECT COUNT(*) FROM \`${prod}\`.orders`);
    r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    await holder.end();
  }
  expect(r).toMatchObject({ ok: false, failedStep: 'switch', rolledBack: false });
  expect(r.ok || r.message).toMatch(/switch failed: locking the tables waited 2 s \(lock_wait_timeout\) for a table locked by another session .*Production was not changed/);
  expect(await snapshot(prod)).toEqual(changed);
  expect(await databasesLike(`${prod}__`)).toEqual([]);
  expect(await appRunning()).toBe(true);
  const row = (await getApproval(ctx.pool, approval.id))!;
  expect(row).toMatchObject({ status: 'failed', old_database: null });
  expect(row.steps.filter((s) => s.status === 'done').map((s) => s.step)).toEqual(expect.arrayContaining(['drop_restored_copy', 'restart_app']));
  await resolveAlerts(ctx);
});

test('an account without the privileges for RENAME TABLE across databases: refused before anything changes, with the GRANTs needed (which then suffice)', async () => {
  const prod = await seed('priv');
  const user = `${PREFIX.slice(-10)}_lim`;
  const account = `'${user}'@'%'`;
  await mysqlExec(`DROP USER IF EXISTS ${account}; CREATE USER ${account} IDENTIFIED BY 'Lim-pw-1'; GRANT SELECT, INSERT, UPDATE, DELETE ON \`${prod}\`.* TO ${account}`);
  try {
    const root = await context(prod);
    const { backup, changed } = await prepare(root, prod);
    const ctx = await context(prod, { url: `mysql://${user}:Lim-pw-1@127.0.0.1:3306/${prod}` });
    const before = (await listApprovals(ctx.pool, {})).length;
    const refused = await requestRestore(ctx, { client: 'demo', backupId: backup.id, scope: 'full', reason: 'x', checklist: REQUESTER_CHECKLIST_IDS, requestedBy: 'U0OPER' });
    expect(refused.ok).toBe(false);
    const message = refused.ok ? '' : refused.message;
    expect(message).toMatch(new RegExp(`the MySQL account '${user}'@'%' lacks privileges the swap restore of "${prod}" needs: .*ALTER.* Nothing was changed\\. An administrator can grant them with: GRANT .*ALTER.* ON \`${prod}\`\\.\\* TO '${user}'@'%';`));
    expect(message).not.toContain('Lim-pw-1');
    expect((await listApprovals(ctx.pool, {})).length).toBe(before);
    // The GRANTs given in the answer suffice.
    await mysqlExec(message.slice(message.indexOf('grant them with: ') + 'grant them with: '.length));
    const approval = await approvedRequest(ctx, backup);
    // Then a privilege is taken away after the approval: the runbook refuses in its first step, before the application is stopped.
    await mysqlExec(`REVOKE ALTER ON \`${prod}\`.* FROM ${account}`);
    const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
    expect(r).toMatchObject({ ok: false, failedStep: 'download', rolledBack: false });
    expect(r.ok || r.message).toMatch(/ALTER on `.*`\.\*.*GRANT ALTER ON/);
    const row = (await getApproval(ctx.pool, approval.id))!;
    expect(row.steps.some((s) => s.step === 'stop_app')).toBe(false);
    expect(await snapshot(prod)).toEqual(changed);
    expect(await databasesLike(`${prod}__`)).toEqual([]);
    expect(await appRunning()).toBe(true);
  } finally {
    await mysqlExec(`DROP USER IF EXISTS ${account}`);
  }
});

test('bot killed mid-runbook (after the switch): at restart the request is interrupted with its last step, the old tables are kept', async () => {
  const prod = await seed('kill');
  const ctxA = await testContext(config(prod));
  const { backup, atBackup } = await prepare(ctxA, prod);
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

  const ctxB = await context(prod);
  const reaped = await reapInterruptedRuns(ctxB.pool, ctxB.clock.now());
  expect(reaped.some((x) => x.kind === 'restore')).toBe(true);
  const marked = await markRestoresInterrupted(ctxB);
  expect(marked.map((m) => m.id)).toEqual([approval.id]);
  const row = (await getApproval(ctxB.pool, approval.id))!;
  const oldDb = `${prod}__old_${approval.id}`;
  expect(row).toMatchObject({ status: 'interrupted', last_step: 'switch', old_database: oldDb });
  expect(row.error).toMatch(/last completed step: switch/);
  // Nothing was dropped: production has the restored data, its previous tables are in the old database.
  expect(await databasesLike(`${prod}__`)).toEqual([oldDb]);
  expect(await snapshot(prod)).toEqual(atBackup);
  expect((await mysqlExec('SELECT COUNT(*) FROM customers', oldDb)).trim()).toBe('21');
  expect(ctxB.notifier.texts().some((t) => t.includes('interrupted') && t.includes(oldDb))).toBe(true);
  expect((await listAudit(ctxB.pool, { action: 'restore.interrupted' })).map((a) => a.target)).toContain(`approval:${approval.id}`);
  const again = await runRestore(ctxB, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
  expect(again).toMatchObject({ ok: false, message: expect.stringMatching(/is interrupted/) });
  // An interrupted restore's old tables are never dropped by the retention.
  await ctxB.pool.query(`UPDATE approval_state SET old_database_drop_after = now() - interval '1 second' WHERE approval_id = $1`, [approval.id]);
  expect((await dropExpiredOldDatabases(ctxB)).map((d) => d.database)).not.toContain(oldDb);
  expect(await databasesLike(`${prod}__`)).toEqual([oldDb]);
  await docker.getContainer(appName).start().catch(() => undefined);
});

describe('partial restore (IT Manager approval): only the chosen tables are swapped', () => {
  test('refused before anything changes when a foreign key crosses the chosen tables', async () => {
    const prod = await seed('pfk');
    const ctx = await context(prod);
    const { backup, changed } = await prepare(ctx, prod);
    const r = await requestRestore(ctx, { client: 'demo', backupId: backup.id, scope: 'partial', tables: ['orders'], reason: 'x', checklist: REQUESTER_CHECKLIST_IDS, requestedBy: 'U0OPER' });
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/foreign keys cross the chosen tables: orders → customers \(fk_orders_customer\)/) });
    const r2 = await requestRestore(ctx, { client: 'demo', backupId: backup.id, scope: 'partial', tables: ['otherdb.legacy'], reason: 'x', checklist: REQUESTER_CHECKLIST_IDS, requestedBy: 'U0OPER' });
    expect(r2).toMatchObject({ ok: false, message: expect.stringMatching(/is not in the client's database/) });
    expect(await snapshot(prod)).toEqual(changed);
  });

  test('the chosen tables come back as in the backup; the others, views and routines keep their newer state', async () => {
    const prod = await seed('part');
    const ctx = await context(prod);
    const { backup, atBackup } = await prepare(ctx, prod);
    await mysqlExec(`UPDATE legacy SET note = 'después' WHERE id = 1; INSERT INTO legacy VALUES (99, 'nueva')`, prod);
    const before = await snapshot(prod);
    const approval = await approvedRequest(ctx, backup, 'partial', [`${prod}.legacy`]);
    expect(approval).toMatchObject({ decided_role: 'IT Manager', strategy: 'partial', tables: ['legacy'] });
    const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
    if (!r.ok) throw new Error(r.message);
    const after = await snapshot(prod);
    expect(after.tables.legacy).toEqual(atBackup.tables.legacy);
    for (const t of Object.keys(before.tables).filter((x) => x !== 'legacy')) expect(after.tables[t]).toEqual(before.tables[t]);
    expect(after.objects).toEqual(before.objects);
    const oldDb = `${prod}__old_${approval.id}`;
    expect(await databasesLike(`${prod}__`)).toEqual([oldDb]);
    expect((await mysqlExec('SELECT COUNT(*) FROM legacy', oldDb)).trim()).toBe('21');
    expect(r.register.records_verified).toEqual({ legacy: 20 });
    expect((await listRestoreTests(ctx.pool, { environment: 'Prod' })).some((x) => x.approval_id === approval.id)).toBe(true);
  });
});

describe('replace strategy (the runbook\'s drop and load)', () => {
  test('production dropped, created with its character set and loaded: equals the backup', async () => {
    const prod = await seed('repl');
    const ctx = await context(prod, { approvals: { strategy: 'replace' } });
    const { backup, atBackup } = await prepare(ctx, prod);
    const approval = await approvedRequest(ctx, backup);
    expect(approval.strategy).toBe('replace');
    const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
    if (!r.ok) throw new Error(r.message);
    expect(await snapshot(prod)).toEqual(atBackup);
    expect(await databasesLike(`${prod}__`)).toEqual([]);
    expect((await getApproval(ctx.pool, approval.id))!).toMatchObject({ status: 'completed', old_database: null });
  });

  test('verify.checks fails after the load: production reloaded from the verified pre-restore backup', async () => {
    const prod = await seed('replfail');
    const ctx = await context(prod, { approvals: { strategy: 'replace' }, client: { verify: { minTables: 1, tables: TABLES, checks: [{ name: 'added_later is there', sql: 'SELECT COUNT(*) >= 0 FROM added_later' }] } } });
    const { backup, changed } = await prepare(ctx, prod);
    const approval = await approvedRequest(ctx, backup);
    const r = await runRestore(ctx, { approvalId: approval.id, userId: 'U0OPER', trigger: 'slack' });
    expect(r).toMatchObject({ ok: false, failedStep: 'verify', rolledBack: true });
    expect(await snapshot(prod)).toEqual(changed);
    const row = (await getApproval(ctx.pool, approval.id))!;
    expect(row.status).toBe('rolled_back');
    expect(row.steps.find((s) => s.step === 'restore_pre_restore_backup' && s.status === 'done')).toBeDefined();
    await resolveAlerts(ctx);
  });
});
