import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipStream } from '../zlib-chunk.js';
import { pgConnArgs, pgEnv, type DbTarget } from '../db-url.js';
import { OperationError, errorMessage } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { openPrivate, privateTempDir } from '../private-files.js';
import { AgeDecryptError } from '../crypto/age-stream.js';
import { decryptingStream, type Decryption } from '../crypto/keys.js';
import { HashingStream } from '../hashing-stream.js';
import { AGE_SUFFIX } from '../naming.js';

export type BackupFormat = 'plain' | 'custom';

export interface LocalBackup { path: string; sha256: string; size: number; cleanup(): Promise<void> }

export interface BackupSource { storage: Storage; key: string }

/**
 * Downloads a stored backup to a private temp file (0600 in a 0700 directory, whatever the umask), computing its sha256 on the way; refuses it when the
 * sha256 differs from the registered one. Tries each location in turn.
 *
 * Encrypted (`decrypt`, from `decryptionFor`): the download is decrypted on its way to the file, which then
 * holds the plaintext (`.sql.gz` / `.dump`, without `.age`); it is returned only when the stored bytes match
 * the registered sha256, every age chunk and the end of the file authenticated, and the plaintext matches the
 * manifest's sha256. So nothing is loaded from a damaged or truncated file: the loading starts from the
 * complete, checked file. A file no configured identity can open fails at once (the other copies were made
 * for the same recipients).
 */
export async function downloadBackup(sources: BackupSource[], expectedSha256: string | null, fileName: string, decrypt?: { decryption: Decryption; client?: string }): Promise<LocalBackup> {
  if (sources.length === 0) throw new OperationError('the backup has no readable location');
  const dir = await privateTempDir('backup-bot-restore-');
  const plainName = decrypt && fileName.endsWith(AGE_SUFFIX) ? fileName.slice(0, -AGE_SUFFIX.length) : fileName;
  const path = join(dir, plainName.replace(/[^A-Za-z0-9._-]/g, '_') || 'backup');
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const errors: string[] = [];
  for (const s of sources) {
    try {
      const body = await s.storage.get(s.key);
      const h = createHash('sha256');
      const tap = new Transform({ transform(chunk: Buffer, _e, cb) { h.update(chunk); cb(null, chunk); } });
      const plain = new HashingStream();
      // 'w': a second location overwrites what the first one left (same private file).
      const out = () => openPrivate(path, 'w').then((fd) => createWriteStream(path, { fd }));
      if (decrypt) await pipeline(body, tap, decryptingStream(decrypt.decryption, s.key, decrypt.client), plain, await out());
      else await pipeline(body, tap, await out());
      const sha256 = h.digest('hex');
      if (expectedSha256 && sha256 !== expectedSha256) {
        errors.push(`${s.storage.name}: sha256 ${sha256.slice(0, 12)}… differs from the registered ${expectedSha256.slice(0, 12)}…`);
        continue;
      }
      const want = decrypt?.decryption.plaintextSha256;
      if (want && plain.digest() !== want) {
        errors.push(`${s.storage.name}: decrypted, but the plaintext sha256 ${plain.digest().slice(0, 12)}… differs from the manifest's ${want.slice(0, 12)}…`);
        continue;
      }
      return { path, sha256, size: (await stat(path)).size, cleanup };
    } catch (err) {
      if (err instanceof AgeDecryptError && err.kind === 'no-identity') {
        await cleanup();
        throw err;
      }
      errors.push(`${s.storage.name}: ${errorMessage(err)}`);
    }
  }
  await cleanup();
  throw new OperationError(`cannot read the backup: ${errors.join('; ')}`);
}

export function formatOf(fileOrFormat: string | null | undefined): BackupFormat {
  if (fileOrFormat === 'custom' || /\.dump(\.age)?$/.test(fileOrFormat ?? '')) return 'custom';
  return 'plain';
}

function lastLines(s: string, n = 6): string {
  return s.trim().split('\n').slice(-n).join(' | ').slice(0, 800);
}

/** Runs a PostgreSQL client program, feeding `input` to stdin; throws with the end of stderr on failure. */
export function runPgProgram(program: string, args: string[], t: DbTarget, input?: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: pgEnv(t), stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'], shell: false });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => { if (stderr.length < 200_000) stderr += c.toString('utf8'); });
    let inputError: unknown;
    if (input && child.stdin) {
      child.stdin.on('error', () => {});
      // A broken input must never reach psql as a clean end of input: with --single-transaction it would
      // COMMIT what it has read. So no pipeline() here (it ends stdin on error): kill psql, then let go.
      input.on('error', (err) => {
        inputError ??= err;
        child.kill('SIGKILL');
        input.unpipe(child.stdin!);
      });
      input.pipe(child.stdin);
    }
    child.on('error', (err) => reject(new OperationError(`cannot run ${program}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0 && !inputError) return resolve();
      const why = inputError !== undefined ? `reading the backup failed: ${errorMessage(inputError)}` : signal ? `killed by ${signal}` : `exit code ${code}`;
      reject(new OperationError(`${program} failed (${why})${stderr.trim() ? `: ${lastLines(stderr)}` : ''}`));
    });
  });
}

/**
 * Loads a whole backup into an (empty) database: a plain `.sql.gz` through psql in one transaction, a custom
 * archive through pg_restore in one transaction; the first error stops it.
 */
export async function loadBackupInto(file: string, format: BackupFormat, t: DbTarget): Promise<void> {
  if (format === 'custom') {
    await runPgProgram('pg_restore', [...pgConnArgs(t), '--exit-on-error', '--single-transaction', '--no-password', file], t);
    return;
  }
  const gunzip = gunzipStream();
  const file$ = createReadStream(file);
  file$.on('error', (e) => gunzip.destroy(e));
  file$.pipe(gunzip);
  await runPgProgram('psql', [...pgConnArgs(t), '-X', '--quiet', '--no-password', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', '-'], t, gunzip);
}
