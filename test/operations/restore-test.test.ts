/**
 * runRestoreTest against the real PostgreSQL, local storage and Docker engine: a real backup of the
 * SOP-shaped sample database restored into a real postgres:15 container, verified, recorded in the
 * section-12 register and destroyed; and every fault of issue 6 as a recorded, visible failure.
 */
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { gzipSync } from 'node:zlib';
import { runRestoreTest, RestoreTestBusyError, type RestoreTestStep } from '../../src/operations/restore-test.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { listRestoreTests } from '../../src/store/restore-test-register.js';
import { getRun, listRuns } from '../../src/store/runs.js';
import { listAudit } from '../../src/store/audit.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext , type TestContext } from '../helpers/context.js';
import type { Context } from '../../src/context.js';
import type { RecordingNotifier } from '../helpers/notifier.js';
import { backupOf, leftovers, slowDump, storeBackup } from './restore-test-fixtures.js';

const docker = new Docker();
const TABLES = ['lotes', 'movimientos', 'users', 'productos'];
const CHECKS = [
  { name: 'an active admin user exists', sql: 'SELECT EXISTS (SELECT 1 FROM users WHERE admin AND activo)' },
  { name: 'recent movimientos (< 8 days before the backup)', sql: "SELECT max(fecha) > now() - interval '8 days' FROM movimientos" },
];

describe('runRestoreTest', () => {
  let state: TestDatabase;
  let src: TestDatabase;
  let dir: string;
  let ctx: TestContext;

  const contextWith = async (client: Record<string, unknown> = {}, raw: Record<string, unknown> = {}) => testContext(testConfig({
    stateUrl: state.url, demoUrl: src.url, storageDir: dir, raw,
    client: { verify: { minTables: 10, tables: TABLES, checks: CHECKS }, restoreTest: { timeout: '2m', memoryMb: 512, cpus: 1 }, ...client },
  }));

  beforeAll(async () => {
    state = await createTestDatabase('bbt_rt_state');
    src = await createTestDatabase('bbt_rt_src');
    await fillSampleDatabase(src.url);
    dir = await mkdtemp(join(tmpdir(), 'bbt-rt-'));
    ctx = await contextWith();
  });

  afterAll(async () => {
    await ctx?.close();
    await state?.drop();
    await src?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('restores a real backup into a real container, verifies counts and checks, records §12, leaves nothing behind', async () => {
    const b = await backupOf(ctx, 'demo', src.url, TABLES);
    const steps: RestoreTestStep[] = [];
    const out = await runRestoreTest(ctx, { client: 'demo', actor: 'U0OPER', actorName: 'Oper Ator', trigger: 'cli', onProgress: (s) => steps.push(s) });
    expect(out.error).toBeUndefined();
    expect(out.ok).toBe(true);
    expect(steps).toEqual(['provisioning', 'downloading', 'restoring', 'verifying', 'destroying', 'done']);
    expect(out.backup.key).toBe(b.key);
    expect(out.checks.map((c) => [c.name, c.ok])).toEqual([
      ['tables', true], ['rows lotes', true], ['rows movimientos', true], ['rows users', true], ['rows productos', true],
      ['an active admin user exists', true], ['recent movimientos (< 8 days before the backup)', true],
    ]);
    expect(out.checks.find((c) => c.name === 'tables')!.detail).toMatch(/^16 tables restored \(dump: 16 CREATE TABLE\)/);

    // Section 12 register row: every column.
    const [row] = await listRestoreTests(ctx.pool, { client: 'demo' });
    expect(row).toMatchObject({ id: out.register!.id, run_id: out.run.id, backup_used: b.row.file, environment: 'Test', executed_by: 'Oper Ator', result: 'OK', verified_by_qa: null });
    expect(row!.quarter).toMatch(/^\d{4}-Q[1-4]$/);
    expect(Number(row!.restore_minutes)).toBeGreaterThanOrEqual(0);
    expect(row!.records_verified).toEqual({ lotes: { staging: 200, production: 200 }, movimientos: { staging: 1000, production: 1000 }, users: { staging: 4, production: 4 }, productos: { staging: 40, production: 40 } });
    expect(row!.observations).toMatch(/completada con éxito/);

    // One message, posted once and updated per step; the result has the checks one per line and the QA button.
    const posts = ctx.notifier.posts.filter((p) => p.message.text.includes('Restore test of demo'));
    expect(posts).toHaveLength(1);
    const run = await getRun(ctx.pool, out.run.id);
    expect(run).toMatchObject({ status: 'ok', step: 'done', slack_channel: posts[0]!.ref.channel, slack_ts: posts[0]!.ref.ts });
    expect(run!.timeline.map((t) => t.step)).toEqual(['started', 'provisioning', 'downloading', 'restoring', 'verifying', 'destroying', 'done', 'ok']);
    const last = ctx.notifier.updates.filter((u) => u.ref.ts === posts[0]!.ref.ts).pop()!.message;
    expect(last.text).toMatch(/passed/);
    expect(last.text).toMatch(/✅ rows movimientos: 1000 rows = production\n/);
    expect(last.text).toMatch(/Restore time \S+ ≤ RTO 4h/);
    const actions = (last.blocks as Array<{ type: string; elements?: Array<{ action_id?: string; value?: string }> }>).find((bl) => bl.type === 'actions');
    expect(actions!.elements![0]).toMatchObject({ action_id: 'qa_verified', value: out.register!.id });
    // Never the staging password.
    expect(JSON.stringify(ctx.notifier.posts) + JSON.stringify(ctx.notifier.updates) + JSON.stringify(run)).not.toMatch(/POSTGRES_PASSWORD|password=/i);

    expect((await listAudit(ctx.pool, { client: 'demo' })).map((a) => a.action)).toEqual(expect.arrayContaining(['restore_test.started', 'restore_test.passed']));
    expect(await leftovers(docker, out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });
    console.log(`[restore-test] timings ${JSON.stringify(Object.fromEntries(Object.entries(out.timings).map(([k, v]) => [k, Math.round(v ?? 0)])))}`);
  });

  it('unknown backup key: a user error listing the valid ones, nothing recorded', async () => {
    await storeBackup(ctx, { client: 'demo', body: slowDump(0) });
    const before = (await listRuns(ctx.pool, { kind: 'restore_test' })).length;
    await expect(runRestoreTest(ctx, { client: 'demo', backupKey: 'backup_1999-01-01.sql.gz', actor: 'U0OPER', trigger: 'cli' }))
      .rejects.toThrow(/unknown backup "backup_1999-01-01.sql.gz" for demo; valid backups \(newest first\): backup_\S+\.sql\.gz/);
    expect((await listRuns(ctx.pool, { kind: 'restore_test' })).length).toBe(before);
  });

  it('corrupted backup (bytes flipped): fails on sha256 before a restore, recorded, S2 alert, no container left', async () => {
    const good = await backupOf(ctx, 'demo', src.url, TABLES);
    const bad = Buffer.from(good.body);
    for (let i = 100; i < 110; i++) bad[i] = bad[i]! ^ 0xff;
    const file = join(dir, good.key);
    expect(await readFile(file)).toEqual(good.body);
    await writeFile(file, bad);
    const out = await runRestoreTest(ctx, { client: 'demo', backupKey: good.row.file!, actor: 'U0OPER', trigger: 'cli' });
    expect(out.ok).toBe(false);
    expect(out.failedStep).toBe('downloading');
    expect(out.error).toMatch(/^sha256 mismatch: backup backup_\S+ is corrupted/);
    expect(out.timings.restoreMs).toBeUndefined();
    expect(out.register).toMatchObject({ result: 'Fail', backup_used: good.row.file });
    expect(out.register!.observations).toMatch(/Falló en el paso "downloading": sha256 mismatch/);
    const run = await getRun(ctx.pool, out.run.id);
    expect(run).toMatchObject({ status: 'failed' });
    expect(run!.details).toMatchObject({ failedStep: 'downloading', alert: { severity: 'S2', step: 'downloading' } });
    expect(ctx.notifier.texts().some((t) => /S2 — restore test of demo FAILED at step "downloading"/.test(t))).toBe(true);
    expect(await leftovers(docker, out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });
  });

  it('truncated gzip (the manifest matches the cut file): fails with the gzip error, removed', async () => {
    const good = await backupOf(ctx, 'demo', src.url, TABLES);
    const cut = good.body.subarray(0, good.body.length - 200);
    const b = await storeBackup(ctx, { client: 'demo', body: cut });
    const out = await runRestoreTest(ctx, { client: 'demo', backupKey: b.row.file!, actor: 'U0OPER', trigger: 'cli', notify: false });
    expect(out).toMatchObject({ ok: false, failedStep: 'restoring' });
    expect(out.error).toMatch(/gzip error: unexpected end of file/);
    expect((await getRun(ctx.pool, out.run.id))!.details.evidence).toEqual(expect.stringContaining('database system is ready'));
    expect(out.register).toMatchObject({ result: 'Fail' });
    expect(await leftovers(docker, out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });
  });

  it('a failing user check fails the test at "verifying" and names the check', async () => {
    const b = await backupOf(ctx, 'demo', src.url, TABLES, { rowCounts: { lotes: 200, movimientos: 1001, users: 4, productos: 40 } });
    const c2 = await contextWith({ verify: { minTables: 1, tables: TABLES, checks: [{ name: 'admin can log in', sql: "SELECT EXISTS (SELECT 1 FROM users WHERE username = 'nobody')" }] } });
    try {
      const out = await runRestoreTest(c2, { client: 'demo', backupKey: b.key, actor: 'U0OPER', trigger: 'cli' });
      expect(out).toMatchObject({ ok: false, failedStep: 'verifying' });
      expect(out.error).toMatch(/2 check\(s\) failed: rows movimientos \(1000 rows, production had 1001\); admin can log in \(returned "f" \(must return true\)\)/);
      expect(out.register!.records_verified).toMatchObject({ movimientos: { staging: 1000, production: 1001 } });
      expect(c2.notifier.texts().join('\n')).toMatch(/❌ admin can log in: returned "f"/);
      expect(await leftovers(docker, out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });
    } finally {
      await c2.close();
    }
  });

  it('container killed mid-restore → failed with the reason, evidence kept, removed; a second test meanwhile is refused', async () => {
    const b = await storeBackup(ctx, { client: 'demo', body: slowDump(30) });
    let second: Promise<unknown> | undefined;
    let killed: Promise<unknown> | undefined;
    const out = await runRestoreTest(ctx, {
      client: 'demo', backupKey: b.key, actor: 'U0OPER', trigger: 'cli', notify: false,
      onProgress: (step, run) => {
        if (step !== 'restoring') return;
        second = runRestoreTest(ctx, { client: 'demo', actor: 'U0OTHER', trigger: 'slack' }).then(() => 'ran', (e: unknown) => e);
        killed = (async () => {
          await new Promise((r) => setTimeout(r, 700));
          const [c] = await docker.listContainers({ filters: JSON.stringify({ label: [`backup-bot.run-id=${run.id}`] }) });
          await docker.getContainer(c!.Id).kill();
        })();
      },
    });
    await killed;
    const refused = await second;
    expect(refused).toBeInstanceOf(RestoreTestBusyError);
    expect((refused as Error).message).toMatch(/a restore test of demo is already running \(run \d+/);
    expect(out).toMatchObject({ ok: false, failedStep: 'restoring' });
    expect(out.error).toMatch(/the staging container stopped \(exit code 137, killed \(SIGKILL\)\) during the restore/);
    expect(out.register).toMatchObject({ result: 'Fail' });
    expect(await leftovers(docker, out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });
    expect((await listAudit(ctx.pool, { action: 'restore_test.refused' })).length).toBe(1);
  });

  it('out of memory mid-restore → failed naming the memory limit to raise, removed', async () => {
    // A statement that needs far more memory than the container may use: the kernel's OOM killer ends it.
    const body = gzipSync(Buffer.from("CREATE TABLE oom_probe (id int);\nSELECT length(repeat('x', 600 * 1024 * 1024)) FROM generate_series(1, 4);\n--\n-- PostgreSQL database dump complete\n--\n"));
    const b = await storeBackup(ctx, { client: 'demo', body });
    const c2 = await contextWith({ restoreTest: { timeout: '2m', memoryMb: 256, cpus: 1 } });
    try {
      const out = await runRestoreTest(c2, { client: 'demo', backupKey: b.key, actor: 'U0OPER', trigger: 'cli', notify: false });
      expect(out).toMatchObject({ ok: false, failedStep: 'restoring' });
      expect(out.error).toMatch(/^the staging database ran out of memory during step "restoring" \(the out-of-memory killer ended \d+ process(es)? in it\): psql exited/);
      expect(out.error).toMatch(/\(memory limit 256 MB: raise clients\.demo\.restoreTest\.memoryMb\)$/);
      expect(out.register).toMatchObject({ result: 'Fail' });
      expect(await leftovers(docker, out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });
    } finally {
      await c2.close();
    }
  });

  it('restoreTest.timeout exceeded → stopped, failed, removed', async () => {
    const b = await storeBackup(ctx, { client: 'demo', body: slowDump(60) });
    const c2 = await contextWith({ restoreTest: { timeout: '4s', memoryMb: 512, cpus: 1 } });
    try {
      const t = Date.now();
      const out = await runRestoreTest(c2, { client: 'demo', backupKey: b.key, actor: 'U0OPER', trigger: 'cli', notify: false });
      expect(Date.now() - t).toBeLessThan(15_000);
      expect(out.ok).toBe(false);
      expect(out.error).toMatch(/took longer than restoreTest.timeout \(4s\) and was stopped during step "(restoring|provisioning|downloading)"/);
      expect(out.register).toMatchObject({ result: 'Fail' });
      expect(await leftovers(docker, out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });
    } finally {
      await c2.close();
    }
  });

  it('Docker daemon down: clear error, recorded failed, nothing started', async () => {
    const b = await backupOf(ctx, 'demo', src.url, TABLES);
    const c2 = await contextWith({}, { docker: { host: 'unix:///tmp/backup-bot-no-docker-here.sock' } });
    try {
      const out = await runRestoreTest(c2, { client: 'demo', backupKey: b.key, actor: 'U0OPER', trigger: 'schedule' });
      expect(out).toMatchObject({ ok: false, failedStep: 'provisioning' });
      expect(out.error).toMatch(/cannot reach the Docker daemon at unix:\/\/\/tmp\/backup-bot-no-docker-here.sock: .*ENOENT/);
      expect(out.register).toMatchObject({ result: 'Fail', restore_minutes: null });
      expect((await getRun(c2.pool, out.run.id))!.timeline.map((e) => e.step)).not.toContain('destroying');
    } finally {
      await c2.close();
    }
  });

  it('a remote docker.host without TLS: refused before anything is contacted, recorded failed naming docker.tls and docker.allowInsecure', async () => {
    const b = await backupOf(ctx, 'demo', src.url, TABLES);
    const c2 = await contextWith({}, { docker: { host: 'tcp://192.0.2.10:2375' } });
    try {
      const out = await runRestoreTest(c2, { client: 'demo', backupKey: b.key, actor: 'U0OPER', trigger: 'cli', notify: false });
      expect(out).toMatchObject({ ok: false, failedStep: 'provisioning' });
      expect(out.error).toMatch(/^docker\.host tcp:\/\/192\.0\.2\.10:2375: a remote Docker engine without TLS client authentication is refused: .*docker\.tls.*docker\.allowInsecure: true/);
      expect(out.register).toMatchObject({ result: 'Fail' });
    } finally {
      await c2.close();
    }
  });

  it('staging image missing (restoreTest.pull defaults to never: no registry contacted): clear error naming the build script, recorded failed', async () => {
    const b = await backupOf(ctx, 'demo', src.url, TABLES);
    const c2 = await contextWith({ restoreTest: { image: 'backup-bot/does-not-exist:1', timeout: '2m', memoryMb: 512, cpus: 1 } });
    try {
      const out = await runRestoreTest(c2, { client: 'demo', backupKey: b.key, actor: 'U0OPER', trigger: 'cli' });
      expect(out).toMatchObject({ ok: false, failedStep: 'provisioning' });
      expect(out.error).toBe('image backup-bot/does-not-exist:1 is not on the Docker engine and is never pulled (restoreTest.pull: never): build it with scripts/build-staging-image.sh (or docker load it), or set restoreTest.pull: missing to pull it from its registry');
      expect(out.register).toMatchObject({ result: 'Fail' });
    } finally {
      await c2.close();
    }
  });

  it('dump from a newer server than the staging image: error before anything starts', async () => {
    const b = await backupOf(ctx, 'demo', src.url, TABLES, { serverVersion: '16.4' });
    const out = await runRestoreTest(ctx, { client: 'demo', backupKey: b.key, actor: 'U0OPER', trigger: 'cli', notify: false });
    expect(out).toMatchObject({ ok: false, failedStep: 'provisioning' });
    expect(out.error).toMatch(/the staging image postgres:15 is PostgreSQL 15, older than the PostgreSQL 16.4 server the backup was taken from: set restoreTest.image/);
    expect((await getRun(ctx.pool, out.run.id))!.timeline.map((e) => e.step)).not.toContain('destroying');
    expect(await leftovers(docker, out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });
  });
});
