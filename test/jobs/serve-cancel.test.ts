/**
 * Issue 15 item 6 — cancel means cancel. `backup-bot serve` (compiled, real bree worker threads, real Docker)
 * runs a long scheduled restore test (a catch-up at start); SIGTERM with schedules.shutdownTimeout 2s: the job
 * is cancelled, its restore stops, its staging container is removed, its run ends `interrupted`, and the
 * process has exited within shutdownTimeout + 10 s. Needs `npm run build`.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { stringify } from 'yaml';
import { CLI } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { testSigningKeyPath } from '../helpers/signing-key.js';
import { validateConfig } from '../../src/config/load.js';
import { setLastFire } from '../../src/store/job-state.js';
import { listRuns } from '../../src/store/runs.js';
import { listAudit } from '../../src/store/audit.js';
import { leftovers, slowDump, storeBackup } from '../operations/restore-test-fixtures.js';
import { until } from '../helpers/wait.js';

const SHUTDOWN_TIMEOUT_MS = 2000;

let state: TestDatabase;
let dir: string;
let ctx: TestContext;
let child: ChildProcess | undefined;
let out = '';
const docker = new Docker();


beforeAll(async () => {
  state = await createTestDatabase('bbt_serve_cancel');
  dir = mkdtempSync(join(tmpdir(), 'bbt-serve-cancel-'));
});
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await ctx?.close();
  await state?.drop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

test('SIGTERM during a long scheduled restore test: cancelled, container removed, run interrupted, exit within shutdownTimeout + 10 s', async () => {
  const raw = {
    timezone: 'UTC',
    state: { url: state.url },
    storage: { local: { type: 'local', path: join(dir, 'backups') } },
    clients: {
      demo: {
        database: { engine: 'postgres', url: state.url }, schedule: '0 3 * * *', storage: ['local'],
        verify: { minTables: 1, tables: [] },
        restoreTest: { timeout: '30m', memoryMb: 512, months: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] },
      },
    },
    schedules: { shutdownTimeout: `${SHUTDOWN_TIMEOUT_MS / 1000}s` },
    metrics: { listen: '127.0.0.1:0' },
    evidence: { signingKey: testSigningKeyPath() },
  };
  const cfgPath = join(dir, 'backup-bot.yml');
  writeFileSync(cfgPath, stringify(raw));
  ctx = await testContext(validateConfig(raw, 'serve cancel test'));
  // A backup whose restore takes 10 minutes, and a restore-test schedule the bot "missed": serve catches it up at start.
  await storeBackup(ctx, { client: 'demo', body: slowDump(600), tables: 1 });
  await setLastFire(ctx.pool, 'restore-test', 'demo', new Date(0));

  child = spawn(process.execPath, [CLI, 'serve', '--config', cfgPath], { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child!.once('exit', (code, signal) => r({ code, signal })));
  await until('serve to start', () => out.includes('scheduled job(s)'), 60_000);
  expect(out).toContain('catching up restore-test');
  const run = await until('the restore test restoring', async () => (await listRuns(ctx.pool, { client: 'demo', kind: 'restore_test', status: 'running' })).find((r) => r.step === 'restoring'), 120_000);
  expect((await leftovers(docker, run.id, state.url)).containers).toBe(1);

  const t0 = Date.now();
  child.kill('SIGTERM');
  const exit = await exited;
  const took = Date.now() - t0;
  expect(exit).toEqual({ code: 0, signal: null });
  expect(took).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 10_000);
  // It waited for the job up to the shutdown timeout before cancelling it.
  expect(took).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_MS);

  // The run ended interrupted (by the job itself, not by a reaper), its container and the restore in it are gone.
  const after = await ctx.store.runs.get(run.id);
  expect(after).toMatchObject({ status: 'interrupted', error: expect.stringContaining('cancelled: the bot is stopping') });
  expect(after!.timeline.map((e) => e.step)).toEqual(expect.arrayContaining(['restoring', 'restoring:failed', 'destroying:started', 'destroying:done', 'interrupted']));
  expect(new Date(after!.finished_at!).getTime() - t0).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 10_000);
  expect(await leftovers(docker, run.id, state.url)).toEqual({ containers: 0, networks: 0 });
  expect(await listRuns(ctx.pool, { status: 'running' })).toEqual([]);
  // A cancel is not a failed test: no §12 row, no S2 alert, audited as interrupted.
  expect(await ctx.store.restoreTests.list({ client: 'demo', limit: 10 })).toEqual([]);
  expect(out).not.toMatch(/S2 — restore test of demo FAILED/);
  expect((await listAudit(ctx.pool, { action: 'restore_test.interrupted' })).map((a) => a.target)).toEqual([`run:${run.id}`]);
}, 240_000);
