/**
 * Reading a stored globals file back (sha256, gunzip, CREATE ROLE, pg_dumpall's trailer, no password hashes
 * unless asked for), on files made from real pg_dumpall output.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { runProgram } from '../../../src/core/run-program.js';
import { LocalStorage } from '../../../src/core/storage/local.js';
import { verifyGlobalsFile } from '../../../src/core/verify/globals-file.js';

const dir = mkdtempSync(join(tmpdir(), 'vglob-'));
mkdirSync(join(dir, 'demo'));
const storage = new LocalStorage('local', { type: 'local', path: dir, prefix: '' });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let n = 0;
function store(content: Buffer): { key: string; sha256: string } {
  const key = `demo/backup_2026-01-06_03-00-0${n++}_globals.sql.gz`;
  writeFileSync(join(dir, key), content);
  return { key, sha256: sha(content) };
}
let real: string;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  const r = await runProgram('pg_dumpall', ['--host', '127.0.0.1', '--username', 'postgres', '--database', 'postgres', '--globals-only', '--no-role-passwords']);
  expect(r.code).toBe(0);
  real = r.stdout;
});

/** Real output with 320 KB of comment lines after the roles: more than one read and gunzip chunk. */
const padded = () => real.replace('--\n-- PostgreSQL database cluster dump complete', `${'-- padding line\n'.repeat(20000)}--\n-- PostgreSQL database cluster dump complete`);

const failed = async (content: Buffer, o: { withPasswords?: boolean; sha256?: string } = {}) => {
  const f = store(content);
  const v = await verifyGlobalsFile(storage, f.key, { expectedSha256: o.sha256 ?? f.sha256, withPasswords: o.withPasswords ?? false });
  return Object.fromEntries(v.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]));
};

test('real pg_dumpall output passes every check', async () => {
  const f = store(gzipSync(Buffer.from(real)));
  const v = await verifyGlobalsFile(storage, f.key, { expectedSha256: f.sha256, withPasswords: false });
  expect(v.checks.map((c) => [c.name, c.ok])).toEqual([['sha256', true], ['decompress', true], ['roles', true], ['trailer', true], ['passwords', true]]);
  expect(v.roles).toBeGreaterThanOrEqual(1);
  // A file of many chunks (lines split across them are still seen).
  expect(await failed(gzipSync(Buffer.from(padded())))).toEqual({});
});

test('a truncated file fails decompression and the trailer', async () => {
  const gz = gzipSync(Buffer.from(padded()));
  expect(await failed(gz.subarray(0, Math.floor(gz.length * 0.7)))).toEqual({
    decompress: 'gunzip: unexpected end of file',
    trailer: 'does not end with "-- PostgreSQL database cluster dump complete": the file is truncated',
  });
});

test('a file that is not a globals dump (a database dump) fails the roles and trailer checks', async () => {
  const sql = '--\n-- PostgreSQL database dump\n--\nCREATE TABLE t (id int);\n--\n-- PostgreSQL database dump complete\n--\n';
  expect(await failed(gzipSync(Buffer.from(sql)))).toEqual({
    roles: 'no CREATE ROLE: this is not a pg_dumpall --globals-only file',
    trailer: 'does not end with "-- PostgreSQL database cluster dump complete": the file is truncated',
  });
});

test('a changed file fails sha256; a missing one fails read', async () => {
  expect(await failed(gzipSync(Buffer.from(real)), { sha256: 'a'.repeat(64) })).toMatchObject({ sha256: expect.stringMatching(/^read [0-9a-f]{12}…, recorded aaaaaaaaaaaa…$/) });
  const v = await verifyGlobalsFile(storage, 'demo/nope_globals.sql.gz', { withPasswords: false });
  expect(v.ok).toBe(false);
  expect(v.checks[0]).toMatchObject({ name: 'read', ok: false });
});

test('password hashes fail the check unless globalsWithPasswords', async () => {
  const withPw = real.replace(/^(ALTER ROLE \S+ WITH [^;]*);$/m, "$1 PASSWORD 'SCRAM-SHA-256$4096:abc$def:ghi';");
  expect(withPw).not.toBe(real);
  expect(await failed(gzipSync(Buffer.from(withPw)))).toEqual({ passwords: '1 role(s) with a password hash although globalsWithPasswords is false' });
  expect(await failed(gzipSync(Buffer.from(withPw)), { withPasswords: true })).toEqual({});
});
