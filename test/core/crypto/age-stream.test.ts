/** @needs slow */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buffer } from 'node:stream/consumers';
import { Decrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import { AGE_CHUNK, AgeDecryptError, AgeDecryptStream, AgeEncryptStream, checkAgeHeader } from '../../../src/core/crypto/age-stream.js';
import { runProgram } from '../../../src/core/run-program.js';
import { isAgeIdentity, isAgeRecipient } from '../../../src/config/age-keys.js';

let dir: string;
const keys: Array<{ identity: string; recipient: string; file: string }> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'age-stream-'));
  for (let i = 0; i < 3; i++) {
    // Real keys from Debian's age-keygen (installed by scripts/setup-test-env.sh).
    const file = join(dir, `key${i}.txt`);
    const r = await runProgram('age-keygen', ['-o', file]);
    expect(r.code).toBe(0);
    const identity = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
    const recipient = (await runProgram('age-keygen', ['-y', file])).stdout.trim();
    keys.push({ identity, recipient, file });
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function encrypt(plain: Buffer, recipients: string[]): Promise<Buffer> {
  return buffer(Readable.from([plain]).pipe(await AgeEncryptStream.create(recipients)));
}

async function decrypt(cipher: Buffer, identities: string[], pieces = 1): Promise<Buffer> {
  // Fed in `pieces` slices, so that header, nonce and chunk boundaries fall inside writes.
  const step = Math.ceil(cipher.length / pieces) || 1;
  const slices: Buffer[] = [];
  for (let i = 0; i < cipher.length; i += step) slices.push(cipher.subarray(i, i + step));
  return buffer(Readable.from(slices).pipe(new AgeDecryptStream({ identities, what: 'test.age' })));
}

async function decryptError(cipher: Buffer, identities: string[]): Promise<{ err: AgeDecryptError; plaintextBefore: number }> {
  let got = 0;
  const sink = new Writable({ write(c: Buffer, _e, cb) { got += c.length; cb(); } });
  // 16 KiB reads, as from a socket or a file
  const slices: Buffer[] = [];
  for (let i = 0; i < cipher.length; i += 16384) slices.push(cipher.subarray(i, i + 16384));
  const err = await pipeline(Readable.from(slices), new AgeDecryptStream({ identities, what: 'backup_x.sql.gz.age', noIdentityMessage: 'no key (fingerprints …)' }), sink).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AgeDecryptError);
  return { err: err as AgeDecryptError, plaintextBefore: got };
}

function ageCli(args: string[], input: Buffer): Promise<Buffer> {
  const out = join(dir, `out-${randomBytes(4).toString('hex')}`);
  const inp = join(dir, `in-${randomBytes(4).toString('hex')}`);
  writeFileSync(inp, input);
  return runProgram('age', [...args, '-o', out, inp]).then((r) => {
    if (r.code !== 0) throw new Error(`age ${args.join(' ')}: ${r.stderr}`);
    return existsSync(out) ? readFileSync(out) : Buffer.alloc(0); // age creates no output file for empty output
  });
}

const SIZES = [0, 1, 1000, AGE_CHUNK - 1, AGE_CHUNK, AGE_CHUNK + 1, 3 * AGE_CHUNK, 3 * AGE_CHUNK + 17];

describe('age file format', () => {
  test('any chunking of the input (whole chunks sealed straight from a write, or assembled)', async () => {
    const plain = randomBytes(5 * AGE_CHUNK + 3);
    const enc = await AgeEncryptStream.create([keys[0]!.recipient]);
    const pieces = [plain.subarray(0, 10), plain.subarray(10, 3 * AGE_CHUNK + 20), plain.subarray(3 * AGE_CHUNK + 20)];
    const cipher = await buffer(Readable.from(pieces).pipe(enc));
    expect((await decrypt(cipher, [keys[0]!.identity], 1)).equals(plain)).toBe(true);
    expect((await ageCli(['-d', '-i', keys[0]!.file], cipher)).equals(plain)).toBe(true);
  });

  test.each(SIZES)('%i bytes: round trip, decrypted by the age CLI and by age-encryption, for every recipient', async (n) => {
    const plain = randomBytes(n);
    const cipher = await encrypt(plain, keys.slice(0, 2).map((k) => k.recipient));
    expect(cipher.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect(cipher.toString('latin1').match(/^-> X25519 /gm)).toHaveLength(2); // one stanza per recipient, no other
    for (const k of keys.slice(0, 2)) {
      expect((await decrypt(cipher, [k.identity], 7)).equals(plain)).toBe(true); // chunk boundaries inside writes
      expect((await decrypt(cipher, [k.identity], 1)).equals(plain)).toBe(true); // whole chunks straight from one write
      expect((await ageCli(['-d', '-i', k.file], cipher)).equals(plain)).toBe(true);
    }
    const d = new Decrypter();
    d.addIdentity(keys[1]!.identity);
    expect(Buffer.from(await d.decrypt(new Uint8Array(cipher))).equals(plain)).toBe(true);
  });

  test.each([0, AGE_CHUNK, 2 * AGE_CHUNK + 5])('%i bytes encrypted by the age CLI decrypt here', async (n) => {
    const plain = randomBytes(n);
    const cipher = await ageCli(['-e', '-r', keys[0]!.recipient], plain);
    expect((await decrypt(cipher, [keys[2]!.identity, keys[0]!.identity], 5)).equals(plain)).toBe(true);
  });

  test('a file no configured identity opens: AgeDecryptError "no-identity" with the caller\'s message, no plaintext', async () => {
    const cipher = await encrypt(randomBytes(200_000), [keys[0]!.recipient, keys[1]!.recipient]);
    const { err, plaintextBefore } = await decryptError(cipher, [keys[2]!.identity]);
    expect(err.kind).toBe('no-identity');
    expect(err.message).toBe('no key (fingerprints …)');
    expect(plaintextBefore).toBe(0);
    // the header-only check says the same, reading no further than the header
    let read = 0;
    const src = Readable.from((function* () { for (let i = 0; i < cipher.length; i += 1000) { read += 1000; yield cipher.subarray(i, i + 1000); } })());
    await expect(checkAgeHeader(src, { identities: [keys[2]!.identity], what: 'x', noIdentityMessage: 'nope' })).rejects.toThrow('nope');
    expect(read).toBeLessThanOrEqual(3000); // the header and a read-ahead, of 200 KB
    await expect(checkAgeHeader(Readable.from([cipher]), { identities: [keys[1]!.identity], what: 'x' })).resolves.toBeUndefined();
  });

  test('one flipped byte in the payload: the chunk that holds it fails; the chunks before it were already passed on', async () => {
    const plain = randomBytes(5 * AGE_CHUNK);
    const cipher = await encrypt(plain, [keys[0]!.recipient]);
    const bad = Buffer.from(cipher);
    bad[bad.length - 2 * AGE_CHUNK]! ^= 0x01; // inside chunk 3 of 5
    const { err, plaintextBefore } = await decryptError(bad, [keys[0]!.identity]);
    expect(err.kind).toBe('damaged');
    expect(err.message).toMatch(/backup_x\.sql\.gz\.age is damaged or was altered: age chunk 3 \(bytes \d+–\d+\) does not authenticate/);
    // Why every reader checks the whole file before loading anything: a streaming consumer got 3 chunks.
    expect(plaintextBefore).toBe(3 * AGE_CHUNK);
  });

  test('one flipped byte in the header: invalid header (MAC), nothing decrypted', async () => {
    const cipher = await encrypt(randomBytes(1000), [keys[0]!.recipient]);
    const bad = Buffer.from(cipher);
    const at = bad.indexOf('\n--- ') - 3; // in the stanza body
    bad[at] = bad[at] === 0x41 ? 0x42 : 0x41;
    const { err, plaintextBefore } = await decryptError(bad, [keys[0]!.identity]);
    expect(['header', 'no-identity']).toContain(err.kind);
    expect(plaintextBefore).toBe(0);
    const mac = Buffer.from(cipher);
    const m = mac.indexOf('\n--- ') + 6;
    mac[m] = mac[m] === 0x41 ? 0x42 : 0x41;
    expect((await decryptError(mac, [keys[0]!.identity])).err.message).toMatch(/age header is invalid \(invalid header HMAC\)/);
  });

  test('truncated anywhere (inside a chunk, at a chunk boundary, inside the header) is detected', async () => {
    const plain = randomBytes(3 * AGE_CHUNK + 100);
    const cipher = await encrypt(plain, [keys[0]!.recipient]);
    const headerLen = cipher.indexOf('\n', cipher.indexOf('\n--- ') + 1) + 1;
    const payload = headerLen + 16;
    for (const cut of [cipher.length - 1, cipher.length - 50, payload + 2 * (AGE_CHUNK + 16), payload + AGE_CHUNK + 16, payload + 5, headerLen + 3, 30]) {
      const { err } = await decryptError(cipher.subarray(0, cut), [keys[0]!.identity]);
      expect(err.kind).toBe('truncated');
      expect(err.message).toMatch(/backup_x\.sql\.gz\.age is truncated/);
    }
    // bytes appended after the end are caught too
    expect((await decryptError(Buffer.concat([cipher, Buffer.from('x')]), [keys[0]!.identity])).err.kind).toMatch(/truncated|damaged/);
  });

  test('not an age file', async () => {
    const { err } = await decryptError(Buffer.from('\x1f\x8b\x08 plain gzip here, not encrypted at all'), [keys[0]!.identity]);
    expect(err.kind).toBe('not-age');
    expect(err.message).toMatch(/is not an age-encrypted file/);
  });

  test('a recipient that is not an age X25519 public key is refused before anything is written', async () => {
    await expect(AgeEncryptStream.create(['age1notakey'])).rejects.toThrow(/"age1notakey" is not an age public key/);
    await expect(AgeEncryptStream.create([keys[0]!.identity])).rejects.toThrow(/is not an age X25519 public key/);
    await expect(AgeEncryptStream.create([])).rejects.toThrow(/at least one recipient/);
  });

  test('the config\'s key checks agree with age-keygen and age-encryption', async () => {
    for (const k of keys) {
      expect(isAgeRecipient(k.recipient)).toBe(true);
      expect(isAgeIdentity(k.identity)).toBe(true);
      expect(isAgeRecipient(k.identity)).toBe(false);
      expect(isAgeIdentity(k.recipient)).toBe(false);
    }
    const id = await generateIdentity();
    expect(isAgeIdentity(id)).toBe(true);
    expect(isAgeRecipient(await identityToRecipient(id))).toBe(true);
    const r = keys[0]!.recipient;
    const swap = (s: string, i: number) => s.slice(0, i) + (s[i] === 'q' ? 'p' : 'q') + s.slice(i + 1);
    for (const i of [4, 20, 40, r.length - 1]) expect(isAgeRecipient(swap(r, i))).toBe(false); // one typo: bad checksum
    expect(isAgeRecipient(r.toUpperCase())).toBe(false); // age (and age-encryption) want "age1…" in lower case
    expect(isAgeRecipient(r.slice(0, -1))).toBe(false);
    expect(isAgeRecipient('age1' + 'q'.repeat(58))).toBe(false);
  });

  test('streams in bounded memory: 256 MiB through encryption and decryption, memory flat', async () => {
    const total = 256 * 1024 * 1024;
    const block = randomBytes(256 * 1024);
    let sent = 0;
    const hIn = createHash('sha256');
    const source = new Readable({
      read() {
        if (sent >= total) return void this.push(null);
        const c = Buffer.from(block);
        c.writeUInt32BE(sent / block.length, 0);
        sent += c.length;
        hIn.update(c);
        this.push(c);
      },
    });
    const hOut = createHash('sha256');
    let peak = 0;
    const base = process.memoryUsage();
    const sample = () => { const m = process.memoryUsage(); peak = Math.max(peak, m.arrayBuffers + m.heapUsed - base.arrayBuffers - base.heapUsed); };
    let n = 0;
    const sink = new Writable({ write(c: Buffer, _e, cb) { hOut.update(c); if (++n % 64 === 0) sample(); cb(); } });
    await pipeline(source, await AgeEncryptStream.create([keys[0]!.recipient]), new AgeDecryptStream({ identities: [keys[0]!.identity], what: 'big' }), sink);
    expect(hOut.digest('hex')).toBe(hIn.digest('hex'));
    // Holding the stream would need 256 MiB (twice, encrypted and decrypted); what is in flight is a few MiB,
    // plus what the garbage collector has not reclaimed yet (seen up to ~110 MiB in the full suite on a loaded
    // machine). A stream held whole would be 256 MiB or more, so the bound stays well under that.
    expect(peak).toBeLessThan(160 * 1024 * 1024);
  });
});
