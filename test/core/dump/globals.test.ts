/**
 * database.globals (issue 18 item 5) against the real PostgreSQL: `pg_dumpall --globals-only` streamed
 * through gzip + sha256 into a local and an S3 destination as `backup_…_globals.sql.gz`, passwords left out
 * unless asked for, the password only in the child's environment, nothing under the final name on failure.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { PG_ADMIN_URL, withPg } from '../../helpers/db.js';
import { startS3, type TestS3 } from '../../helpers/s3.js';
import { parseDbUrl } from '../../../src/core/db-url.js';
import { dumpGlobals, pgDumpallGlobalsArgs } from '../../../src/core/dump/globals.js';
import { backupBase, backupKey, globalsFileName, isDumpFileName } from '../../../src/core/naming.js';
import { LocalStorage } from '../../../src/core/storage/local.js';
import { S3Storage } from '../../../src/core/storage/s3.js';
import { verifyGlobalsFile } from '../../../src/core/verify/globals-file.js';
import type { ClientConfig } from '../../../src/config/schema.js';

const id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const R = { parent: `bbg_${id}_parent`, app: `bbg_${id}_app` };
const I = (s: string) => pg.escapeIdentifier(s);
let s3: TestS3;
const tempDirs: string[] = [];
const tempDir = (prefix: string) => { const d = mkdtempSync(join(tmpdir(), prefix)); tempDirs.push(d); return d; };

const walk = (d: string): string[] => (existsSync(d) ? readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)])) : []);
const local = (name: string) => new LocalStorage(name, { type: 'local', path: tempDir('glob-'), prefix: '' });
const s3Storage = () => new S3Storage('s3', { type: 's3', bucket: 'bk', prefix: 'p', endpoint: s3.endpoint, region: 'auto', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', partSizeMb: 5, queueSize: 2 });
const db = (o: Partial<ClientConfig['database']> = {}): ClientConfig['database'] => ({ engine: 'postgres', url: PG_ADMIN_URL, format: 'plain', globals: true, globalsWithPasswords: false, ...o });
const key = backupKey('demo', globalsFileName(backupBase(new Date('2026-01-06T03:00:00Z'))));

beforeAll(async () => {
  s3 = await startS3(['bk']);
  await withPg(PG_ADMIN_URL, async (c) => {
    await c.query(`CREATE ROLE ${I(R.parent)} NOLOGIN`);
    await c.query(`CREATE ROLE ${I(R.app)} LOGIN PASSWORD 'app-secret-pw' CONNECTION LIMIT 3`);
    await c.query(`GRANT ${I(R.parent)} TO ${I(R.app)}`);
    await c.query(`ALTER ROLE ${I(R.app)} SET work_mem = '16MB'`);
  });
});
afterAll(async () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  await s3.close();
  await withPg(PG_ADMIN_URL, async (c) => { for (const r of [R.app, R.parent]) await c.query(`DROP ROLE IF EXISTS ${I(r)}`); });
});

test('the file is named after the backup and is not taken for a dump', () => {
  expect(key).toBe('demo/backup_2026-01-06_03-00-00_globals.sql.gz');
  expect(isDumpFileName('backup_2026-01-06_03-00-00_globals.sql.gz')).toBe(false);
});

test('arguments: --database for the first connection, --no-role-passwords by default, never the password', () => {
  const t = parseDbUrl('postgres://backup:s3cret@db.example:5433/conitrack', 'postgres');
  expect(pgDumpallGlobalsArgs(t, { withPasswords: false })).toEqual(['--host', 'db.example', '--port', '5433', '--username', 'backup', '--database', 'conitrack', '--no-password', '--globals-only', '--no-role-passwords']);
  expect(pgDumpallGlobalsArgs(t, { withPasswords: true })).toEqual(['--host', 'db.example', '--port', '5433', '--username', 'backup', '--database', 'conitrack', '--no-password', '--globals-only']);
});

test('the password reaches the program in PGPASSWORD only', async () => {
  const dir = tempDir('glob-prog-');
  const prog = join(dir, 'fake-pg_dumpall');
  writeFileSync(prog, '#!/bin/sh\necho "ARGS: $*"\necho "PW: $PGPASSWORD"\necho "APP: $PGAPPNAME"\n');
  chmodSync(prog, 0o755);
  const a = local('a');
  const r = await dumpGlobals(db({ url: 'postgres://backup:s3cret@127.0.0.1:5432/conitrack' }), { key, destinations: [{ name: 'a', storage: a, primary: true }], gzipLevel: 6, program: prog });
  expect(r.ok).toBe(true);
  const out = gunzipSync(readFileSync(join(a.root, key))).toString();
  expect(out).toContain('PW: s3cret\n');
  expect(out).toContain('APP: backup-bot pg_dumpall\n');
  expect(out.split('\n')[0]).not.toContain('s3cret');
});

test('pg_dumpall --globals-only goes to every destination: roles, memberships and role settings, no passwords; verified', async () => {
  const a = local('a');
  const b = s3Storage();
  const r = await dumpGlobals(db(), { key, destinations: [{ name: 'a', storage: a, primary: true }, { name: 's3', storage: b, primary: false }], gzipLevel: 6 });
  expect(r.error).toBeUndefined();
  expect(r).toMatchObject({ ok: true, withPasswords: false });
  expect(r.destinations.map((d) => [d.destination, d.ok])).toEqual([['a', true], ['s3', true]]);
  const file = readFileSync(join(a.root, key));
  expect(createHash('sha256').update(file).digest('hex')).toBe(r.sha256);
  const chunks: Buffer[] = [];
  for await (const c of await b.get(key)) chunks.push(c as Buffer);
  expect(Buffer.concat(chunks).equals(file)).toBe(true);
  const sql = gunzipSync(file).toString();
  expect(sql).toContain(`CREATE ROLE ${R.app};`);
  expect(sql).toMatch(new RegExp(`^ALTER ROLE ${R.app} WITH .*LOGIN.* CONNECTION LIMIT 3;$`, 'm'));
  expect(sql).toMatch(new RegExp(`^GRANT ${R.parent} TO ${R.app}`, 'm'));
  expect(sql).toContain(`ALTER ROLE ${R.app} SET work_mem TO '16MB';`);
  expect(sql).not.toMatch(/PASSWORD '/);
  const v = await verifyGlobalsFile(a, key, { expectedSha256: r.sha256, withPasswords: false });
  expect(v.checks.filter((c) => !c.ok)).toEqual([]);
  expect(v.ok).toBe(true);
  expect(v.roles).toBeGreaterThanOrEqual(3);
  expect((await verifyGlobalsFile(b, key, { expectedSha256: r.sha256, withPasswords: false })).ok).toBe(true);
});

test('globalsWithPasswords keeps the password hashes (and the verification knows which was asked for)', async () => {
  const a = local('a');
  const r = await dumpGlobals(db({ globalsWithPasswords: true }), { key, destinations: [{ name: 'a', storage: a, primary: true }], gzipLevel: 6 });
  expect(r).toMatchObject({ ok: true, withPasswords: true });
  const sql = gunzipSync(readFileSync(join(a.root, key))).toString();
  expect(sql).toMatch(new RegExp(`^ALTER ROLE ${R.app} WITH .* PASSWORD '(SCRAM-SHA-256|md5)`, 'm'));
  expect(sql).not.toContain('app-secret-pw');
  expect((await verifyGlobalsFile(a, key, { expectedSha256: r.sha256, withPasswords: true })).ok).toBe(true);
  const strict = await verifyGlobalsFile(a, key, { expectedSha256: r.sha256, withPasswords: false });
  expect(strict.ok).toBe(false);
  expect(strict.checks.find((c) => c.name === 'passwords')).toMatchObject({ ok: false, detail: expect.stringMatching(/^\d+ role\(s\) with a password hash although globalsWithPasswords is false$/) });
});

test('a failing pg_dumpall leaves nothing under the final name and says why', async () => {
  const a = local('a');
  const r = await dumpGlobals(db({ url: 'postgres://postgres@127.0.0.1:5432/no_such_db_globals' }), { key, destinations: [{ name: 'a', storage: a, primary: true }], gzipLevel: 6 });
  expect(r.ok).toBe(false);
  expect(r.failedPart).toBe('dump');
  expect(r.error).toMatch(/^pg_dumpall exited with code 1: .*no_such_db_globals/);
  expect(walk(a.root)).toEqual([]);
});

test('a mysql client is refused', async () => {
  await expect(dumpGlobals({ engine: 'mysql', url: 'mysql://root@127.0.0.1/shop', format: 'plain', globals: true, globalsWithPasswords: false }, { key, destinations: [], gzipLevel: 6 }))
    .rejects.toThrow('database.globals is only available for PostgreSQL (pg_dumpall --globals-only)');
});
