import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.js';
import { fillSampleDatabase } from '../../../src/core/demo-database.js';
import { runProgram } from '../../../src/core/run-program.js';
import { LocalStorage } from '../../../src/core/storage/local.js';
import { verifyBackupFile } from '../../../src/core/verify/backup-file.js';

let src: TestDatabase;
let dir: string;
let storage: LocalStorage;
let sql: Buffer;
let custom: Buffer;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
function store(key: string, body: Buffer): void {
  mkdirSync(join(dir, key, '..'), { recursive: true });
  writeFileSync(join(dir, key), body);
}

beforeAll(async () => {
  src = await createTestDatabase('bbver');
  await fillSampleDatabase(src.url);
  dir = mkdtempSync(join(tmpdir(), 'ver-'));
  storage = new LocalStorage('local', { type: 'local', path: dir, prefix: '' });
  const plain = await runProgram('pg_dump', ['--host', '127.0.0.1', '--username', 'postgres', '--dbname', src.name]);
  sql = Buffer.from(plain.stdout);
  const dump = join(dir, 'x.dump');
  const c = await runProgram('pg_dump', ['--host', '127.0.0.1', '--username', 'postgres', '--dbname', src.name, '--format=custom', `--file=${dump}`]);
  expect(c.code).toBe(0);
  custom = (await import('node:fs')).readFileSync(dump);
});
afterAll(async () => { await src.drop(); });

describe('verifyBackupFile (read back from a Storage)', () => {
  test('a good plain backup: sha256, full gunzip, tables >= min, trailer', async () => {
    const gz = gzipSync(sql);
    store('demo/good.sql.gz', gz);
    const r = await verifyBackupFile(storage, 'demo/good.sql.gz', { engine: 'postgres', format: 'plain', expectedSha256: sha(gz), minTables: 16 });
    expect(r).toMatchObject({ ok: true, tables: 16, sha256: sha(gz), sizeBytes: gz.length });
    expect(r.checks.map((c) => [c.name, c.ok])).toEqual([['sha256', true], ['decompress', true], ['tables', true], ['trailer', true]]);
  });

  test('sha256 mismatch and too few tables fail their checks', async () => {
    const gz = gzipSync(sql);
    store('demo/sha.sql.gz', gz);
    const r = await verifyBackupFile(storage, 'demo/sha.sql.gz', { engine: 'postgres', format: 'plain', expectedSha256: 'f'.repeat(64), minTables: 17 });
    expect(r.ok).toBe(false);
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['sha256', 'tables']);
    expect(r.checks.find((c) => c.name === 'tables')!.detail).toBe('16 CREATE TABLE (minimum 17)');
  });

  test('a truncated gzip file fails decompression and trailer', async () => {
    const gz = gzipSync(sql);
    const cut = gz.subarray(0, Math.floor(gz.length / 2));
    store('demo/cut.sql.gz', cut);
    const r = await verifyBackupFile(storage, 'demo/cut.sql.gz', { engine: 'postgres', format: 'plain', expectedSha256: sha(cut), minTables: 1 });
    expect(r.ok).toBe(false);
    const failed = Object.fromEntries(r.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]));
    expect(failed.decompress).toMatch(/gunzip: unexpected end of file/);
    expect(failed.trailer).toMatch(/truncated/);
  });

  test('a valid gzip of a dump cut before its trailer is never verified', async () => {
    const gz = gzipSync(sql.subarray(0, sql.indexOf('-- PostgreSQL database dump complete')));
    store('demo/notrailer.sql.gz', gz);
    const r = await verifyBackupFile(storage, 'demo/notrailer.sql.gz', { engine: 'postgres', format: 'plain', expectedSha256: sha(gz), minTables: 1 });
    expect(r.ok).toBe(false);
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['trailer']);
  });

  test('custom archives are read whole through pg_restore; a cut archive fails', async () => {
    store('demo/good.dump', custom);
    const r = await verifyBackupFile(storage, 'demo/good.dump', { engine: 'postgres', format: 'custom', expectedSha256: sha(custom), minTables: 16 });
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r).toMatchObject({ ok: true, tables: 16 });
    const cut = custom.subarray(0, custom.length - 2000);
    store('demo/cut.dump', cut);
    const bad = await verifyBackupFile(storage, 'demo/cut.dump', { engine: 'postgres', format: 'custom', expectedSha256: sha(cut), minTables: 1 });
    expect(bad.ok).toBe(false);
    expect(bad.checks.find((c) => c.name === 'decompress')).toMatchObject({ ok: false, detail: expect.stringMatching(/pg_restore exited with code/) });
  });

  test('a missing object: one failed read check naming the destination', async () => {
    const r = await verifyBackupFile(storage, 'demo/nope.sql.gz', { engine: 'postgres', format: 'plain', minTables: 1 });
    expect(r.ok).toBe(false);
    expect(r.checks).toEqual([{ name: 'read', ok: false, detail: expect.stringContaining('destination "local"') }]);
  });
});
