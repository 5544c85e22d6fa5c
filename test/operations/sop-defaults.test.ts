/**
 * Issue 18 item 4: SOP-strength defaults and sanity checks — verify.minTables 10 by default, verify.minBytes
 * (an absolute minimum size), a backup under half the median of the last ten is an S2 alert, a table of
 * verify.tables missing at backup time fails the backup unless verify.allowMissing, and a retention that keeps
 * fewer than 30 days / 26 weekly backups is a warning at load and in doctor. Real PostgreSQL and a real directory.
 *
 * @needs slow
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, withPg, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext } from '../helpers/context.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { runBackup } from '../../src/operations/backup.js';
import { doctor } from '../../src/operations/doctor.js';
import { loadConfig, validateConfig } from '../../src/config/load.js';
import { retentionCoverage, retentionWarnings } from '../../src/config/retention-coverage.js';
import { embeddedDefaults } from '../../src/config/defaults.js';
import { getBackup } from '../../src/store/backup-register.js';

let state: TestDatabase;
let src: TestDatabase;
const dirs: string[] = [];
const tmp = (p: string) => { const d = mkdtempSync(join(tmpdir(), p)); dirs.push(d); return d; };

beforeAll(async () => {
  state = await createTestDatabase('bbsopstate');
  src = await createTestDatabase('bbsopsrc');
  await fillSampleDatabase(src.url);
}, 60_000);
afterAll(async () => {
  await src.drop();
  await state.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function withCtx<T>(client: Record<string, unknown>, dir: string, fn: (ctx: Awaited<ReturnType<typeof testContext>>) => Promise<T>): Promise<T> {
  const ctx = await testContext(testConfig({ stateUrl: state.url, demoUrl: src.url, storageDir: dir, client }));
  try { return await fn(ctx); } finally { await ctx.close(); }
}

const minimal = { timezone: 'UTC', state: { url: 'postgres://x@127.0.0.1/x' }, storage: { l: { type: 'local', path: '/tmp/x' } } };

describe('SOP-strength defaults', () => {
  test('verify.minTables defaults to 10 (SOP 6.1), minBytes to 0, allowMissing to false; the example config sets 1 MB', () => {
    const c = validateConfig({ ...minimal, clients: { a: { database: { engine: 'postgres', url: 'postgres://x@127.0.0.1/a' }, storage: ['l'] } } }, 't');
    expect(c.clients.a!.verify).toMatchObject({ minTables: 10, minBytes: 0, allowMissing: false });
    const example = readFileSync(new URL('../../backup-bot.example.yml', import.meta.url), 'utf8');
    expect(example).toMatch(/^ {6}minBytes: 1048576 +# SOP 6\.4: a compressed dump under 1 MB fails the backup$/m);
  });

  test('a dump smaller than verify.minBytes fails the backup (check "size"), kept for inspection, recorded as Error', async () => {
    const dir = tmp('sop-minbytes-');
    const o = await withCtx({ verify: { minTables: 10, minBytes: 10_000_000, tables: [] } }, dir, (ctx) => runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false }));
    expect(o.ok).toBe(false);
    expect(o.error).toMatch(/verification of the primary copy failed: size: \d+ bytes compressed \(minimum 10000000, verify\.minBytes\)/);
    expect(o.backup).toMatchObject({ result: 'Error', verified: false });
  }, 60_000);

  test('the default minTables (10) fails a database with fewer tables', async () => {
    const small = await createTestDatabase('bbsopsmall');
    try {
      await withPg(small.url, (c) => c.query('CREATE TABLE a (id int); CREATE TABLE b (id int)'));
      const ctx = await testContext(validateConfig({
        ...minimal, state: { url: state.url }, storage: { l: { type: 'local', path: tmp('sop-small-') } },
        clients: { demo: { database: { engine: 'postgres', url: small.url }, storage: ['l'] } },
      }, 't'));
      try {
        const o = await runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false });
        expect(o.ok).toBe(false);
        expect(o.error).toMatch(/tables: 2 CREATE TABLE \(minimum 10\)/);
      } finally { await ctx.close(); }
    } finally { await small.drop(); }
  }, 60_000);

  test('a table of verify.tables missing at backup time fails the backup, nothing kept under the final name; allowMissing accepts it', async () => {
    const dir = tmp('sop-missing-');
    const o = await withCtx({ verify: { minTables: 10, tables: ['lotes', 'no_such_table'] } }, dir, (ctx) => runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false }));
    expect(o.ok).toBe(false);
    expect(o.error).toContain('verify.tables not found in the database: no_such_table (a table the SOP checks is gone; if that is expected, remove it from verify.tables or set verify.allowMissing: true)');
    expect(o.backup).toMatchObject({ result: 'Error', key: null });
    expect(existsSync(join(dir, 'demo')) ? readdirSync(join(dir, 'demo')).filter((f) => f.startsWith('backup_')) : []).toEqual([]);
    const ok = await withCtx({ verify: { minTables: 10, tables: ['lotes', 'no_such_table'], allowMissing: true } }, dir, (ctx) => runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false }));
    expect(ok.ok).toBe(true);
    expect(ok.backup!.observations).toContain('verify.tables not found in the database: no_such_table (not counted; verify.allowMissing: true)');
  }, 60_000);

  test('a backup under half the median size of the last ten is an S2 alert with the numbers (the backup itself is OK)', async () => {
    const dir = tmp('sop-drop-');
    // Incompressible rows make the first backups large; emptying the table makes the next one far smaller.
    await withPg(src.url, (c) => c.query("CREATE TABLE bulk AS SELECT md5(random()::text) || md5(random()::text) AS v FROM generate_series(1, 20000)"));
    await withCtx({ verify: { minTables: 10, tables: [] } }, dir, async (ctx) => {
      for (let i = 0; i < 2; i++) {
        const o = await runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false });
        expect(o.ok).toBe(true);
        await new Promise((r) => setTimeout(r, 1100));
      }
      expect(ctx.notifier.texts().join('\n')).not.toMatch(/S2/);
      await withPg(src.url, (c) => c.query('TRUNCATE bulk'));
      const o = await runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false });
      expect(o.ok).toBe(true);
      const row = await getBackup(ctx.pool, o.backup!.id);
      expect(row!.observations).toMatch(/size .* is less than half the median .* of the last \d+ backups/);
      const alert = ctx.notifier.texts().find((t) => t.includes('far smaller than usual'));
      expect(alert).toMatch(/:warning: \*S2\* Backup of demo far smaller than usual \(\*demo\*\): backup_.*\.sql\.gz: size .* is less than half the median/);
      expect(alert).toContain('<@U0OPER>');
    });
    await withPg(src.url, (c) => c.query('DROP TABLE bulk'));
  }, 120_000);
});

describe('retention against the procedures (runbook §1: 30 days daily; SOP §4: 26 weekly)', () => {
  const cfg = (schedule: string, days: number, keep: number) => validateConfig({
    ...minimal, clients: { c: { database: { engine: 'postgres', url: 'postgres://x@127.0.0.1/a' }, storage: ['l'], schedule, retention: { scheduled: { days, keep } } } },
  }, 't');

  test('coverage from the schedule and the policy', () => {
    expect(retentionCoverage(cfg('0 3 * * *', 30, 26).clients.c!)).toMatchObject({ intervalDays: 1, backups: 26, days: 26, weekly: false });
    expect(retentionCoverage(cfg('0 3 * * 0', 180, 26).clients.c!)).toMatchObject({ intervalDays: 7, backups: 26, days: 180, weekly: true });
  });

  test('fewer than 30 days, or fewer than 26 weekly backups, is a warning with the numbers; the defaults and the embedded demo are not', () => {
    expect(retentionWarnings(cfg('0 3 * * *', 30, 26)).map((w) => w.message)).toEqual([
      'clients.c: retention.scheduled { days: 30, keep: 26 } with a backup every 1 day(s) (0 3 * * *) keeps 26 days of scheduled backups, fewer than the 30 days the runbook asks for (raise keep to 30 and days to 30 or more)',
    ]);
    expect(retentionWarnings(cfg('0 3 * * 0', 180, 20)).map((w) => w.message)).toEqual([
      'clients.c: retention.scheduled { days: 180, keep: 20 } with a backup every 7 day(s) (0 3 * * 0) keeps 20 weekly backups, fewer than the 26 SOP-001 §4 asks for (keep: 26, days: 182 or more)',
    ]);
    expect(retentionWarnings(cfg('0 3 * * 0', 180, 26))).toEqual([]);
    expect(retentionWarnings(cfg('0 3 * * *', 30, 30))).toEqual([]);
    expect(retentionWarnings(validateConfig(embeddedDefaults({}).raw, 'embedded'))).toEqual([]);
  });

  test('at config load and in doctor', async () => {
    const dir = tmp('sop-ret-');
    const path = join(dir, 'backup-bot.yml');
    writeFileSync(path, `timezone: UTC\nstate: { url: "${state.url}" }\nstorage:\n  l: { type: local, path: "${dir}" }\nclients:\n  demo:\n    database: { engine: postgres, url: "${src.url}" }\n    storage: [l]\n    schedule: "0 3 * * *"\n    retention: { scheduled: { days: 14, keep: 14 } }\n`);
    const loaded = loadConfig({ path, env: {} });
    expect(loaded.warnings).toEqual([expect.stringMatching(/^clients\.demo: retention\.scheduled \{ days: 14, keep: 14 \} .* keeps 14 days of scheduled backups, fewer than the 30 days/)]);
    const checks = await doctor(loaded.config, path);
    expect(checks.find((c) => c.name === 'client demo: retention')).toMatchObject({ ok: true, warn: true, detail: loaded.warnings![0] });
  }, 120_000);
});
