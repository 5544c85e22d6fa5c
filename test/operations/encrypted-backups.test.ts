/**
 * Encrypted backups end to end (issue 20), against the real PostgreSQL, local storage, Docker engine and
 * Debian's `age`: a backup is written as backup_….sql.gz.age, read back decrypting, restored by hand with
 * `age -d | gunzip | psql` (no bot), restore-tested in a container, verified; and the faults: wrong identity,
 * no identity, a flipped byte, a truncated file.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { runBackup } from '../../src/operations/backup.js';
import { verifyBackup } from '../../src/operations/verify-backup.js';
import { runRestoreTest, type RestoreTestStep } from '../../src/operations/restore-test.js';
import { recipientFingerprint } from '../../src/core/crypto/keys.js';
import { runProgram } from '../../src/core/run-program.js';
import { createTestDatabase, withPg, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext } from '../helpers/context.js';
import { countRows, leftovers } from './restore-test-fixtures.js';

const docker = new Docker();
const TABLES = ['lotes', 'movimientos', 'users', 'productos'];
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let state: TestDatabase;
let src: TestDatabase;
let dir: string;
const keys: Array<{ file: string; identity: string; recipient: string; fp: string }> = [];

beforeAll(async () => {
  state = await createTestDatabase('bbt_age_state');
  src = await createTestDatabase('bbt_age_src');
  await fillSampleDatabase(src.url);
  dir = mkdtempSync(join(tmpdir(), 'bbt-age-'));
  for (let i = 0; i < 3; i++) {
    const file = join(dir, `key${i}.txt`);
    expect((await runProgram('age-keygen', ['-o', file])).code).toBe(0);
    const recipient = (await runProgram('age-keygen', ['-y', file])).stdout.trim();
    keys.push({ file, recipient, fp: recipientFingerprint(recipient), identity: readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))! });
  }
});
afterAll(async () => {
  await src?.drop();
  await state?.drop();
  rmSync(dir, { recursive: true, force: true });
});

function config(encryption: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) {
  return testConfig({
    stateUrl: state.url, demoUrl: src.url, storageDir: join(dir, 'store'),
    client: { verify: { minTables: 10, tables: TABLES }, restoreTest: { timeout: '3m', memoryMb: 512, cpus: 1 }, ...(encryption ? { encryption } : {}), ...extra },
  });
}

async function withCtx<T>(cfg: ReturnType<typeof config>, fn: (ctx: Awaited<ReturnType<typeof testContext>>) => Promise<T>): Promise<T> {
  const ctx = await testContext(cfg);
  try { return await fn(ctx); } finally { await ctx.close(); }
}

/** `age -d -i key | gunzip | psql url`: three processes joined by pipes, as a person would type it (no shell here). */
function manualRestore(file: string, key: string, url: string): Promise<{ codes: Array<number | null>; stderr: string }> {
  return new Promise((resolve) => {
    const age = spawn('age', ['-d', '-i', key, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const gunzip = spawn('gunzip', [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const psql = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', url], { stdio: ['pipe', 'ignore', 'pipe'] });
    age.stdout.pipe(gunzip.stdin);
    gunzip.stdout.pipe(psql.stdin);
    let stderr = '';
    for (const p of [age, gunzip, psql]) p.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    const codes: Array<number | null> = [];
    let n = 0;
    for (const [i, p] of [age, gunzip, psql].entries()) p.on('close', (code) => { codes[i] = code; if (++n === 3) resolve({ codes, stderr }); });
  });
}

describe('encrypted backups (age)', () => {
  let file: string;
  let path: string;

  it('backup: dump → gzip → age, stored as backup_….sql.gz.age (files archive .tar.gz.age); manifest has both sha256 and the recipients\' fingerprints; read back decrypting', async () => {
    const files = join(dir, 'appfiles');
    rmSync(files, { recursive: true, force: true });
    mkdirSync(files, { recursive: true });
    writeFileSync(join(files, 'index.html'), '<h1>conitrack</h1>');
    const enc = { recipients: [keys[0]!.recipient, keys[1]!.recipient], identity: { file: keys[0]!.file } };
    const out = await withCtx(config(enc, { files: [files] }), (ctx) => runBackup(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false }));
    expect(out.error).toBeUndefined();
    expect(out.ok).toBe(true);
    const b = out.backup!;
    file = b.file!;
    expect(file).toMatch(/^backup_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.sql\.gz\.age$/);
    path = join(dir, 'store', 'demo', file);
    const stored = readFileSync(path);
    expect(stored.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    const m = b.manifest as Record<string, any>;
    expect(m.sha256).toBe(sha(stored)); // the ciphertext
    expect(b.sha256).toBe(sha(stored));
    expect(m.sizeBytes).toBe(stored.length);
    expect(m.encryption).toEqual({ scheme: 'age', recipients: [{ fingerprint: keys[0]!.fp, recipient: keys[0]!.recipient }, { fingerprint: keys[1]!.fp, recipient: keys[1]!.recipient }], plaintextSha256: expect.stringMatching(/^[0-9a-f]{64}$/), plaintextSizeBytes: expect.any(Number) });
    // the plaintext recorded is the gzip stream: age -d gives exactly it
    const dec = await runProgram('age', ['-d', '-i', keys[1]!.file, '-o', join(dir, 'plain.sql.gz'), path]);
    expect(dec.code).toBe(0);
    const plain = readFileSync(join(dir, 'plain.sql.gz'));
    expect(sha(plain)).toBe(m.encryption.plaintextSha256);
    expect(plain.length).toBe(m.encryption.plaintextSizeBytes);
    expect(plain.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    // files archive, encrypted too
    expect(m.files).toHaveLength(1);
    expect(m.files[0].key).toMatch(/_files_1-.*\.tar\.gz\.age$/);
    expect(m.files[0].plaintextSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(readdirSync(join(dir, 'store', 'demo')).sort()).toEqual([file, `${file}.manifest.json`, m.files[0].key.split('/')[1]].sort());
    // the read-back decrypted everything
    const checks = (out.run.details as { checks: Array<{ name: string; ok: boolean; detail: string }> }).checks;
    // The stored bytes' sha256 is checked as they are read, so the plaintext is not hashed a second time (authenticated encryption).
    expect(checks.find((c) => c.name === 'sha256')).toMatchObject({ ok: true, detail: expect.stringMatching(/^matches /) });
    expect(checks.find((c) => c.name === 'decrypt')).toMatchObject({ ok: true, detail: expect.stringMatching(/^age: every chunk authenticated \(\d+ bytes of plaintext, the one recorded when the stored bytes' sha256 matches\)/) });
    expect(checks.find((c) => c.name === 'tables')!.detail).toMatch(/^16 CREATE TABLE/);
    expect(checks.find((c) => /files .* decrypt/.test(c.name))?.ok).toBe(true);
    expect(b.verified).toBe(true);
  });

  it('readable without the bot: age -d -i key.txt backup_….sql.gz.age | gunzip | psql restores it', async () => {
    const target = await createTestDatabase('bbt_age_manual');
    try {
      const r = await manualRestore(path, keys[1]!.file, target.url); // key1: the second recipient (an "offline recovery key")
      expect(r.stderr).toBe('');
      expect(r.codes).toEqual([0, 0, 0]);
      expect(await countRows(target.url, TABLES)).toEqual(await countRows(src.url, TABLES));
      const tables = (url: string) => withPg(url, async (c) => (await c.query("SELECT string_agg(table_name, ',' ORDER BY table_name) AS t FROM information_schema.tables WHERE table_schema = 'public'")).rows[0].t as string);
      expect(await tables(target.url)).toBe(await tables(src.url));
      // the wrong key: age refuses, psql gets nothing
      const wrong = await manualRestore(path, keys[2]!.file, target.url);
      expect(wrong.codes[0]).not.toBe(0);
      expect(wrong.stderr).toMatch(/no identity matched any of the recipients/);
    } finally {
      await target.drop();
    }
  });

  it('verify: decrypts with the identity; the wrong identity is named by fingerprints; without identity it is refused', async () => {
    const ok = await withCtx(config({ recipients: [keys[0]!.recipient], identity: [keys[2]!.identity, { file: keys[0]!.file }] }), (ctx) => verifyBackup(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false }));
    expect(ok.error).toBeUndefined();
    expect(ok.checks.map((c) => c.name)).toEqual(['sha256', 'decrypt', 'decompress', 'tables', 'trailer', expect.stringMatching(/^files .* sha256$/), expect.stringMatching(/^files .* decrypt$/), expect.stringMatching(/^files .* decompress$/)]);

    const wrong = await withCtx(config({ recipients: [keys[2]!.recipient], identity: keys[2]!.identity }), (ctx) => verifyBackup(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false }));
    expect(wrong.ok).toBe(false);
    const d = wrong.checks.find((c) => c.name === 'decrypt')!;
    expect(d.ok).toBe(false);
    expect(d.detail).toBe(`cannot decrypt ${`demo/${file}`}: no configured age identity matches it. It was encrypted for recipient fingerprint(s) ${keys[0]!.fp}, ${keys[1]!.fp}; the configured identities are ${keys[2]!.fp} (clients.demo.encryption.identity). Add the identity of one of those recipients (after a key rotation, keep the old identity in the list)`);
    expect(wrong.checks.find((c) => c.name === 'sha256')!.ok).toBe(true); // the file itself is fine

    const none = await withCtx(config({ recipients: [keys[0]!.recipient] }), (ctx) => verifyBackup(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false }));
    expect(none.ok).toBe(false);
    expect(none.error).toMatch(/is encrypted \(age\) for recipient fingerprint\(s\) .*clients\.demo\.encryption\.identity is not set on this host/);
  });

  it('restore test: decrypts in the stream into a real container; verifies counts; nothing left behind', async () => {
    const steps: RestoreTestStep[] = [];
    const out = await withCtx(config({ recipients: [keys[0]!.recipient], identity: { file: keys[0]!.file } }), (ctx) => runRestoreTest(ctx, { client: 'demo', backupKey: file, actor: 'U0OPER', trigger: 'cli', notify: false, onProgress: (s) => steps.push(s) }));
    expect(out.error).toBeUndefined();
    expect(steps).toEqual(['provisioning', 'downloading', 'restoring', 'verifying', 'destroying', 'done']);
    expect(out.checks.filter((c) => c.name.startsWith('rows ')).every((c) => c.ok)).toBe(true);
    expect(await leftovers(docker, out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });
  });

  it('restore test without an identity, or with the wrong one: refused before any container is provisioned', async () => {
    for (const [enc, why] of [
      [{ recipients: [keys[0]!.recipient] }, /is encrypted \(age\) for recipient fingerprint\(s\) .* clients\.demo\.encryption\.identity is not set on this host/],
      [{ recipients: [keys[0]!.recipient], identity: { file: join(dir, 'missing.key') } }, /clients\.demo\.encryption\.identity\.file: cannot read the age identity file .*missing\.key \(ENOENT\)/],
      [{ recipients: [keys[2]!.recipient], identity: keys[2]!.identity }, new RegExp(`no configured age identity matches it\\. It was encrypted for recipient fingerprint\\(s\\) ${keys[0]!.fp}, ${keys[1]!.fp}`)],
    ] as const) {
      const steps: RestoreTestStep[] = [];
      const out = await withCtx(config(enc), (ctx) => runRestoreTest(ctx, { client: 'demo', backupKey: file, actor: 'U0OPER', trigger: 'cli', notify: false, onProgress: (s) => steps.push(s) }));
      expect(out.ok).toBe(false);
      expect(out.failedStep).toBe('provisioning');
      expect(out.error).toMatch(why);
      expect(steps).toEqual(['provisioning', 'failed']); // no container: nothing to destroy
      expect(out.timings.provisionMs).toBeUndefined();
      expect(await leftovers(docker, out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });
    }
  });

  it('a flipped byte or a truncated file: verify fails (sha256 and decryption), and the restore test stops before restoring', async () => {
    const good = readFileSync(path);
    const enc = { recipients: [keys[0]!.recipient], identity: { file: keys[0]!.file } };
    try {
      const bad = Buffer.from(good);
      bad[bad.length - 1000]! ^= 0x04;
      writeFileSync(path, bad);
      const v = await withCtx(config(enc), (ctx) => verifyBackup(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false }));
      expect(v.ok).toBe(false);
      expect(v.checks.find((c) => c.name === 'sha256')!.ok).toBe(false);
      // (the sample dump is one age chunk: its only chunk is the last one)
      expect(v.checks.find((c) => c.name === 'decrypt')!.detail).toMatch(/(is damaged or was altered: age chunk \d+ \(bytes \d+–\d+\)|is truncated or damaged: its last age chunk \(from byte \d+\)) does not authenticate/);

      const steps: RestoreTestStep[] = [];
      const rt = await withCtx(config(enc), (ctx) => runRestoreTest(ctx, { client: 'demo', backupKey: file, actor: 'U0OPER', trigger: 'cli', notify: false, onProgress: (s) => steps.push(s) }));
      expect(rt.failedStep).toBe('downloading');
      expect(rt.error).toMatch(/sha256 mismatch: backup .*\.sql\.gz\.age is corrupted/);
      expect(steps).not.toContain('restoring');
      expect(await leftovers(docker, rt.run.id, state.url)).toEqual({ containers: 0, networks: 0 });

      writeFileSync(path, good);
      truncateSync(path, good.length - 10);
      const t = await withCtx(config(enc), (ctx) => verifyBackup(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false }));
      expect(t.ok).toBe(false);
      expect(t.checks.find((c) => c.name === 'decrypt')!.detail).toMatch(/is truncated or damaged: its last age chunk/);
    } finally {
      writeFileSync(path, good);
    }
    expect(existsSync(path)).toBe(true);
  });

  it('a backup host without the identity still writes and checks the stored bytes (decryption not checked, said so)', async () => {
    const files = join(dir, 'appfiles');
    const out = await withCtx(config({ recipients: [keys[1]!.recipient] }, { files: [files] }), (ctx) => runBackup(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false }));
    expect(out.error).toBeUndefined();
    expect(out.ok).toBe(true);
    const checks = (out.run.details as { checks: Array<{ name: string; ok: boolean; detail: string }> }).checks;
    expect(checks.find((c) => c.name === 'decrypt')!.detail).toMatch(/^not decrypted: no age identity on this host \(clients\.demo\.encryption\.identity\)/);
    expect(checks.find((c) => c.name === 'tables')!.detail).toMatch(/^16 CREATE TABLE while streaming/);
    expect(out.backup!.observations).toMatch(/not decrypted on read-back/);
    expect(checks.filter((c) => c.name.startsWith('files ')).map((c) => [c.name.replace(/^files \S+ /, ''), c.ok])).toEqual([['sha256', true], ['decrypt', true]]);
  });

  it('custom format (pg_dump -Fc): backup_….dump.age, read back through pg_restore decrypting, restore-tested (pg_restore -j from the decrypted archive)', async () => {
    const enc = { recipients: [keys[0]!.recipient], identity: { file: keys[0]!.file } };
    const cfg = config(enc, { database: { engine: 'postgres', url: src.url, format: 'custom' } });
    const out = await withCtx(cfg, (ctx) => runBackup(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false }));
    expect(out.error).toBeUndefined();
    expect(out.backup!.file).toMatch(/\.dump\.age$/);
    const checks = (out.run.details as { checks: Array<{ name: string; ok: boolean; detail: string }> }).checks;
    expect(checks.find((c) => c.name === 'decompress')!.detail).toMatch(/^pg_restore read the whole file/);
    expect(checks.find((c) => c.name === 'tables')!.detail).toMatch(/^16 CREATE TABLE/);
    const m = out.backup!.manifest as { encryption: { plaintextSizeBytes: number } };
    const rt = await withCtx(cfg, (ctx) => runRestoreTest(ctx, { client: 'demo', backupKey: out.backup!.file!, actor: 'U0OPER', trigger: 'cli', notify: false }));
    expect(rt.error).toBeUndefined();
    expect(rt.checks.filter((c) => c.name.startsWith('rows ')).map((c) => c.ok)).toEqual([true, true, true, true]);
    expect(m.encryption.plaintextSizeBytes).toBeGreaterThan(0);
  });
});
