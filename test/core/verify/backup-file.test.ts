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
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { AgeEncryptStream } from '../../../src/core/crypto/age-stream.js';
import { recipientFingerprint, recipientInfo } from '../../../src/core/crypto/keys.js';
import { generateIdentity, identityToRecipient } from 'age-encryption';

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

  test('encrypted: with the recorded ciphertext sha256 the plaintext is not hashed again; without it, the plaintext sha256 is checked', async () => {
    const secret = await generateIdentity();
    const recipient = await identityToRecipient(secret);
    const gz = gzipSync(sql);
    const cipher = await buffer(Readable.from([gz]).pipe(await AgeEncryptStream.create([recipient])));
    store('demo/enc.sql.gz.age', cipher);
    const decrypt = (plaintextSha256: string) => ({
      identities: [{ secret, recipient, fingerprint: recipientFingerprint(recipient), source: 'test' }],
      recipients: recipientInfo([recipient]), plaintextSha256, plaintextSizeBytes: gz.length,
    });
    const opts = { engine: 'postgres' as const, format: 'plain' as const, minTables: 16, client: 'demo' };
    const checked = await verifyBackupFile(storage, 'demo/enc.sql.gz.age', { ...opts, expectedSha256: sha(cipher), decrypt: decrypt(sha(gz)) });
    expect(checked.ok).toBe(true);
    expect(checked.checks.find((c) => c.name === 'decrypt')!.detail).toBe(`age: every chunk authenticated (${gz.length} bytes of plaintext, the one recorded when the stored bytes' sha256 matches)`);

    // No recorded ciphertext sha256: the plaintext is hashed, and a recorded plaintext sha256 that differs fails.
    const alone = await verifyBackupFile(storage, 'demo/enc.sql.gz.age', { ...opts, decrypt: decrypt(sha(gz)) });
    expect(alone.checks.find((c) => c.name === 'decrypt')).toEqual({ name: 'decrypt', ok: true, detail: `age: every chunk authenticated (${gz.length} bytes of plaintext, sha256 matches ${sha(gz).slice(0, 12)}…)` });
    const wrong = await verifyBackupFile(storage, 'demo/enc.sql.gz.age', { ...opts, decrypt: decrypt('ab'.repeat(32)) });
    expect(wrong.ok).toBe(false);
    expect(wrong.checks.find((c) => c.name === 'decrypt')!.detail).toMatch(/^decrypted, but the plaintext sha256 [0-9a-f]{12}… differs from the recorded abababababab…$/);
  });
});
