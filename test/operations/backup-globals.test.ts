/**
 * `database.globals: true` through the front doors (issue 18 item 5, issue 20): a backup stores
 * `backup_…_globals.sql.gz` beside the dump (`.sql.gz.age` when the client encrypts), verified on read-back
 * and by `verify`, loaded first by the restore test (a table owned by and granted to production roles keeps
 * its owner and grant in staging), deleted by prune with its backup. Faults: pg_dumpall failing (the backup
 * fails, nothing stays under a final name), a flipped byte in the stored globals file (verify and the restore
 * test fail naming it), and an encrypted file holds no role name in clear.
 *
 * @needs docker (the restore test runs a staging container)
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { runBackup } from '../../src/operations/backup.js';
import { verifyBackup } from '../../src/operations/verify-backup.js';
import { runRestoreTest } from '../../src/operations/restore-test.js';
import { manifestOf } from '../../src/operations/manifest.js';
import { runProgram } from '../../src/core/run-program.js';
import { createTestDatabase, PG_ADMIN_URL, withPg, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext } from '../helpers/context.js';

const id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const R = { owner: `bbgo_${id}_owner`, reader: `bbgo_${id}_reader` };
const I = (s: string) => pg.escapeIdentifier(s);
const TABLES = ['lotes', 'movimientos', 'users', 'productos'];

let state: TestDatabase;
let src: TestDatabase;
let dir: string;
let identityFile: string;
let recipient: string;

beforeAll(async () => {
  state = await createTestDatabase('bbt_glob_state');
  src = await createTestDatabase('bbt_glob_src');
  await fillSampleDatabase(src.url);
  await withPg(PG_ADMIN_URL, async (c) => {
    await c.query(`CREATE ROLE ${I(R.owner)} NOLOGIN`);
    await c.query(`CREATE ROLE ${I(R.reader)} LOGIN CONNECTION LIMIT 3`);
  });
  await withPg(src.url, async (c) => {
    await c.query(`CREATE TABLE owned_by_role (id int PRIMARY KEY, note text)`);
    await c.query(`INSERT INTO owned_by_role VALUES (1, 'x'), (2, 'y')`);
    await c.query(`ALTER TABLE owned_by_role OWNER TO ${I(R.owner)}`);
    await c.query(`GRANT SELECT ON owned_by_role TO ${I(R.reader)}`);
  });
  dir = mkdtempSync(join(tmpdir(), 'bbt-glob-'));
  identityFile = join(dir, 'key.txt');
  expect((await runProgram('age-keygen', ['-o', identityFile])).code).toBe(0);
  recipient = (await runProgram('age-keygen', ['-y', identityFile])).stdout.trim();
});
afterAll(async () => {
  await src?.drop();
  await state?.drop();
  await withPg(PG_ADMIN_URL, async (c) => {
    for (const r of [R.reader, R.owner]) await c.query(`DROP ROLE IF EXISTS ${I(r)}`).catch(() => undefined);
  });
  rmSync(dir, { recursive: true, force: true });
});

function config(store: string, encrypted: boolean) {
  return testConfig({
    stateUrl: state.url, demoUrl: src.url, storageDir: join(dir, store),
    client: {
      database: { engine: 'postgres', url: src.url, globals: true },
      verify: { minTables: 10, tables: TABLES }, restoreTest: { timeout: '3m', memoryMb: 512, cpus: 1 },
      ...(encrypted ? { encryption: { recipients: [recipient], identity: { file: identityFile } } } : {}),
    },
  });
}

async function withCtx<T>(cfg: ReturnType<typeof config>, fn: (ctx: Awaited<ReturnType<typeof testContext>>) => Promise<T>): Promise<T> {
  const ctx = await testContext(cfg);
  try { return await fn(ctx); } finally { await ctx.close(); }
}

function flipByte(path: string, at: number): void {
  const b = readFileSync(path);
  b[at] = b[at]! ^ 0xff;
  writeFileSync(path, b);
}

describe.each([
  ['plain', false],
  ['encrypted', true],
])('globals file (%s)', (name, encrypted) => {
  const store = `store-${name}`;
  let globalsPath: string;

  test('the backup stores and verifies it; verify reads it back; the restore test loads it first', async () => {
    await withCtx(config(store, encrypted), async (ctx) => {
      const r = await runBackup(ctx, { client: 'demo', actor: 'test', trigger: 'cli' });
      if (!r.ok) throw new Error(r.error);
      const g = manifestOf(r.backup!).globals!;
      expect(g.key).toMatch(encrypted ? /^demo\/backup_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_globals\.sql\.gz\.age$/ : /^demo\/backup_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_globals\.sql\.gz$/);
      expect(g).toMatchObject({ withPasswords: false, roles: expect.any(Number) });
      expect(g.roles!).toBeGreaterThanOrEqual(2);
      if (encrypted) expect(g.plaintextSha256).toMatch(/^[0-9a-f]{64}$/);
      globalsPath = join(dir, store, g.key);
      const stored = readFileSync(globalsPath);
      // gzip hides nothing: the encrypted file must not even start like gzip, and holds no role name
      expect(stored.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(!encrypted);
      if (encrypted) expect(stored.toString('latin1')).not.toContain(R.reader);
      const names = (r.run.details as { checks?: Array<{ name: string; ok: boolean }> }).checks?.map((c) => c.name) ?? [];
      expect(names).toEqual(expect.arrayContaining(['globals sha256', 'globals roles', 'globals trailer', 'globals passwords', ...(encrypted ? ['globals decrypt'] : [])]));

      const v = await verifyBackup(ctx, { client: 'demo', actor: 'test', trigger: 'cli', notify: false });
      expect(v.ok).toBe(true);
      expect(v.checks.filter((c) => c.name.startsWith('globals ')).every((c) => c.ok)).toBe(true);

      const t = await runRestoreTest(ctx, { client: 'demo', actor: 'test', trigger: 'cli' });
      if (!t.ok) throw new Error(t.error);
      expect(t.register!.observations).toMatch(/Roles globales cargados primero: \d+/);
    });
  }, 240_000);

  test('a flipped byte in the stored globals file: verify fails naming it, the restore test fails before the dump is loaded', async () => {
    flipByte(globalsPath, Math.floor(readFileSync(globalsPath).length / 2));
    await withCtx(config(store, encrypted), async (ctx) => {
      const v = await verifyBackup(ctx, { client: 'demo', actor: 'test', trigger: 'cli', notify: false });
      expect(v.ok).toBe(false);
      expect(v.checks.find((c) => c.name === 'globals sha256')).toMatchObject({ ok: false });
      expect(v.checks.filter((c) => !c.ok).every((c) => c.name.startsWith('globals '))).toBe(true);
      // named explicitly: verify has just marked it not verified
      const t = await runRestoreTest(ctx, { client: 'demo', actor: 'test', trigger: 'cli', backupKey: v.backup.key! });
      expect(t).toMatchObject({ ok: false, failedStep: 'restoring' });
      expect(t.error).toMatch(/globals file backup_.*_globals\.sql\.gz/);
      expect(t.register).toMatchObject({ result: 'Fail' });
    });
  }, 240_000);
});

test('pg_dumpall fails: the backup fails, its dump and archives are removed, the run says why', async () => {
  const bin = join(dir, 'bin');
  rmSync(bin, { recursive: true, force: true });
  writeFileSync(join(dir, 'fake-pg_dumpall'), '#!/bin/sh\necho "pg_dumpall: error: connection refused (test)" >&2\nexit 1\n');
  chmodSync(join(dir, 'fake-pg_dumpall'), 0o755);
  await import('node:fs/promises').then((f) => f.mkdir(bin, { recursive: true }));
  await import('node:fs/promises').then((f) => f.symlink(join(dir, 'fake-pg_dumpall'), join(bin, 'pg_dumpall')));
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  try {
    await withCtx(config('store-fail', false), async (ctx) => {
      const r = await runBackup(ctx, { client: 'demo', actor: 'test', trigger: 'cli' });
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/globals \(pg_dumpall --globals-only\): .*connection refused \(test\)/);
      expect(r.run.status).toBe('failed');
      const left = existsSync(join(dir, 'store-fail', 'demo')) ? readdirSync(join(dir, 'store-fail', 'demo')) : [];
      expect(left).toEqual([]);
    });
  } finally {
    process.env.PATH = path;
  }
}, 120_000);
