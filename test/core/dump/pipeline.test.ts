import { mkdtempSync, writeFileSync, readdirSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.js';
import { startS3, type TestS3 } from '../../helpers/s3.js';
import { fillSampleDatabase } from '../../../src/core/demo-database.js';
import { parseDbUrl } from '../../../src/core/db-url.js';
import { spawnPgDump, pgDumpArgs } from '../../../src/core/dump/postgres.js';
import { mysqldumpArgs } from '../../../src/core/dump/mysql.js';
import { tarArgs } from '../../../src/core/dump/files.js';
import { spawnDump } from '../../../src/core/dump/process.js';
import { DumpScanner } from '../../../src/core/dump/scan.js';
import { streamToDestinations, type Destination } from '../../../src/core/dump/pipeline.js';
import { LocalStorage } from '../../../src/core/storage/local.js';
import { S3Storage } from '../../../src/core/storage/s3.js';
import { withMaintenance } from '../../../src/core/dump/maintenance.js';
import { runProgram } from '../../../src/core/run-program.js';

let src: TestDatabase;
let s3: TestS3;

beforeAll(async () => {
  src = await createTestDatabase('bbpipe');
  await fillSampleDatabase(src.url);
  s3 = await startS3(['bk']);
});
afterAll(async () => {
  await s3.close();
  await src.drop();
});

const walk = (d: string): string[] => (existsSync(d) ? readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)])) : []);
const local = (name: string, path = mkdtempSync(join(tmpdir(), 'pipe-'))) => new LocalStorage(name, { type: 'local', path, prefix: '' });
const s3Storage = () => new S3Storage('s3', { type: 's3', bucket: 'bk', prefix: 'p', endpoint: s3.endpoint, region: 'auto', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', partSizeMb: 5, queueSize: 2 });

describe('dump engines: argument arrays, password only in the environment', () => {
  test('pg_dump / mysqldump / tar arguments never contain the password and take paths literally', () => {
    const t = parseDbUrl('postgres://u:s3cret@db.example:5433/app', 'postgres');
    expect(pgDumpArgs(t, { format: 'custom', compressLevel: 9, snapshot: '00000003-1' })).toEqual(['--host', 'db.example', '--port', '5433', '--username', 'u', '--dbname', 'app', '--no-password', '--format=custom', '--compress=9', '--snapshot=00000003-1']);
    const m = parseDbUrl('mysql://root:s3cret@127.0.0.1/shop', 'mysql');
    const margs = mysqldumpArgs(m);
    expect(margs.join(' ')).not.toContain('s3cret');
    expect(margs).toEqual(expect.arrayContaining(['--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--default-character-set=utf8mb4']));
    expect(margs.slice(-2)).toEqual(['--', 'shop']);
    expect(tarArgs('/srv/$(touch x)')).toEqual(['--create', '--file=-', '--directory=/', '--warning=no-file-changed', '--', 'srv/$(touch x)']);
  });
});

describe('streamToDestinations', () => {
  test('pg_dump → gzip → sha256 → two destinations at once: identical bytes, tables and trailer seen while streaming', async () => {
    const a = local('a');
    const b = s3Storage();
    const dests: Destination[] = [{ name: 'a', storage: a, primary: true }, { name: 's3', storage: b, primary: false }];
    const r = await streamToDestinations({ source: spawnPgDump(parseDbUrl(src.url, 'postgres'), { format: 'plain' }), key: 'demo/x.sql.gz', destinations: dests, gzipLevel: 6, scanner: new DumpScanner('postgres'), requireTrailer: true });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ ok: true, tables: 16, trailer: true });
    const fileA = readFileSync(join(a.root, 'demo/x.sql.gz'));
    expect(createHash('sha256').update(fileA).digest('hex')).toBe(r.sha256);
    expect(fileA.length).toBe(r.sizeBytes);
    const chunks: Buffer[] = [];
    for await (const c of await b.get('demo/x.sql.gz')) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(fileA)).toBe(true);
    expect(await s3.storedKeys('bk', 'p/demo/x')).toEqual(['p/demo/x.sql.gz']);
    expect(gunzipSync(fileA).toString()).toContain('-- PostgreSQL database dump complete');
    expect(r.destinations.map((d) => [d.destination, d.ok])).toEqual([['a', true], ['s3', true]]);
  });

  test('a dump that ends without its trailer (exit 0) fails and every destination is aborted', async () => {
    const plain = await runProgram('pg_dump', ['--host', '127.0.0.1', '--username', 'postgres', '--dbname', src.name]);
    const dir = mkdtempSync(join(tmpdir(), 'trunc-'));
    const cutFile = join(dir, 'cut.sql');
    writeFileSync(cutFile, plain.stdout.slice(0, plain.stdout.indexOf('-- PostgreSQL database dump complete')));
    const a = local('a');
    const b = s3Storage();
    const r = await streamToDestinations({ source: spawnDump('cat', [cutFile], process.env), key: 'demo/cut.sql.gz', destinations: [{ name: 'a', storage: a, primary: true }, { name: 's3', storage: b, primary: false }], gzipLevel: 6, scanner: new DumpScanner('postgres'), requireTrailer: true });
    expect(r.ok).toBe(false);
    expect(r.failedPart).toBe('content');
    expect(r.error).toBe('the dump is truncated: it does not end with "-- PostgreSQL database dump complete"');
    expect(walk(a.root)).toEqual([]);
    expect(await s3.storedKeys('bk', 'p/demo/cut')).toEqual([]);
  });

  test('a failing dump program (non-zero exit) fails with its stderr; nothing under the final name', async () => {
    const a = local('a');
    const r = await streamToDestinations({ source: spawnPgDump(parseDbUrl('postgres://postgres@127.0.0.1:5432/no_such_db_pipe', 'postgres'), { format: 'plain' }), key: 'demo/y.sql.gz', destinations: [{ name: 'a', storage: a, primary: true }], gzipLevel: 6, scanner: new DumpScanner('postgres'), requireTrailer: true });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^pg_dump exited with code 1: .*database "no_such_db_pipe" does not exist/);
    expect(walk(a.root)).toEqual([]);
  });

  test('a failing secondary is dropped and reported; the primary completes', async () => {
    const notADir = join(mkdtempSync(join(tmpdir(), 'nd-')), 'f');
    writeFileSync(notADir, 'x');
    const a = local('a');
    const r = await streamToDestinations({ source: spawnPgDump(parseDbUrl(src.url, 'postgres'), { format: 'plain' }), key: 'demo/z.sql.gz', destinations: [{ name: 'a', storage: a, primary: true }, { name: 'usb', storage: local('usb', notADir), primary: false }], gzipLevel: 6, scanner: new DumpScanner('postgres'), requireTrailer: true });
    expect(r.ok).toBe(true);
    expect(r.destinations[1]).toMatchObject({ destination: 'usb', ok: false, error: expect.stringMatching(/^storage "usb"/) });
    expect(existsSync(join(a.root, 'demo/z.sql.gz'))).toBe(true);
  });

  test('a failing primary (missing bucket) fails the dump and kills the program', async () => {
    const bad = new S3Storage('r2', { type: 's3', bucket: 'no-such-bucket', prefix: '', endpoint: s3.endpoint, region: 'auto', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', partSizeMb: 5, queueSize: 1 });
    const r = await streamToDestinations({ source: spawnPgDump(parseDbUrl(src.url, 'postgres'), { format: 'plain' }), key: 'demo/w.sql.gz', destinations: [{ name: 'r2', storage: bad, primary: true }], gzipLevel: 6, scanner: new DumpScanner('postgres'), requireTrailer: true });
    expect(r.ok).toBe(false);
    expect(r.failedPart).toBe('storage');
    expect(r.error).toMatch(/storage "r2" \(s3:\/\/no-such-bucket\)/);
  });
});

describe('a slow secondary never blocks the primary forever', () => {
  test('a secondary that accepts connections but never answers is dropped after the stall limit; the primary is complete', async () => {
    const sockets: import('node:net').Socket[] = [];
    const hole = createServer((sock) => { sockets.push(sock); sock.on('error', () => {}); });
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', () => r()));
    const port = (hole.address() as AddressInfo).port;
    try {
      const slow = new S3Storage('slow', { type: 's3', bucket: 'bk', prefix: '', endpoint: `http://127.0.0.1:${port}`, region: 'auto', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', partSizeMb: 5, queueSize: 1 });
      const a = local('a');
      const t0 = Date.now();
      const r = await streamToDestinations({ source: spawnPgDump(parseDbUrl(src.url, 'postgres'), { format: 'plain' }), key: 'demo/s.sql.gz', destinations: [{ name: 'a', storage: a, primary: true }, { name: 'slow', storage: slow, primary: false }], gzipLevel: 6, scanner: new DumpScanner('postgres'), requireTrailer: true, secondaryStallMs: 1500 });
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(r.ok).toBe(true);
      expect(r.destinations).toEqual([
        { destination: 'a', primary: true, ok: true, key: 'demo/s.sql.gz' },
        { destination: 'slow', primary: false, ok: false, key: 'demo/s.sql.gz', error: expect.stringMatching(/^storage "slow" \(s3:\/\/bk\): (did not finish within 2s of the primary|stalled)/) },
      ]);
      expect(existsSync(join(a.root, 'demo/s.sql.gz'))).toBe(true);
    } finally {
      for (const s of sockets) s.destroy();
      hole.close();
    }
  });
});

describe('maintenance hooks', () => {
  test('off runs after a failing body, and after a failing on', async () => {
    const d = mkdtempSync(join(tmpdir(), 'mnt-'));
    const seen: string[] = [];
    await expect(withMaintenance({ on: ['touch', join(d, 'on')], off: ['touch', join(d, 'off')] }, async () => { throw new Error('dump broke'); }, (r) => { if (r.off) seen.push(`off:${r.off.ok}`); })).rejects.toThrow('dump broke');
    expect(existsSync(join(d, 'off'))).toBe(true);
    expect(seen).toEqual(['off:true']);
    let ran = false;
    await expect(withMaintenance({ on: ['false'], off: ['touch', join(d, 'off2')] }, async () => { ran = true; }, () => {})).rejects.toThrow(/maintenance on failed: false exited with code 1/);
    expect(ran).toBe(false);
    expect(existsSync(join(d, 'off2'))).toBe(true);
  });
});
