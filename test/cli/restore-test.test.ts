/**
 * `backup-bot restore-test <client> [--backup KEY] [--json]` (compiled CLI, real Docker): exit 0 only
 * when the test passed, 1 when it ran and failed, 2 for bad input.
 */
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext , type TestContext } from '../helpers/context.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { backupOf } from '../operations/restore-test-fixtures.js';
import type { Context } from '../../src/context.js';

describe('backup-bot restore-test', () => {
  let state: TestDatabase;
  let src: TestDatabase;
  let dir: string;
  let configPath: string;
  let ctx: TestContext;

  beforeAll(async () => {
    state = await createTestDatabase('bbt_clirt');
    src = await createTestDatabase('bbt_clirt_src');
    await fillSampleDatabase(src.url);
    dir = mkdtempSync(join(tmpdir(), 'cli-rt-'));
    configPath = join(dir, 'backup-bot.yml');
    writeFileSync(configPath, `
timezone: UTC
state: { url: "${state.url}" }
storage:
  local: { type: local, path: "${dir}/store" }
clients:
  demo:
    database: { engine: postgres, url: "${src.url}" }
    storage: [local]
    verify:
      minTables: 10
      tables: [lotes, movimientos]
      checks:
        - { name: "an active admin exists", sql: "SELECT EXISTS (SELECT 1 FROM users WHERE admin AND activo)" }
    restoreTest: { timeout: 2m, memoryMb: 512 }
`);
    ctx = await testContext(testConfig({ stateUrl: state.url, demoUrl: src.url, storageDir: `${dir}/store` }));
  });

  afterAll(async () => {
    await ctx?.close();
    await state?.drop();
    await src?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('passes: exit 0, JSON with the checks and the register row', async () => {
    const b = await backupOf(ctx, 'demo', src.url, ['lotes', 'movimientos']);
    const r = await runCli(['--config', configPath, '--json', 'restore-test', 'demo']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: true, client: 'demo', backup: b.row.file, failedStep: null, register: { result: 'OK', recordsVerified: { lotes: { staging: 200, production: 200 } } } });
    expect(out.checks.map((c: { name: string }) => c.name)).toEqual(['tables', 'rows lotes', 'rows movimientos', 'an active admin exists']);
  });

  it('an unknown --backup: exit 2 listing the valid backups', async () => {
    const r = await runCli(['--config', configPath, 'restore-test', 'demo', '--backup', 'nope.sql.gz']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown backup "nope.sql.gz" for demo; valid backups \(newest first\): backup_/);
  });

  it('a corrupted backup: exit 1, the reason, progress on stderr', async () => {
    const b = await backupOf(ctx, 'demo', src.url, ['lotes', 'movimientos']);
    const file = join(dir, 'store', b.key);
    const bytes = readFileSync(file);
    bytes[50] = bytes[50]! ^ 0xff;
    writeFileSync(file, bytes);
    const r = await runCli(['--config', configPath, 'restore-test', 'demo', '--backup', b.row.file!]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL {2}restore test of demo from backup_\S+: failed at step downloading: sha256 mismatch/);
    expect(r.stderr).toMatch(/S2 — restore test of demo FAILED at step "downloading"/);
  });
});
