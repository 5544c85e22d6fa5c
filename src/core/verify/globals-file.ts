import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import type { Storage } from '../storage/storage.js';
import { ZLIB_CHUNK_BYTES } from '../zlib-chunk.js';
import { GLOBALS_TRAILER } from '../dump/globals.js';
import { errorMessage } from '../errors.js';
import { redactSecrets } from '../redact.js';
import type { Check, VerifyFileResult } from './backup-file.js';

/** What a globals file holds, read line by line from its uncompressed text. */
export class GlobalsScanner {
  roles = 0;
  /** `ALTER ROLE … PASSWORD '…'` lines. */
  passwords = 0;
  bytes = 0;
  private readonly decoder = new StringDecoder('utf8');
  private carry = '';
  private tail: string[] = [];

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    const lines = (this.carry + this.decoder.write(chunk)).split('\n');
    this.carry = lines.pop() ?? '';
    for (const l of lines) this.line(l);
  }

  private line(l: string): void {
    if (l.startsWith('CREATE ROLE ')) this.roles++;
    else if (l.startsWith('ALTER ROLE ') && / PASSWORD '/.test(l)) this.passwords++;
    if (l.trim() !== '') this.tail = [...this.tail.slice(-7), l];
  }

  finish(): { roles: number; passwords: number; trailer: boolean; bytes: number } {
    this.line(this.carry + this.decoder.end());
    this.carry = '';
    // The trailer is among the last lines: only `--` lines and pg_dumpall >= 15.14's `\unrestrict <key>` follow it.
    const i = this.tail.lastIndexOf(GLOBALS_TRAILER);
    const trailer = i >= 0 && this.tail.slice(i + 1).every((l) => /^(?:--\s*|\\unrestrict \S+\s*)$/.test(l));
    return { roles: this.roles, passwords: this.passwords, trailer, bytes: this.bytes };
  }
}

export interface VerifyGlobalsOptions {
  expectedSha256?: string | null;
  /** database.globalsWithPasswords: when false, a password hash in the file fails the check. */
  withPasswords: boolean;
}

export interface VerifyGlobalsResult extends VerifyFileResult { roles?: number }

/**
 * Reads a stored globals file back: `sha256` equals the recorded one; `decompress`: the whole gzip stream
 * decompresses; `roles`: it creates at least one role (pg_dumpall always dumps the role it ran as);
 * `trailer`: it ends with pg_dumpall's "cluster dump complete"; `passwords`: no password hash in a file taken
 * without `globalsWithPasswords`.
 */
export async function verifyGlobalsFile(storage: Storage, key: string, o: VerifyGlobalsOptions): Promise<VerifyGlobalsResult> {
  let src: NodeJS.ReadableStream;
  try {
    src = await storage.get(key);
  } catch (err) {
    return { ok: false, sizeBytes: 0, checks: [{ name: 'read', ok: false, detail: redactSecrets(`cannot read ${key} from destination "${storage.name}" (${storage.description}): ${errorMessage(err)}`) }] };
  }
  const hash = createHash('sha256');
  const scanner = new GlobalsScanner();
  const gunzip = createGunzip({ chunkSize: ZLIB_CHUNK_BYTES });
  let size = 0;
  let readError: string | undefined;
  let decodeError: string | undefined;
  gunzip.on('data', (c: Buffer) => scanner.push(c));
  const finished = new Promise<void>((resolve) => {
    gunzip.on('end', () => resolve());
    gunzip.on('error', (err) => { decodeError = `gunzip: ${err.message}`; resolve(); });
  });
  try {
    for await (const chunk of src as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      if (!decodeError && !gunzip.write(chunk)) await new Promise<void>((r) => { gunzip.once('drain', r); void finished.then(r); });
    }
  } catch (err) {
    readError = errorMessage(err);
  }
  gunzip.end();
  await finished;
  const sha256 = hash.digest('hex');
  const scan = scanner.finish();
  const checks: Check[] = [];
  if (readError) checks.push({ name: 'read', ok: false, detail: redactSecrets(`reading ${key} from destination "${storage.name}" failed after ${size} bytes: ${readError}`) });
  checks.push(o.expectedSha256
    ? { name: 'sha256', ok: !readError && sha256 === o.expectedSha256, detail: sha256 === o.expectedSha256 ? `matches ${sha256.slice(0, 12)}…` : `read ${sha256.slice(0, 12)}…, recorded ${o.expectedSha256.slice(0, 12)}…` }
    : { name: 'sha256', ok: !readError, detail: `${sha256.slice(0, 12)}… (no recorded value to compare)` });
  checks.push({ name: 'decompress', ok: !decodeError && !readError, detail: decodeError ?? `gunzip read the whole file (${scan.bytes} bytes of SQL)` });
  checks.push({ name: 'roles', ok: scan.roles > 0, detail: scan.roles > 0 ? `${scan.roles} CREATE ROLE` : 'no CREATE ROLE: this is not a pg_dumpall --globals-only file' });
  checks.push({ name: 'trailer', ok: scan.trailer, detail: scan.trailer ? `ends with "${GLOBALS_TRAILER}"` : `does not end with "${GLOBALS_TRAILER}": the file is truncated` });
  if (!o.withPasswords) {
    checks.push({ name: 'passwords', ok: scan.passwords === 0, detail: scan.passwords === 0 ? 'no password hashes (globalsWithPasswords: false)' : `${scan.passwords} role(s) with a password hash although globalsWithPasswords is false` });
  }
  return { ok: checks.every((c) => c.ok), checks, sha256, sizeBytes: size, roles: scan.roles };
}
