import { Readable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.js';
import { parseDbUrl } from '../../../src/core/db-url.js';
import { loadBackupInto, runPgProgram } from '../../../src/core/restore/load-backup.js';

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
