/**
 * Issue 18 item 5, wired: `database.globals: true` stores `pg_dumpall --globals-only` as a file of the same backup
 * in every destination, read back like the dump (each copy), listed in the manifest, verified again by `verify`,
 * loaded first in the staging restore test (so a GRANT to a production role restores), and deleted with the
 * backup by prune. Real PostgreSQL (a role created on the server), two local destinations, real Docker staging.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, PG_ADMIN_URL, withPg, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, FakeClock, type TestContext } from '../helpers/context.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { runBackup } from '../../src/operations/backup.js';
import { verifyBackup } from '../../src/operations/verify-backup.js';
import { runRestoreTest } from '../../src/operations/restore-test.js';
import { prune } from '../../src/operations/prune.js';

const role = `bbt_glob_${randomBytes(3).toString('hex')}`;
let state: TestDatabase;
let src: TestDatabase;
let primaryDir: string;
let nasDir: string;

const config = (globals: boolean, extra: Record<string, unknown> = {}) => testConfig({
  stateUrl: state.url, demoUrl: src.url,
  raw: { storage: { local: { type: 'local', path: primaryDir }, nas: { type: 'local', path: nasDir } } },
  client: {
    database: { engine: 'postgres', url: src.url, globals }, storage: ['local', 'nas'], verify: { minTables: 10, tables: ['lotes'] },
    restoreTest: { timeout: '3m', memoryMb: 512, cpus: 1 }, retention: { scheduled: { days: 30, keep: 1 }, manual: { days: 1 } }, ...extra,
  },
});

beforeAll(async () => {
  state = await createTestDatabase('bbglwstate');
  src = await createTestDatabase('bbglwsrc');
  await fillSampleDatabase(src.url);
  await withPg(PG_ADMIN_URL, (c) => c.query(`CREATE ROLE ${pg.escapeIdentifier(role)} NOLOGIN`));
  await withPg(src.url, (c) => c.query(`GRANT SELECT ON lotes TO ${pg.escapeIdentifier(role)}`));
  primaryDir = mkdtempSync(join(tmpdir(), 'glw-primary-'));
  nasDir = mkdtempSync(join(tmpdir(), 'glw-nas-'));
}, 60_000);
afterAll(async () => {
  await src.drop();
  await state.drop();
  await withPg(PG_ADMIN_URL, (c) => c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`)).catch(() => undefined);
  rmSync(primaryDir, { recursive: true, force: true });
  rmSync(nasDir, { recursive: true, force: true });
});

async function withCtx<T>(cfg: ReturnType<typeof config>, fn: (ctx: TestContext) => Promise<T>, clock?: FakeClock): Promise<T> {
  const ctx = await testContext(cfg, clock ? { clock } : {});
  try { return await fn(ctx); } finally { await ctx.close(); }
}

test('globals stored beside the dump in every destination, read back per copy, in the manifest; verify checks it; a damaged one fails verify', async () => {
  await withCtx(config(true), async (ctx) => {
    const o = await runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false });
    expect(o.error).toBeUndefined();
    expect(o.ok).toBe(true);
    const m = o.backup!.manifest as { globals?: { key: string; sha256: string; withPasswords: boolean } };
    expect(m.globals).toMatchObject({ key: o.backup!.key!.replace(/\.sql\.gz$/, '_globals.sql.gz'), withPasswords: false });
    for (const dir of [primaryDir, nasDir]) expect(existsSync(join(dir, m.globals!.key))).toBe(true);
    expect(o.locations.map((l) => [l.destination, l.verified])).toEqual([['local', true], ['nas', true]]);
    const run = await ctx.store.runs.get(o.run.id);
    const checks = (run!.details as { checks: Array<{ name: string; ok: boolean; detail: string }> }).checks;
    expect(checks.find((c) => c.name === 'globals roles')).toMatchObject({ ok: true });
    expect(checks.find((c) => c.name === 'globals passwords')).toMatchObject({ ok: true });

    const v = await verifyBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false });
    expect(v.ok).toBe(true);
    expect(v.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['local: globals sha256', 'nas: globals trailer']));
    // The NAS copy of the globals file loses its end: verify names it.
    const nasGlobals = join(nasDir, m.globals!.key);
    const bytes = readFileSync(nasGlobals);
    writeFileSync(nasGlobals, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const bad = await verifyBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false });
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/^copy on nas: verification failed: globals sha256: read .*, recorded/);
    writeFileSync(nasGlobals, bytes);
  });
}, 120_000);

test('the restore test loads the globals first: the GRANT to the production role restores; without globals it is only tolerated', async () => {
  await withCtx(config(true), async (ctx) => {
    const out = await runRestoreTest(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false });
    expect(out.error).toBeUndefined();
    expect(out.ok).toBe(true);
    const run = await ctx.store.runs.get(out.run.id);
    const d = run!.details as { globals: { roles: number } | null; warnings: string[] };
    expect(d.globals!.roles).toBeGreaterThan(0);
    expect(d.warnings.join('\n')).not.toContain(`role "${role}" does not exist`);
  });
  await withCtx(config(false), async (ctx) => {
    const b = await runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false });
    expect(b.ok).toBe(true);
    expect((b.backup!.manifest as { globals?: unknown }).globals).toBeUndefined();
    const out = await runRestoreTest(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false });
    expect(out.ok).toBe(true);
    const d = (await ctx.store.runs.get(out.run.id))!.details as { globals: unknown; warnings: string[] };
    expect(d.globals).toBeNull();
    expect(d.warnings.join('\n')).toContain(`role "${role}" does not exist`);
  });
}, 300_000);

test('prune deletes the globals file with its backup', async () => {
  const later = new FakeClock(new Date(Date.now() + 3 * 86_400_000));
  await withCtx(config(true), async (ctx) => {
    const withGlobals = (await ctx.store.backups.list({ client: 'demo' })).find((b) => (b.manifest as { globals?: unknown } | null)?.globals)!;
    const key = (withGlobals.manifest as { globals: { key: string } }).globals.key;
    expect(existsSync(join(primaryDir, key))).toBe(true);
    const r = await prune(ctx, { client: 'demo', actor: 'alice', trigger: 'cli' });
    expect(r.errors).toEqual([]);
    expect(r.deleted.map((b) => b.id)).toContain(withGlobals.id);
    for (const dir of [primaryDir, nasDir]) expect(existsSync(join(dir, key))).toBe(false);
  }, later);
}, 60_000);
