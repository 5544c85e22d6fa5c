/** @needs slow */
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.js';
import { parseDbUrl } from '../../../src/core/db-url.js';
import { downloadBackup, formatOf, loadBackupInto, runPgProgram } from '../../../src/core/restore/load-backup.js';
import { LocalStorage } from '../../../src/core/storage/local.js';
import { AgeEncryptStream } from '../../../src/core/crypto/age-stream.js';
import { recipientFingerprint, recipientInfo } from '../../../src/core/crypto/keys.js';
import { runProgram } from '../../../src/core/run-program.js';

let db: TestDatabase;
beforeEach(async () => { db = await createTestDatabase('bbload'); });
afterEach(async () => { await db.drop(); });

async function tables(): Promise<string[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((r) => r.t);
  } finally { await c.end(); }
}

const PSQL_ONE_TRANSACTION = ['-X', '--quiet', '--no-password', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', '-'];

test('an input that fails halfway never reaches psql as a clean end: nothing is committed', async () => {
  const t = parseDbUrl(db.url, 'postgres');
  let sent = false;
  const input = new Readable({
    read() {
      if (sent) { setTimeout(() => this.destroy(new Error('read error on the backup disk')), 200); return; }
      sent = true;
      this.push('CREATE TABLE lotes (id int);\nINSERT INTO lotes VALUES (1), (2);\n');
    },
  });
  const args = ['--host', t.host, '--port', String(t.port), '--username', t.user, '--dbname', t.database, ...PSQL_ONE_TRANSACTION];
  await expect(runPgProgram('psql', args, t, input)).rejects.toThrow('psql failed (reading the backup failed: read error on the backup disk)');
  expect(await tables()).toEqual([]);
});

test('a truncated .sql.gz: the load fails naming the gzip error and leaves the database empty', async () => {
  const sql = 'CREATE TABLE movimientos (id int, nota text);\n' + Array.from({ length: 20000 }, (_, i) => `INSERT INTO movimientos VALUES (${i}, 'movimiento ${i} ñandú');\n`).join('');
  const gz = gzipSync(Buffer.from(sql));
  const file = join(mkdtempSync(join(tmpdir(), 'bbload-')), 'cut.sql.gz');
  writeFileSync(file, gz.subarray(0, Math.floor(gz.length * 0.6)));
  await expect(loadBackupInto(file, 'plain', parseDbUrl(db.url, 'postgres'))).rejects.toThrow(/reading the backup failed: unexpected end of file/);
  expect(await tables()).toEqual([]);
});

test('a missing file fails with the file error, nothing committed, no hang', async () => {
  await expect(loadBackupInto('/nonexistent/backup.sql.gz', 'plain', parseDbUrl(db.url, 'postgres'))).rejects.toThrow(/ENOENT/);
  expect(await tables()).toEqual([]);
});

test('a whole backup loads in one transaction', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'bbload-')), 'ok.sql.gz');
  writeFileSync(file, gzipSync(Buffer.from('CREATE TABLE productos (id int);\nINSERT INTO productos VALUES (1);\n')));
  await loadBackupInto(file, 'plain', parseDbUrl(db.url, 'postgres'));
  expect(await tables()).toEqual(['productos']);
});

describe.each([['022', 0o022], ['000', 0o000]])('owner-only temporary files under umask %s', (_name, umask) => {
  let saved: number;
  beforeEach(() => { saved = process.umask(umask); });
  afterEach(() => { process.umask(saved); });

  test('downloadBackup: the downloaded production backup is 0600 in a 0700 directory', async () => {
    const { lstat, rm } = await import('node:fs/promises');
    const { LocalStorage } = await import('../../../src/core/storage/local.js');
    const { downloadBackup } = await import('../../../src/core/restore/load-backup.js');
    const root = mkdtempSync(join(tmpdir(), 'bbload-store-'));
    try {
      const storage = new LocalStorage('local', { type: 'local', path: root, prefix: '' });
      const body = gzipSync(Buffer.from('CREATE TABLE lotes (id int);\n'));
      await storage.put('demo/backup.sql.gz', Readable.from([body]));
      const local = await downloadBackup([{ storage, key: 'demo/backup.sql.gz' }], null, 'backup.sql.gz');
      try {
        expect((await lstat(local.path)).mode & 0o777).toBe(0o600);
        expect((await lstat(join(local.path, '..'))).mode & 0o777).toBe(0o700);
        expect(local.size).toBe(body.length);
      } finally {
        await local.cleanup();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('downloadBackup of an encrypted backup (production restore)', () => {
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  let keyDir: string;
  let identity: string;
  let recipient: string;
  let other: string;
  let storeDir: string;
  let storage: LocalStorage;
  const SQL = 'CREATE TABLE lotes (id int, nota text);\n' + Array.from({ length: 30000 }, (_, i) => `INSERT INTO lotes VALUES (${i}, 'lote ${i} ${i * 7919 % 10007}');\n`).join('') + '-- PostgreSQL database dump complete\n';
  let gz: Buffer;
  let cipher: Buffer;

  beforeAll(async () => {
    keyDir = mkdtempSync(join(tmpdir(), 'bbload-keys-'));
    await runProgram('age-keygen', ['-o', join(keyDir, 'k.txt')]);
    await runProgram('age-keygen', ['-o', join(keyDir, 'other.txt')]);
    identity = readFileSync(join(keyDir, 'k.txt'), 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
    other = readFileSync(join(keyDir, 'other.txt'), 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
    recipient = (await runProgram('age-keygen', ['-y', join(keyDir, 'k.txt')])).stdout.trim();
    gz = gzipSync(Buffer.from(SQL));
    cipher = await buffer(Readable.from([gz]).pipe(await AgeEncryptStream.create([recipient])));
    expect(cipher.length).toBeGreaterThan(3 * 65536); // several age chunks
    storeDir = mkdtempSync(join(tmpdir(), 'bbload-store-'));
    storage = new LocalStorage('local', { type: 'local', path: storeDir, prefix: '' });
  });
  afterAll(() => { rmSync(keyDir, { recursive: true, force: true }); rmSync(storeDir, { recursive: true, force: true }); });

  const decryptWith = async (identities: string[]) => ({
    decryption: {
      identities: identities.map((s) => ({ secret: s, recipient, fingerprint: recipientFingerprint(recipient), source: 'test' })),
      recipients: recipientInfo([recipient]), plaintextSha256: sha(gz), plaintextSizeBytes: gz.length,
    },
    client: 'demo',
  });

  test('decrypted on the way to the temp file (plaintext .sql.gz, checked), then loaded', async () => {
    writeFileSync(join(storeDir, 'backup_x.sql.gz.age'), cipher);
    const local = await downloadBackup([{ storage, key: 'backup_x.sql.gz.age' }], sha(cipher), 'backup_x.sql.gz.age', await decryptWith([identity]));
    try {
      expect(local.path.endsWith('/backup_x.sql.gz')).toBe(true);
      expect(local.sha256).toBe(sha(cipher));
      expect(readFileSync(local.path).equals(gz)).toBe(true);
      expect(formatOf('backup_x.dump.age')).toBe('custom');
      await loadBackupInto(local.path, 'plain', parseDbUrl(db.url, 'postgres'));
      expect(await tables()).toEqual(['lotes']);
    } finally {
      await local.cleanup();
    }
  });

  test.each([
    ['one flipped byte in chunk 1', (b: Buffer) => { const x = Buffer.from(b); x[x.length - 3 * 65536]! ^= 1; return x; }, /sha256 .* differs from the registered|age chunk \d+ .* does not authenticate/],
    ['truncated at a chunk boundary', (b: Buffer) => b.subarray(0, b.length - (b.length - b.indexOf('\n', b.indexOf('\n--- ') + 1) - 17) % 65552), /is truncated or damaged: its last age chunk/],
    ['truncated mid-chunk', (b: Buffer) => b.subarray(0, b.length - 100), /is truncated or damaged/],
  ])('%s: refused before anything is loaded, no file left', async (_name, damage, why) => {
    writeFileSync(join(storeDir, 'backup_bad.sql.gz.age'), damage(cipher));
    const err = await downloadBackup([{ storage, key: 'backup_bad.sql.gz.age' }], sha(cipher), 'backup_bad.sql.gz.age', await decryptWith([identity])).then(() => new Error("expected a failure"), (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/^cannot read the backup: local: /);
    expect(err.message).toMatch(why);
    expect(readdirSync(tmpdir()).filter((d) => d.startsWith('backup-bot-restore-') && existsSync(join(tmpdir(), d, 'backup_bad.sql.gz')))).toEqual([]);
    expect(await tables()).toEqual([]); // nothing was loaded: the load only ever starts from a returned, checked file
  });

  test('the wrong identity fails at once, naming the fingerprints', async () => {
    writeFileSync(join(storeDir, 'backup_x.sql.gz.age'), cipher);
    const err = await downloadBackup([{ storage, key: 'backup_x.sql.gz.age' }, { storage, key: 'backup_x.sql.gz.age' }], sha(cipher), 'backup_x.sql.gz.age', await decryptWith([other])).then(() => new Error("expected a failure"), (e: unknown) => e as Error);
    expect(err.message).toMatch(new RegExp(`^cannot decrypt backup_x\\.sql\\.gz\\.age: no configured age identity matches it\\. It was encrypted for recipient fingerprint\\(s\\) ${recipientFingerprint(recipient)}`));
  });
});
