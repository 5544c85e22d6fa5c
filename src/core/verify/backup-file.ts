import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { releaseChunk, gunzipStream } from '../zlib-chunk.js';
import { Writable } from 'node:stream';
import type { Storage } from '../storage/storage.js';
import { DumpScanner, TRAILERS, type DumpEngine } from '../dump/scan.js';
import { errorMessage } from '../errors.js';
import { redactSecrets } from '../redact.js';
import { HashingStream } from '../hashing-stream.js';
import { decryptingStream, type Decryption } from '../crypto/keys.js';

export interface Check { name: string; ok: boolean; detail: string }

export interface VerifyFileResult {
  ok: boolean;
  checks: Check[];
  /** sha256 of the stored bytes (as read back). */
  sha256?: string;
  sizeBytes: number;
  /** CREATE TABLE statements found. */
  tables?: number;
}

export interface VerifyFileOptions {
  engine: DumpEngine;
  format: 'plain' | 'custom';
  expectedSha256?: string | null;
  minTables: number;
  pgRestoreProgram?: string;
  /** An encrypted backup (`decryptionFor`): decrypted in the stream; the plaintext sha256 is checked too. */
  decrypt?: Decryption;
  /** For messages (which config key holds the identities). */
  client?: string;
  /**
   * Encrypted, and no identity on this host (`decrypt` unset): only the stored bytes are checked (sha256);
   * tables and trailer are those the dump pipeline scanned in the plaintext it encrypted (`streamed`).
   */
  encryptedWithoutIdentity?: { streamed: { tables?: number; trailer?: boolean } };
}

/**
 * For an encrypted object: `decrypt → [sha256 of the plaintext] → sink`; returns the stream to write the stored
 * bytes into and the check to add once done. Without `d`: the sink itself.
 *
 * With `recordedCiphertext` (the stored bytes' recorded sha256, which the caller checks as they are read) the
 * plaintext is not hashed again: age is authenticated encryption, so bytes equal to the recorded ciphertext
 * that decrypt chunk by chunk are exactly the plaintext whose sha256 the dump recorded, and a ciphertext that
 * differs fails the sha256 check anyway. That saves a second sha256 over the whole backup on the read-back.
 */
export function decryptInto(sink: Writable, key: string, d: Decryption | undefined, client: string | undefined, onError: () => void, recordedCiphertext?: string | null): { input: Writable; check: () => Check | undefined; failed: () => boolean } {
  if (!d) return { input: sink, check: () => undefined, failed: () => false };
  const dec = decryptingStream(d, key, client);
  const plain = recordedCiphertext ? undefined : new HashingStream();
  let plainBytes = 0;
  let error: string | undefined;
  dec.on('error', (err) => {
    error = err.message;
    plain?.destroy();
    sink.destroy();
    onError();
  });
  if (plain) dec.pipe(plain).pipe(sink);
  else {
    dec.on('data', (c: Buffer) => { plainBytes += c.length; });
    dec.pipe(sink);
  }
  return {
    input: dec,
    failed: () => error !== undefined,
    check: () => {
      if (error) return { name: 'decrypt', ok: false, detail: redactSecrets(error) };
      if (!plain) return { name: 'decrypt', ok: true, detail: `age: every chunk authenticated (${plainBytes} bytes of plaintext, the one recorded when the stored bytes' sha256 matches)` };
      const sha = plain.digest();
      if (d.plaintextSha256 && sha !== d.plaintextSha256) {
        return { name: 'decrypt', ok: false, detail: `decrypted, but the plaintext sha256 ${sha.slice(0, 12)}… differs from the recorded ${d.plaintextSha256.slice(0, 12)}…` };
      }
      return { name: 'decrypt', ok: true, detail: `age: every chunk authenticated (${plain.bytes} bytes of plaintext${d.plaintextSha256 ? `, sha256 matches ${sha.slice(0, 12)}…` : ''})` };
    },
  };
}

/** Writes a chunk honouring backpressure; resolves early if the stream failed. */
async function writeTo(w: Writable, chunk: Buffer, failed: () => boolean): Promise<void> {
  if (failed()) return;
  if (!w.write(chunk)) {
    await new Promise<void>((resolve) => {
      const done = () => { w.off('drain', done); w.off('close', done); w.off('error', done); resolve(); };
      w.on('drain', done);
      w.on('close', done);
      w.on('error', done);
    });
  }
}

/** Pumps a stored object into `sink` (with backpressure), hashing and counting what was read. */
export async function pumpHashed(src: NodeJS.ReadableStream, sink: Writable, failed: () => boolean): Promise<{ sha256: string; size: number; readError?: string }> {
  const hash = createHash('sha256');
  let size = 0;
  let readError: string | undefined;
  try {
    for await (const chunk of src as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      await writeTo(sink, chunk, failed);
    }
  } catch (err) {
    readError = errorMessage(err);
  }
  sink.end();
  return { sha256: hash.digest('hex'), size, readError };
}

/**
 * Reads a stored backup back, end to end (SOP-001 8.1/8.2):
 * - `sha256`: the bytes read equal the recorded sha256;
 * - `decompress`: plain → the whole gzip stream decompresses (gzip -t); custom → `pg_restore -f -` reads
 *   the whole archive from stdin and writes its SQL (every data block decompressed, not just the TOC that
 *   `pg_restore -l` reads);
 * - `tables`: lines starting with CREATE TABLE in the SQL >= verify.minTables;
 * - `trailer`: the SQL ends with the dump's "complete" trailer.
 */
export async function verifyBackupFile(storage: Storage, key: string, o: VerifyFileOptions): Promise<VerifyFileResult> {
  let src;
  try {
    src = await storage.get(key);
  } catch (err) {
    return { ok: false, sizeBytes: 0, checks: [{ name: 'read', ok: false, detail: redactSecrets(`cannot read ${key} from destination "${storage.name}" (${storage.description}): ${errorMessage(err)}`) }] };
  }
  if (o.encryptedWithoutIdentity && !o.decrypt) return verifyCiphertextOnly(src, storage, key, o, o.encryptedWithoutIdentity.streamed);
  const scanner = new DumpScanner(o.engine);
  let decodeError: string | undefined;
  let sink: Writable;
  let finished: Promise<void>;

  if (o.format === 'plain') {
    const gunzip = gunzipStream();
    // The scanner copies what it keeps (the undecided bytes and the tail), so each chunk is released after it.
    gunzip.on('data', (c: Buffer) => { scanner.push(c); releaseChunk(c); });
    finished = new Promise((resolve) => {
      gunzip.on('end', () => resolve());
      gunzip.on('close', () => resolve());
      gunzip.on('error', (err) => { decodeError = `gunzip: ${err.message}`; resolve(); });
    });
    sink = gunzip;
  } else {
    const program = o.pgRestoreProgram ?? 'pg_restore';
    const child = spawn(program, ['--file=-'], { stdio: ['pipe', 'pipe', 'pipe'], shell: false });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-8000); });
    child.stdout.on('data', (c: Buffer) => scanner.push(c));
    child.stdin.on('error', () => {});
    finished = new Promise((resolve) => {
      child.on('error', (err) => { decodeError = `${program} could not be started: ${(err as NodeJS.ErrnoException).code ?? err.message}`; });
      child.on('close', (code, signal) => {
        if (!decodeError && (code !== 0 || signal)) decodeError = `${program} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}: ${stderr.trim().split('\n').slice(-2).join(' / ')}`;
        resolve();
      });
    });
    sink = child.stdin;
  }

  const dec = decryptInto(sink, key, o.decrypt, o.client, () => {}, o.expectedSha256);
  const { sha256, size, readError } = await pumpHashed(src, dec.input, () => decodeError !== undefined || dec.failed());
  await finished;
  const scan = scanner.finish();
  const decrypted = dec.check();
  // A decryption failure cuts the plaintext short: the decompression error it causes is its symptom.
  if (decrypted && !decrypted.ok) decodeError = `not decompressed: ${decrypted.detail}`;

  const checks: Check[] = [];
  if (readError) checks.push({ name: 'read', ok: false, detail: redactSecrets(`reading ${key} from destination "${storage.name}" failed after ${size} bytes: ${readError}`) });
  checks.push(o.expectedSha256
    ? { name: 'sha256', ok: !readError && sha256 === o.expectedSha256, detail: sha256 === o.expectedSha256 ? `matches ${sha256.slice(0, 12)}…` : `read ${sha256.slice(0, 12)}…, recorded ${o.expectedSha256.slice(0, 12)}…` }
    : { name: 'sha256', ok: !readError, detail: `${sha256.slice(0, 12)}… (no recorded value to compare)` });
  if (decrypted) checks.push(decrypted);
  checks.push({
    name: 'decompress',
    ok: !decodeError && !readError,
    detail: decodeError ? redactSecrets(decodeError) : `${o.format === 'plain' ? 'gunzip' : 'pg_restore'} read the whole file (${scan.bytes} bytes of SQL)`,
  });
  checks.push({ name: 'tables', ok: scan.tables >= o.minTables, detail: `${scan.tables} CREATE TABLE (minimum ${o.minTables})` });
  checks.push({ name: 'trailer', ok: scan.trailer, detail: scan.trailer ? `ends with "${TRAILERS[o.engine]}"` : `does not end with "${TRAILERS[o.engine]}": the dump is truncated` });
  return { ok: checks.every((c) => c.ok), checks, sha256, sizeBytes: size, tables: scan.tables };
}

/** An encrypted backup read back on a host without its identity: the stored bytes, and what the dump scanned. */
async function verifyCiphertextOnly(src: NodeJS.ReadableStream, storage: Storage, key: string, o: VerifyFileOptions, streamed: { tables?: number; trailer?: boolean }): Promise<VerifyFileResult> {
  const { sha256, size, readError } = await pumpHashed(src, new Writable({ write(_c, _e, cb) { cb(); } }), () => false);
  const checks: Check[] = [];
  if (readError) checks.push({ name: 'read', ok: false, detail: redactSecrets(`reading ${key} from destination "${storage.name}" failed after ${size} bytes: ${readError}`) });
  checks.push(o.expectedSha256
    ? { name: 'sha256', ok: !readError && sha256 === o.expectedSha256, detail: sha256 === o.expectedSha256 ? `matches ${sha256.slice(0, 12)}…` : `read ${sha256.slice(0, 12)}…, recorded ${o.expectedSha256.slice(0, 12)}…` }
    : { name: 'sha256', ok: false, detail: `${sha256.slice(0, 12)}… and no recorded value to compare: an encrypted backup cannot be checked without its identity` });
  checks.push({ name: 'decrypt', ok: true, detail: `not decrypted: no age identity on this host${o.client ? ` (clients.${o.client}.encryption.identity)` : ''}; the stored bytes are the ones written, whose plaintext was checked while streaming` });
  if (streamed.tables !== undefined) checks.push({ name: 'tables', ok: streamed.tables >= o.minTables, detail: `${streamed.tables} CREATE TABLE while streaming (minimum ${o.minTables})` });
  else checks.push({ name: 'tables', ok: true, detail: 'not counted: a custom-format archive is counted by pg_restore on read-back, which needs the identity' });
  if (streamed.trailer !== undefined) checks.push({ name: 'trailer', ok: streamed.trailer, detail: streamed.trailer ? `ended with "${TRAILERS[o.engine]}" while streaming` : 'the dump was truncated' });
  return { ok: checks.every((c) => c.ok), checks, sha256, sizeBytes: size, tables: streamed.tables };
}

/**
 * A files archive (`.tar.gz`, or `.tar.gz.age` with `decrypt`): sha256 and full decompression. Encrypted
 * without an identity on this host (`decrypt` without `decryption`): the stored bytes' sha256 only.
 */
export async function verifyArchiveFile(storage: Storage, key: string, expectedSha256?: string | null, decrypt?: { decryption?: Decryption; client?: string }): Promise<VerifyFileResult> {
  let src;
  try {
    src = await storage.get(key);
  } catch (err) {
    return { ok: false, sizeBytes: 0, checks: [{ name: 'read', ok: false, detail: redactSecrets(`cannot read ${key} from destination "${storage.name}": ${errorMessage(err)}`) }] };
  }
  if (decrypt && !decrypt.decryption) {
    // Encrypted, no identity on this host: the stored bytes only.
    const { sha256, size, readError } = await pumpHashed(src, new Writable({ write(_c, _e, cb) { cb(); } }), () => false);
    const checks: Check[] = [
      { name: 'sha256', ok: !readError && Boolean(expectedSha256) && sha256 === expectedSha256, detail: readError ? redactSecrets(readError) : sha256 === expectedSha256 ? `matches ${sha256.slice(0, 12)}…` : `read ${sha256.slice(0, 12)}…, recorded ${expectedSha256?.slice(0, 12) ?? 'nothing'}…` },
      { name: 'decrypt', ok: true, detail: `not decrypted: no age identity on this host${decrypt.client ? ` (clients.${decrypt.client}.encryption.identity)` : ''}` },
    ];
    return { ok: checks.every((c) => c.ok), checks, sha256, sizeBytes: size };
  }
  const gunzip = gunzipStream();
  let decodeError: string | undefined;
  gunzip.resume();
  const finished = new Promise<void>((resolve) => {
    gunzip.on('end', () => resolve());
    gunzip.on('close', () => resolve());
    gunzip.on('error', (err) => { decodeError = err.message; resolve(); });
  });
  const dec = decryptInto(gunzip, key, decrypt?.decryption, decrypt?.client, () => {}, expectedSha256);
  const { sha256, size, readError } = await pumpHashed(src, dec.input, () => decodeError !== undefined || dec.failed());
  await finished;
  const decrypted = dec.check();
  if (decrypted && !decrypted.ok) decodeError = `not decompressed: ${decrypted.detail}`;
  const checks: Check[] = [
    { name: 'sha256', ok: !readError && (!expectedSha256 || sha256 === expectedSha256), detail: readError ? redactSecrets(readError) : !expectedSha256 || sha256 === expectedSha256 ? `matches ${sha256.slice(0, 12)}…` : `read ${sha256.slice(0, 12)}…, recorded ${expectedSha256.slice(0, 12)}…` },
    ...(decrypted ? [decrypted] : []),
    { name: 'decompress', ok: !decodeError && !readError, detail: decodeError ? `gunzip: ${decodeError}` : 'gunzip read the whole file' },
  ];
  return { ok: checks.every((c) => c.ok), checks, sha256, sizeBytes: size };
}
