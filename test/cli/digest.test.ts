/** @needs slow */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { validateConfig } from '../../src/config/load.js';
import { testContext } from '../helpers/context.js';
import { insertBackup } from '../../src/store/backup-register.js';
import { finishRun, startRun } from '../../src/store/runs.js';

/** `backup-bot digest [--json]` (compiled CLI: `npm run build` first). */
let state: TestDatabase;
let dir: string;
let cfgPath: string;
const yaml = (stateUrl: string, extra = '') => `
timezone: UTC
state: { url: "${stateUrl}" }
storage:
  local: { type: local, path: "/tmp/bbt-digest-cli" }
clients:
  demo:
    database: { engine: postgres, url: "postgres://postgres:pw-secret-1@127.0.0.1:5432/none" }
    storage: [local]
    rpo: 7d
  shop:
    database: { engine: mysql, url: "mysql://root@127.0.0.1:3306/mysql" }
    storage: [local]
${extra}`;

beforeAll(async () => {
  state = await createTestDatabase('bbt_digest_cli');
  dir = mkdtempSync(join(tmpdir(), 'bbt-digest-cli-'));
  cfgPath = join(dir, 'backup-bot.yml');
  writeFileSync(cfgPath, yaml(state.url));
  const ctx = await testContext(validateConfig({
    state: { url: state.url }, storage: { local: { type: 'local', path: '/tmp/x' } },
    clients: { demo: { database: { engine: 'postgres', url: 'postgres://x@127.0.0.1/none' }, storage: ['local'] } },
  }, 't'));
  try {
    const at = new Date(Date.now() - 3_600_000);
    await insertBackup(ctx.pool, { client: 'demo', takenAt: at, type: 'scheduled', key: 'demo/backup_1.sql.gz', sizeBytes: 123456, verified: true, verifiedAt: at, executedBy: 'schedule', result: 'OK' });
    const run = await startRun(ctx.pool, { kind: 'backup', client: 'shop', actor: 'schedule', trigger: 'schedule' });
    await finishRun(ctx.pool, run.id, { status: 'failed', error: 'x' });
  } finally {
    await ctx.close();
  }
});
afterAll(async () => {
  await state?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('backup-bot digest', () => {
  test('--json prints the data read from the registers, no secrets', async () => {
    const r = await runCli(['digest', '--json', '--config', cfgPath]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('pw-secret-1');
    const d = JSON.parse(r.stdout) as { clients: Array<{ client: string; status: string; lastVerified: { sizeBytes: number; key: string } | null; failures24h: number }> };
    expect(d.clients.map((c) => c.client)).toEqual(['demo', 'shop']);
    expect(d.clients[0]).toMatchObject({ status: 'ok', lastVerified: { sizeBytes: 123456, key: 'demo/backup_1.sql.gz' }, failures24h: 0 });
    expect(d.clients[1]).toMatchObject({ status: 'critical', lastVerified: null, failures24h: 1 });
  });

  test('without --json: the same digest as text for the terminal', async () => {
    const r = await runCli(['digest', '--config', cfgPath]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Backup digest \d{4}-\d\d-\d\d \d\d:\d\d UTC: 1 ok, 0 warning, 1 critical/);
    expect(r.stdout).toContain('[OK] demo');
    expect(r.stdout).toContain('120.6 KB');
    expect(r.stdout).toContain('[RED] shop — no verified backup; 1 failure in 24 h');
  });

  test('serve rejects an invalid schedule at start, naming the key', async () => {
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, yaml(state.url, 'schedules:\n  watchdog: "*/5 * * *"\n'));
    const r = await runCli(['serve', '--config', bad], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('schedules.watchdog');
    const tz = join(dir, 'tz.yml');
    writeFileSync(tz, yaml(state.url).replace('timezone: UTC', 'timezone: Mars/Olympus'));
    const r2 = await runCli(['serve', '--config', tz], { timeoutMs: 30_000 });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('timezone');
  });
});
