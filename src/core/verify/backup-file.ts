import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createGunzip } from 'node:zlib';
import { ZLIB_CHUNK_BYTES } from '../zlib-chunk.js';
import type { Writable } from 'node:stream';
import type { Storage } from '../storage/storage.js';
import { DumpScanner, TRAILERS, type DumpEngine } from '../dump/scan.js';
import { errorMessage } from '../errors.js';
import { redactSecrets } from '../redact.js';

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
async function pumpHashed(src: NodeJS.ReadableStream, sink: Writable, failed: () => boolean): Promise<{ sha256: string; size: number; readError?: string }> {
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
  const scanner = new DumpScanner(o.engine);
  let decodeError: string | undefined;
  let sink: Writable;
  let finished: Promise<void>;

  if (o.format === 'plain') {
    const gunzip = createGunzip({ chunkSize: ZLIB_CHUNK_BYTES });
    gunzip.on('data', (c: Buffer) => scanner.push(c));
    finished = new Promise((resolve) => {
      gunzip.on('end', () => resolve());
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

  const { sha256, size, readError } = await pumpHashed(src, sink, () => decodeError !== undefined);
  await finished;
  const scan = scanner.finish();

  const checks: Check[] = [];
  if (readError) checks.push({ name: 'read', ok: false, detail: redactSecrets(`reading ${key} from destination "${storage.name}" failed after ${size} bytes: ${readError}`) });
  checks.push(o.expectedSha256
    ? { name: 'sha256', ok: !readError && sha256 === o.expectedSha256, detail: sha256 === o.expectedSha256 ? `matches ${sha256.slice(0, 12)}…` : `read ${sha256.slice(0, 12)}…, recorded ${o.expectedSha256.slice(0, 12)}…` }
    : { name: 'sha256', ok: !readError, detail: `${sha256.slice(0, 12)}… (no recorded value to compare)` });
  checks.push({
    name: 'decompress',
    ok: !decodeError && !readError,
    detail: decodeError ? redactSecrets(decodeError) : `${o.format === 'plain' ? 'gunzip' : 'pg_restore'} read the whole file (${scan.bytes} bytes of SQL)`,
  });
  checks.push({ name: 'tables', ok: scan.tables >= o.minTables, detail: `${scan.tables} CREATE TABLE (minimum ${o.minTables})` });
  checks.push({ name: 'trailer', ok: scan.trailer, detail: scan.trailer ? `ends with "${TRAILERS[o.engine]}"` : `does not end with "${TRAILERS[o.engine]}": the dump is truncated` });
  return { ok: checks.every((c) => c.ok), checks, sha256, sizeBytes: size, tables: scan.tables };
}

/** A files archive (`.tar.gz`): sha256 and full decompression. */
export async function verifyArchiveFile(storage: Storage, key: string, expectedSha256?: string | null): Promise<VerifyFileResult> {
  let src;
  try {
    src = await storage.get(key);
  } catch (err) {
    return { ok: false, sizeBytes: 0, checks: [{ name: 'read', ok: false, detail: redactSecrets(`cannot read ${key} from destination "${storage.name}": ${errorMessage(err)}`) }] };
  }
  const gunzip = createGunzip({ chunkSize: ZLIB_CHUNK_BYTES });
  let decodeError: string | undefined;
  gunzip.resume();
  const finished = new Promise<void>((resolve) => {
    gunzip.on('end', () => resolve());
    gunzip.on('error', (err) => { decodeError = err.message; resolve(); });
  });
  const { sha256, size, readError } = await pumpHashed(src, gunzip, () => decodeError !== undefined);
  await finished;
  const checks: Check[] = [
    { name: 'sha256', ok: !readError && (!expectedSha256 || sha256 === expectedSha256), detail: readError ? redactSecrets(readError) : !expectedSha256 || sha256 === expectedSha256 ? `matches ${sha256.slice(0, 12)}…` : `read ${sha256.slice(0, 12)}…, recorded ${expectedSha256.slice(0, 12)}…` },
    { name: 'decompress', ok: !decodeError && !readError, detail: decodeError ? `gunzip: ${decodeError}` : 'gunzip read the whole file' },
  ];
  return { ok: checks.every((c) => c.ok), checks, sha256, sizeBytes: size };
}
