/** @needs docker, slow (restore tests in Docker; spawns the built CLI: `npm run build` first)
 * Issue 21: the CLI goes through the same limits as the shared work. `backup` waits for a free
 * workers.perDatabaseHost slot (held here by another process's connection, as a replica's dump holds it) and for
 * the work queued before it for the same database server, saying so on stderr; `--now` bypasses both with a
 * warning, an audit entry and the run's details, never the client's own lock. Needs `npm run build`.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CLI, runCli } from '../helpers/cli.js';
import { createTestDatabase, withPg, type TestDatabase } from '../helpers/db.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { testSigningKeyPath } from '../helpers/signing-key.js';
import { validateConfig } from '../../src/config/load.js';
import { databaseServer } from '../../src/core/db-url.js';
import { listRuns } from '../../src/store/runs.js';
import { listAudit } from '../../src/store/audit.js';
import { withSlot } from '../../src/store/slots.js';
import { installWorkQueue } from '../../src/store/work-queue.js';
import { backupOf } from '../operations/restore-test-fixtures.js';
import { until } from '../helpers/wait.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let state: TestDatabase;
let src: TestDatabase;
let dir: string;
let cfgPath: string;
let ctx: TestContext;
let server: string;
const children: ChildProcess[] = [];

interface Running { child: ChildProcess; stdout: () => string; stderr: () => string; done: Promise<number | null> }
function startCli(args: string[]): Running {
  let stdout = '';
  let stderr = '';
  const child = spawn(process.execPath, [CLI, '--config', cfgPath, ...args], { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  children.push(child);
  const done = new Promise<number | null>((ok) => child.on('close', (code) => ok(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

/** Holds one of the server's dump slots (as a dump of another process does) until `release()`. */
function holdServerSlot(scope = 'dump-server', key = server): { held: Promise<void>; release: () => void; over: Promise<void> } {
  let release!: () => void;
  let held!: () => void;
  const heldP = new Promise<void>((r) => { held = r; });
  const over = withSlot(ctx.pool, scope, key, 1, () => { held(); return new Promise<void>((r) => { release = r; }); });
  return { held: heldP, release: () => release(), over };
}

beforeAll(async () => {
  state = await createTestDatabase('bbt_limits');
  src = await createTestDatabase('bbt_limits_src');
  await withPg(src.url, (c) => c.query('CREATE TABLE lotes AS SELECT g AS id, md5(g::text) AS t FROM generate_series(1, 500) g'));
  dir = mkdtempSync(join(tmpdir(), 'bbt-limits-'));
  const raw = {
    timezone: 'UTC',
    state: { url: state.url },
    storage: { local: { type: 'local', path: join(dir, 'store') } },
    clients: { alpha: { database: { engine: 'postgres', url: src.url }, storage: ['local'], verify: { minTables: 1, tables: ['lotes'] }, restoreTest: { timeout: '5m', memoryMb: 512 } } },
    workers: { perDatabaseHost: 1 },
    evidence: { signingKey: testSigningKeyPath() },
  };
  cfgPath = join(dir, 'backup-bot.yml');
  writeFileSync(cfgPath, stringify(raw));
  ctx = await testContext(validateConfig(raw, 'limits test'));
  server = databaseServer(ctx.config.clients.alpha!.database)!;
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await ctx?.close();
  await state?.drop();
  await src?.drop();
  await rm(dir, { recursive: true, force: true });
});

test('backup with the database server\'s only slot taken by another process: waits, says so on stderr, runs when it is freed; --json stays clean', async () => {
  const slot = holdServerSlot();
  await slot.held;
  const cli = startCli(['backup', 'alpha', '--json']);
  await until('the waiting state on stderr', () => cli.stderr().includes('waiting:'), 30_000);
  expect(cli.stderr()).toContain(`waiting: all 1 slot(s) for db host ${server} are taken (workers.perDatabaseHost 1); it starts when one frees (--now bypasses the limit)`);
  await sleep(1500);
  // Still waiting: nothing started (no run row), the process is alive.
  expect(cli.child.exitCode).toBeNull();
  expect(await listRuns(ctx.pool, { client: 'alpha', kind: 'backup' })).toEqual([]);
  slot.release();
  await slot.over;
  expect(await cli.done).toBe(0);
  expect(cli.stderr()).toMatch(new RegExp(`a slot for db host ${server.replace(/\./g, '\\.')} is free after \\d+\\.\\d s: starting`));
  const out = JSON.parse(cli.stdout()) as { ok: boolean; verified: boolean; run: string };
  expect(out).toMatchObject({ ok: true, verified: true });
  const [run] = await listRuns(ctx.pool, { client: 'alpha', kind: 'backup' });
  expect(run!.id).toBe(out.run);
  const limits = (run!.details as { limits: { mode: string; waitedMs: number; bypassed?: unknown; key: string; limit: string } }).limits;
  expect(limits).toMatchObject({ mode: 'wait', key: server, limit: 'workers.perDatabaseHost 1', queuedAhead: 0 });
  expect(limits.waitedMs).toBeGreaterThan(1500);
  expect(limits.bypassed).toBeUndefined();
  expect(await listAudit(ctx.pool, { client: 'alpha', action: 'limits.bypassed' })).toEqual([]);
}, 120_000);

test('backup --now with the slot taken and work queued for the server: runs at once, warns on stderr naming the limits, audit entry and run details', async () => {
  await installWorkQueue(state.url, { leaseSeconds: 120 });
  await withPg(state.url, (c) => c.query(`INSERT INTO backup_bot_queue.job (name, data, group_id, group_tier) VALUES ('work', '{"name":"scheduled-backup:other"}', $1, 'db')`, [`db:${server}`]));
  const slot = holdServerSlot();
  await slot.held;
  try {
    const t0 = Date.now();
    const r = await runCli(['--config', cfgPath, 'backup', 'alpha', '--now', '--json'], { timeoutMs: 60_000 });
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(r.stderr).toContain(`backup-bot: warning: --now bypasses the work queue (1 piece(s) of work queued for db host ${server}) and workers.perDatabaseHost 1 (1 of 1 slot(s) taken): it runs at once, alongside whatever already runs there; the client's own lock still holds`);
    const out = JSON.parse(r.stdout) as { ok: boolean; run: string };
    expect(out.ok).toBe(true);
    const run = (await listRuns(ctx.pool, { client: 'alpha', kind: 'backup' })).find((x) => x.id === out.run)!;
    expect(run.status).toBe('ok');
    expect(run.details.limits).toEqual({ mode: 'now', bypassed: ['work queue', 'workers.perDatabaseHost'], key: server, limit: 'workers.perDatabaseHost 1', slotsTaken: 1, queuedAhead: 1 });
    const audit = await listAudit(ctx.pool, { client: 'alpha', action: 'limits.bypassed' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ target: `dump-server:${server}`, reason: '--now', details: { bypassed: ['work queue', 'workers.perDatabaseHost'], limit: 1, slotsTaken: 1, queuedAhead: 1 } });
  } finally {
    slot.release();
    await slot.over;
    await withPg(state.url, (c) => c.query(`DELETE FROM backup_bot_queue.job WHERE name = 'work'`));
  }
}, 120_000);

test('backup without --now waits for the work queued before it for the same server while a replica pulls work, then runs', async () => {
  // One piece running somewhere (a replica is pulling work) and one queued for alpha's server before the CLI asked.
  await withPg(state.url, (c) => c.query(`INSERT INTO backup_bot_queue.job (name, data, state, started_on) VALUES ('work', '{"name":"retention"}', 'active', now())`));
  const queued = await withPg(state.url, (c) => c.query<{ id: string }>(`INSERT INTO backup_bot_queue.job (name, data, group_id, group_tier) VALUES ('work', '{"name":"scheduled-backup:other"}', $1, 'db') RETURNING id`, [`db:${server}`]));
  const before = (await listRuns(ctx.pool, { client: 'alpha', kind: 'backup' })).length;
  try {
    const cli = startCli(['backup', 'alpha']);
    await until('the queue position on stderr', () => cli.stderr().includes('waiting:'), 30_000);
    expect(cli.stderr()).toContain(`backup-bot: waiting: 1 ahead in the work queue for db host ${server} (--now bypasses the queue)`);
    await sleep(2000);
    expect(cli.child.exitCode).toBeNull();
    expect(await listRuns(ctx.pool, { client: 'alpha', kind: 'backup' })).toHaveLength(before);
    // The queued piece is taken by a replica: the CLI's turn.
    await withPg(state.url, (c) => c.query(`UPDATE backup_bot_queue.job SET state = 'active', started_on = now() WHERE id = $1`, [queued.rows[0]!.id]));
    expect(await cli.done).toBe(0);
    expect(cli.stdout()).toMatch(/^OK {2}backup of alpha/);
    expect(cli.stderr()).not.toContain('warning');
    const runs = await listRuns(ctx.pool, { client: 'alpha', kind: 'backup' });
    expect(runs).toHaveLength(before + 1);
    expect(runs[0]!.details.limits).toMatchObject({ mode: 'wait', queuedAhead: 1 });
  } finally {
    await withPg(state.url, (c) => c.query(`DELETE FROM backup_bot_queue.job WHERE name = 'work'`));
  }
}, 120_000);

test('bad flag combinations: a usage message, exit 2, nothing runs and nothing is recorded', async () => {
  const runsBefore = (await listRuns(ctx.pool, { limit: 1000 })).length;
  const auditBefore = (await listAudit(ctx.pool, { limit: 1000 })).length;
  const both = await runCli(['--config', cfgPath, 'backup', 'alpha', '--now', '--wait', '--json']);
  expect(both.code).toBe(2);
  expect(both.stderr).toContain('backup-bot: --now and --wait do not go together');
  expect(both.stderr).toContain('Usage: backup-bot backup <client> [--type T] [--wait | --now] [--json]; nothing was started');
  expect(JSON.parse(both.stdout)).toMatchObject({ ok: false });
  const arg = await runCli(['--config', cfgPath, 'restore-test', 'alpha', '--now=yes']);
  expect(arg.code).not.toBe(0);
  expect(arg.stderr).toContain("error: unknown option '--now=yes'");
  expect(arg.stderr).toContain('Usage: backup-bot restore-test [options] <client>');
  expect(arg.stderr).not.toContain('bypasses the work queue (');
  const fast = await runCli(['--config', cfgPath, 'backup', 'alpha', '--type', 'pre-change', '--now']);
  expect(fast.code).toBe(2);
  expect(fast.stderr).toContain('--type pre-change needs --ticket');
  expect(fast.stderr).not.toContain('bypasses the work queue (');
  expect((await listRuns(ctx.pool, { limit: 1000 })).length).toBe(runsBefore);
  expect((await listAudit(ctx.pool, { limit: 1000 })).length).toBe(auditBefore);
}, 60_000);

test('restore-test with the Docker engine\'s only slot taken: waits and says so; --now runs at once beside it with the warning, the audit entry and the run details', async () => {
  await backupOf(ctx, 'alpha', src.url, ['lotes']);
  const engine = ctx.config.docker.host ?? process.env.DOCKER_HOST ?? 'local';
  const slot = holdServerSlot('staging-engine', engine);
  await slot.held;
  let waiting: Running | undefined;
  try {
    waiting = startCli(['restore-test', 'alpha', '--json']);
    await until('the waiting state on stderr', () => waiting!.stderr().includes('waiting:'), 30_000);
    expect(waiting.stderr()).toContain(`backup-bot: waiting: all 1 slot(s) for Docker engine ${engine} are taken (restoreTest.maxConcurrent 1); it starts when one frees (--now bypasses the limit)`);
    await sleep(1000);
    expect(waiting.child.exitCode).toBeNull();
    expect(await listRuns(ctx.pool, { client: 'alpha', kind: 'restore_test' })).toEqual([]);

    // The waiting one already holds alpha's restore-test lock: --now bypasses the limits, never that lock, so it
    // is refused and nothing is bypassed or audited.
    const refused = await runCli(['--config', cfgPath, 'restore-test', 'alpha', '--now'], { timeoutMs: 60_000 });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('a restore test of alpha is already running');
    expect(refused.stderr).not.toContain('bypasses the work queue (');
    expect(await listAudit(ctx.pool, { client: 'alpha', action: 'limits.bypassed' })).toHaveLength(1); // the backup --now above
  } finally {
    slot.release();
    await slot.over;
  }
  expect(await waiting.done).toBe(0);
  expect(JSON.parse(waiting.stdout())).toMatchObject({ ok: true, client: 'alpha' });
  const [waited] = await listRuns(ctx.pool, { client: 'alpha', kind: 'restore_test' });
  expect(waited!.details.limits).toMatchObject({ mode: 'wait', key: engine, limit: 'restoreTest.maxConcurrent 1' });

  // With the slot taken again (by another engine user), --now starts at once.
  const again = holdServerSlot('staging-engine', engine);
  await again.held;
  try {
    const r = await runCli(['--config', cfgPath, 'restore-test', 'alpha', '--now', '--json'], { timeoutMs: 180_000 });
    expect({ code: r.code, err: r.stderr }).toMatchObject({ code: 0 });
    expect(r.stderr).toContain(`backup-bot: warning: --now bypasses the work queue (0 piece(s) of work queued for Docker engine ${engine}) and restoreTest.maxConcurrent 1 (1 of 1 slot(s) taken)`);
    const out = JSON.parse(r.stdout) as { ok: boolean; run: string };
    expect(out.ok).toBe(true);
    expect((await ctx.store.runs.get(out.run))!.details.limits).toEqual({ mode: 'now', bypassed: ['work queue', 'restoreTest.maxConcurrent'], key: engine, limit: 'restoreTest.maxConcurrent 1', slotsTaken: 1, queuedAhead: 0 });
    const audit = await listAudit(ctx.pool, { client: 'alpha', action: 'limits.bypassed' });
    expect(audit.map((x) => x.target)).toContain(`staging-engine:${engine}`);
  } finally {
    again.release();
    await again.over;
  }
}, 300_000);
