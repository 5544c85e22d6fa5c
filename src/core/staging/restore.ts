import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { gunzipStream } from '../zlib-chunk.js';
import { OperationError, errorMessage } from '../errors.js';
import { ExecInputError, execIn, messageOf, type ExecResult } from './exec.js';
import { describeContainerState, type Staging } from './container.js';
import { tarSingleFile } from './tar.js';
import { HashingStream } from '../hashing-stream.js';
import { AgeDecryptError } from '../crypto/age-stream.js';
import { decryptingStream, type DecryptSource } from '../crypto/keys.js';

export { HashingStream };

export interface Expected { sha256?: string | null; sizeBytes?: number | null }

export function checkDigest(what: string, expected: Expected, got: { sha256: string; bytes: number }): void {
  if (expected.sha256 && expected.sha256.toLowerCase() !== got.sha256) {
    const size = expected.sizeBytes != null && expected.sizeBytes !== got.bytes ? `; ${got.bytes} of ${expected.sizeBytes} bytes: truncated or altered` : '';
    throw new OperationError(`sha256 mismatch: ${what} is corrupted (manifest ${expected.sha256.slice(0, 16)}…, stored file ${got.sha256.slice(0, 16)}…${size}); it cannot be trusted`);
  }
  if (expected.sizeBytes != null && expected.sizeBytes !== got.bytes) {
    throw new OperationError(`size mismatch: ${what} has ${got.bytes} bytes, the manifest says ${expected.sizeBytes}: truncated or altered`);
  }
}

export type { DecryptSource };

/**
 * Reads a stored object once to the end and checks it against the manifest (before it is used): the sha256
 * and size of the stored bytes and, when it is encrypted, that it decrypts — every age chunk and the end of
 * the file authenticate — to the recorded plaintext sha256. Nothing is written anywhere: a restore that
 * runs after it has proof that the whole file is sound.
 */
export async function verifyDownload(open: () => Promise<Readable>, what: string, expected: Expected, signal?: AbortSignal, decrypt?: DecryptSource): Promise<{ sha256: string; bytes: number }> {
  const src = await open();
  const hash = createHash('sha256');
  let bytes = 0;
  const onAbort = () => src.destroy(signal?.reason as Error);
  signal?.addEventListener('abort', onAbort, { once: true });
  let decryptError: Error | undefined;
  let dec: Transform | undefined;
  let plain: HashingStream | undefined;
  let decrypted: Promise<void> = Promise.resolve();
  if (decrypt) {
    const d = decryptingStream(decrypt.decryption, what, decrypt.client);
    const p = new HashingStream();
    decrypted = new Promise<void>((resolve) => {
      d.on('error', (e) => { decryptError ??= e; resolve(); });
      p.on('end', () => resolve());
    });
    d.pipe(p);
    p.resume();
    dec = d;
    plain = p;
  }
  try {
    for await (const chunk of src as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      // After a decryption failure the rest is still read, so that the sha256 tells a damaged download apart.
      if (dec && !decryptError && !dec.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => { dec!.off('drain', done); dec!.off('error', done); resolve(); };
          dec!.on('drain', done);
          dec!.on('error', done);
        });
      }
    }
  } catch (err) {
    dec?.destroy();
    if (signal?.aborted) throw signal.reason as Error;
    throw new OperationError(`cannot download ${what}: ${errorMessage(err)}`);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (dec && !decryptError) dec.end();
  await decrypted;
  const got = { sha256: hash.digest('hex'), bytes };
  checkDigest(what, expected, got);
  if (decryptError) throw decryptError;
  if (plain && decrypt?.decryption.plaintextSha256 && plain.digest() !== decrypt.decryption.plaintextSha256) {
    throw new OperationError(`${what} decrypts, but its plaintext sha256 ${plain.digest().slice(0, 16)}… differs from the manifest's ${decrypt.decryption.plaintextSha256.slice(0, 16)}…: it cannot be trusted`);
  }
  return got;
}

/** Keeps the last `n` bytes that flow through (for the "dump complete" trailer check). */
class TailKeeper extends Transform {
  private tail: Buffer = Buffer.alloc(0);
  bytes = 0;
  constructor(private readonly n = 512) { super(); }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.tail = chunk.length >= this.n ? chunk.subarray(chunk.length - this.n) : Buffer.concat([this.tail, chunk]).subarray(-this.n);
    cb(null, chunk);
  }
  text(): string { return this.tail.toString('utf8'); }
}

const TRAILERS: Record<Staging['engine'], RegExp> = {
  postgres: /-- PostgreSQL database dump complete/,
  mysql: /-- Dump completed/,
};

export interface RestoreSource {
  /** Opens the stored object (again) for streaming. */
  open: () => Promise<Readable>;
  /** For messages: the key or file name. */
  what: string;
  format: 'plain' | 'custom';
  /** The stored stream (decrypted, when encrypted) is gzip. */
  gzip: boolean;
  /** sha256 and size of the stored bytes (the ciphertext, when encrypted). */
  expected: Expected;
  /** Encrypted: decrypted in the stream. Run verifyDownload (with the same) first. */
  decrypt?: DecryptSource;
}

export interface RestoreResult {
  bytes: number;
  uncompressedBytes?: number;
  sha256: string;
  /** Errors the restore tolerated (roles of production missing in staging), for the observations. */
  warnings: string[];
  stderrTail: string;
}

/** psql errors a staging restore tolerates: ownership/grants to production roles that staging lacks. */
const TOLERATED = /role "[^"]+" does not exist/;

/**
 * Streams a stored backup into the staging server, hashing it on the way (checked again at the end:
 * the object must not have changed since verifyDownload).
 *
 * - plain PostgreSQL: download → sha256 → gunzip → `docker exec -i psql` over the hijacked exec
 *   connection (works for a local and a remote Docker engine, needs no client tools or password on
 *   this machine: psql inside the container uses the unix socket).
 * - custom PostgreSQL: `pg_restore -j N` needs a regular file (it seeks), so the archive is streamed
 *   into the container as a one-file tar (putArchive, no temporary copy on this machine; 0600, owned by
 *   the container's user), then restored and removed.
 * - MySQL/MariaDB: download → sha256 → gunzip → `docker exec -i mariadb`.
 */
export async function restoreIntoStaging(s: Staging, src: RestoreSource, opts: { signal?: AbortSignal; jobs?: number } = {}): Promise<RestoreResult> {
  if (s.engine === 'postgres' && src.format === 'custom') return restoreCustom(s, src, opts);
  const raw = await src.open();
  const hash = new HashingStream();
  const tail = new TailKeeper();
  raw.on('error', (e) => hash.destroy(e));
  let stream: Readable = raw.pipe(hash);
  if (src.decrypt) {
    const dec = decryptingStream(src.decrypt.decryption, src.what, src.decrypt.client);
    hash.on('error', (e) => dec.destroy(e));
    stream = stream.pipe(dec);
  }
  if (src.gzip) {
    const gunzip = gunzipStream();
    stream.on('error', (e) => gunzip.destroy(e));
    stream = stream.pipe(gunzip);
  }
  stream.on('error', (e) => tail.destroy(e));
  stream = stream.pipe(tail);

  const errors: string[] = [];
  const warnings: string[] = [];
  let partial = '';
  const onStderr = (c: Buffer) => {
    const lines = (partial + c.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (/\bERROR\b/.test(l)) (TOLERATED.test(l) ? warnings : errors).push(l.trim());
  };
  const cmd = s.engine === 'postgres'
    ? ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=0', '-U', s.user, '-d', s.database]
    : ['mariadb', '--protocol=socket', '-uroot', '--binary-mode', s.database];
  const env = s.engine === 'mysql' ? [`MYSQL_PWD=${s.password}`] : undefined;

  let r: ExecResult;
  try {
    r = await execIn(s.container, cmd, { stdin: stream, env, signal: opts.signal, onStderr, maxOutput: 16 * 1024 });
  } catch (err) {
    if (err instanceof ExecInputError) {
      // Read the rest so that a corrupted download is reported as such (sha256) rather than as its symptom.
      const shaReason = await finishHash(raw, hash, src).catch(() => undefined);
      const e = err.cause as NodeJS.ErrnoException;
      const what = e instanceof AgeDecryptError ? `decryption failed: ${e.message}` : e?.code?.startsWith('Z_') || /unexpected end of file|incorrect header|invalid/i.test(messageOf(e))
        ? `gzip error: ${messageOf(e)} (the file is truncated or damaged)` : `download failed: ${messageOf(e)}`;
      throw new OperationError(shaReason ? `${shaReason}; ${what}` : what);
    }
    throw err;
  }
  onStderr(Buffer.from('\n'));
  const got = { sha256: hash.digest(), bytes: hash.bytes };
  checkDigest(src.what, src.expected, got);
  const state = await describeContainerState(s, { settleMs: r.exitCode === 0 ? 0 : 1500 });
  if (!state.running) throw new OperationError(`the staging container ${state.text} during the restore`);
  if (r.exitCode !== 0) {
    throw new OperationError(`${cmd[0]} exited with code ${r.exitCode ?? 'unknown'} during the restore${lastLine(r.stderr)}`);
  }
  if (errors.length) {
    throw new OperationError(`the restore reported ${errors.length} error(s): ${errors.slice(0, 3).join(' | ').slice(0, 600)}`);
  }
  if (!TRAILERS[s.engine].test(tail.text())) {
    throw new OperationError(`the dump has no completion trailer ("${s.engine === 'postgres' ? '-- PostgreSQL database dump complete' : '-- Dump completed'}"): the dump stopped before it finished`);
  }
  return { bytes: got.bytes, uncompressedBytes: src.gzip ? tail.bytes : undefined, sha256: got.sha256, warnings, stderrTail: r.stderr.slice(-2000) };
}

function lastLine(text: string): string {
  const l = text.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
  return l ? `: ${l.slice(0, 500)}` : '';
}

/** After a broken stream: hash what is left of the download and return the sha256 reason, if any. */
async function finishHash(raw: Readable, hash: HashingStream, src: RestoreSource): Promise<string | undefined> {
  if (!src.expected.sha256) return undefined;
  // The pipeline was torn down: re-read the object from the start for an honest digest.
  raw.destroy();
  try {
    await verifyDownload(src.open, src.what, src.expected);
    return undefined;
  } catch (err) {
    return /mismatch/.test(errorMessage(err)) ? errorMessage(err) : undefined;
  } finally {
    void hash;
  }
}

async function restoreCustom(s: Staging, src: RestoreSource, opts: { signal?: AbortSignal; jobs?: number }): Promise<RestoreResult> {
  const size = src.decrypt ? src.decrypt.decryption.plaintextSizeBytes : src.expected.sizeBytes;
  if (size == null) throw new OperationError(`the manifest of ${src.what} has no ${src.decrypt ? 'encryption.plaintextSizeBytes' : 'sizeBytes'}: cannot stream a custom-format archive into the container`);
  const raw = await src.open();
  const hash = new HashingStream();
  const tar = tarSingleFile('backup-bot-restore.dump', size, 0o600, s.owner);
  raw.on('error', (e) => tar.destroy(e));
  hash.on('error', (e) => tar.destroy(e));
  let body: Readable = raw.pipe(hash);
  if (src.decrypt) {
    const dec = decryptingStream(src.decrypt.decryption, src.what, src.decrypt.client);
    dec.on('error', (e) => tar.destroy(e));
    body = body.pipe(dec);
  }
  const onAbort = () => tar.destroy(opts.signal?.reason as Error);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // pg_restore -j needs a regular file it can seek in: put it in the container's /tmp, 0600 and owned by
    // the container's user, who runs pg_restore and removes it.
    await s.container.putArchive(body.pipe(tar), { path: '/tmp' });
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason as Error;
    const got = { sha256: hash.digest(), bytes: hash.bytes };
    try { checkDigest(src.what, src.expected, got); } catch (e) { throw new OperationError(`${errorMessage(e)}; ${errorMessage(err)}`); }
    throw new OperationError(`cannot copy ${src.what} into the staging container: ${errorMessage(err)}`);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  checkDigest(src.what, src.expected, { sha256: hash.digest(), bytes: hash.bytes });
  const jobs = Math.max(1, Math.min(8, opts.jobs ?? 2));
  const r = await execIn(s.container, ['pg_restore', '--no-owner', '--no-acl', '--exit-on-error', '-j', String(jobs), '-U', s.user, '-d', s.database, '/tmp/backup-bot-restore.dump'], { signal: opts.signal, maxOutput: 16 * 1024 });
  const state = await describeContainerState(s, { settleMs: r.exitCode === 0 ? 0 : 1500 });
  if (!state.running) throw new OperationError(`the staging container ${state.text} during the restore`);
  if (r.exitCode !== 0) throw new OperationError(`pg_restore exited with code ${r.exitCode ?? 'unknown'}${lastLine(r.stderr)}`);
  await execIn(s.container, ['rm', '-f', '/tmp/backup-bot-restore.dump']).catch(() => undefined);
  return { bytes: hash.bytes, sha256: hash.digest(), warnings: [], stderrTail: r.stderr.slice(-2000) };
}
