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
