import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Storage } from '../storage/storage.js';
import { gunzipStream } from '../zlib-chunk.js';
import { GLOBALS_TRAILER } from '../dump/globals.js';
import { errorMessage } from '../errors.js';
import { redactSecrets } from '../redact.js';
import { decryptInto, pumpHashed, type Check, type VerifyFileResult } from './backup-file.js';
import type { Decryption } from '../crypto/keys.js';

/** What a globals file holds, read line by line from its uncompressed text. */
class GlobalsScanner {
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
  /** An encrypted file (`…_globals.sql.gz.age`): decrypted with `decryption`; without one, the stored bytes only. */
  encrypted?: { decryption?: Decryption; client?: string };
}

export interface VerifyGlobalsResult extends VerifyFileResult { roles?: number }

function sha256Check(sha256: string, expected: string | null | undefined, readError: string | undefined): Check {
  if (!expected) return { name: 'sha256', ok: !readError, detail: `${sha256.slice(0, 12)}… (no recorded value to compare)` };
  return { name: 'sha256', ok: !readError && sha256 === expected, detail: sha256 === expected ? `matches ${sha256.slice(0, 12)}…` : `read ${sha256.slice(0, 12)}…, recorded ${expected.slice(0, 12)}…` };
}

/**
 * Reads a stored globals file back: `sha256` equals the recorded one; `decrypt` (encrypted): every age chunk
 * authenticates and the plaintext's sha256 is the recorded one; `decompress`: the whole gzip stream
 * decompresses; `roles`: it creates at least one role (pg_dumpall always dumps the role it ran as);
 * `trailer`: it ends with pg_dumpall's "cluster dump complete"; `passwords`: no password hash in a file taken
 * without `globalsWithPasswords`. Encrypted on a host without the identity: the stored bytes' sha256 only.
 */
export async function verifyGlobalsFile(storage: Storage, key: string, o: VerifyGlobalsOptions): Promise<VerifyGlobalsResult> {
  let src: NodeJS.ReadableStream;
  try {
    src = await storage.get(key);
  } catch (err) {
    return { ok: false, sizeBytes: 0, checks: [{ name: 'read', ok: false, detail: redactSecrets(`cannot read ${key} from destination "${storage.name}" (${storage.description}): ${errorMessage(err)}`) }] };
  }
  if (o.encrypted && !o.encrypted.decryption) {
    const { sha256, size, readError } = await pumpHashed(src, new Writable({ write(_c, _e, cb) { cb(); } }), () => false);
    const checks: Check[] = [
      ...(readError ? [{ name: 'read', ok: false, detail: redactSecrets(`reading ${key} from destination "${storage.name}" failed after ${size} bytes: ${readError}`) }] : []),
      { ...sha256Check(sha256, o.expectedSha256, readError), ...(o.expectedSha256 ? {} : { ok: false, detail: 'no recorded sha256: an encrypted globals file cannot be checked without its identity' }) },
      { name: 'decrypt', ok: true, detail: `not decrypted: no age identity on this host${o.encrypted.client ? ` (clients.${o.encrypted.client}.encryption.identity)` : ''}; roles, trailer and passwords not checked` },
    ];
    return { ok: checks.every((c) => c.ok), checks, sha256, sizeBytes: size };
  }
  const scanner = new GlobalsScanner();
  const gunzip = gunzipStream();
  let decodeError: string | undefined;
  gunzip.on('data', (c: Buffer) => scanner.push(c));
  const finished = new Promise<void>((resolve) => {
    gunzip.on('end', () => resolve());
    gunzip.on('close', () => resolve());
    gunzip.on('error', (err) => { decodeError = `gunzip: ${err.message}`; resolve(); });
  });
  const dec = decryptInto(gunzip, key, o.encrypted?.decryption, o.encrypted?.client, () => {}, o.expectedSha256);
  const { sha256, size, readError } = await pumpHashed(src, dec.input, () => decodeError !== undefined || dec.failed());
  await finished;
  const decrypted = dec.check();
  if (decrypted && !decrypted.ok) decodeError = `not decompressed: ${decrypted.detail}`;
  const scan = scanner.finish();
  const checks: Check[] = [];
  if (readError) checks.push({ name: 'read', ok: false, detail: redactSecrets(`reading ${key} from destination "${storage.name}" failed after ${size} bytes: ${readError}`) });
  checks.push(sha256Check(sha256, o.expectedSha256, readError));
  if (decrypted) checks.push(decrypted);
  checks.push({ name: 'decompress', ok: !decodeError && !readError, detail: decodeError ?? `gunzip read the whole file (${scan.bytes} bytes of SQL)` });
  checks.push({ name: 'roles', ok: scan.roles > 0, detail: scan.roles > 0 ? `${scan.roles} CREATE ROLE` : 'no CREATE ROLE: this is not a pg_dumpall --globals-only file' });
  checks.push({ name: 'trailer', ok: scan.trailer, detail: scan.trailer ? `ends with "${GLOBALS_TRAILER}"` : `does not end with "${GLOBALS_TRAILER}": the file is truncated` });
  if (!o.withPasswords) {
    checks.push({ name: 'passwords', ok: scan.passwords === 0, detail: scan.passwords === 0 ? 'no password hashes (globalsWithPasswords: false)' : `${scan.passwords} role(s) with a password hash although globalsWithPasswords is false` });
  }
  return { ok: checks.every((c) => c.ok), checks, sha256, sizeBytes: size, roles: scan.roles };
}
