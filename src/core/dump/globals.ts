import type { Transform } from 'node:stream';
import type { ClientConfig } from '../../config/schema.js';
import { parseDbUrl, pgEnv, type DbTarget } from '../db-url.js';
import { UserError } from '../errors.js';
import { registerSecret } from '../redact.js';
import { spawnDump, type DumpProcess } from './process.js';
import { streamToDestinations, type Destination, type StreamResult } from './pipeline.js';

/**
 * PostgreSQL globals (issue 18 item 5, `database.globals: true`): `pg_dumpall --globals-only` — roles, their
 * attributes and memberships, role settings, tablespaces — which no `pg_dump` of one database contains, so a
 * restore onto a fresh server lacks them. Streamed through gzip + sha256 into the same destinations as the
 * dump, as `backup_…_globals.sql.gz` (naming.ts globalsFileName), verified by verify/globals-file.ts and
 * loaded first by the staging restore test (staging/globals.ts).
 *
 * Passwords are left out (`--no-role-passwords`, which also lets a non-superuser run it: it reads pg_roles,
 * not pg_authid) unless `database.globalsWithPasswords: true`. The connection's password goes in PGPASSWORD
 * only. pg_dumpall's `--dbname` is a connection string, not a name, so the client's database is given with
 * `--database` (the database it connects to first; globals are the same from any database).
 */

/** application_name of the pg_dumpall session. */
const PG_DUMPALL_APP_NAME = 'backup-bot pg_dumpall';

/** The last line of a complete pg_dumpall output. */
export const GLOBALS_TRAILER = '-- PostgreSQL database cluster dump complete';

export interface GlobalsDumpArgs { withPasswords: boolean }

export function pgDumpallGlobalsArgs(t: DbTarget, o: GlobalsDumpArgs): string[] {
  return [
    '--host', t.host, '--port', String(t.port), '--username', t.user, '--database', t.database, '--no-password', '--globals-only',
    ...(o.withPasswords ? [] : ['--no-role-passwords']),
  ];
}

/** `pg_dumpall --globals-only` streaming to stdout (arguments as an array, the password only in PGPASSWORD). */
function spawnPgDumpallGlobals(t: DbTarget, o: GlobalsDumpArgs & { program?: string }): DumpProcess {
  return spawnDump(o.program ?? 'pg_dumpall', pgDumpallGlobalsArgs(t, o), { ...pgEnv(t), PGAPPNAME: PG_DUMPALL_APP_NAME });
}

export interface GlobalsDumpOptions {
  /** Storage key of the globals file (`<client>/backup_…_globals.sql.gz`). */
  key: string;
  destinations: Destination[];
  gzipLevel: number;
  secondaryStallMs?: number;
  program?: string;
  /** Encrypts the stored file (the dump's age stage): roles and, with globalsWithPasswords, their hashes are as sensitive as the data. */
  encrypt?: Transform;
  /** Cancels: pg_dumpall killed, uploads aborted. */
  signal?: AbortSignal;
}

export interface GlobalsDumpResult extends StreamResult { withPasswords: boolean }

/**
 * Streams the client's globals into its destinations (the primary decides `ok`, as for the dump; nothing is
 * left under the final name when pg_dumpall fails). PostgreSQL only: a mysql client is a UserError.
 */
export async function dumpGlobals(db: ClientConfig['database'], o: GlobalsDumpOptions): Promise<GlobalsDumpResult> {
  if (db.engine !== 'postgres') throw new UserError('database.globals is only available for PostgreSQL (pg_dumpall --globals-only)');
  const t = parseDbUrl(db.url, 'postgres');
  registerSecret(t.password);
  const withPasswords = db.globalsWithPasswords;
  const r = await streamToDestinations({
    source: spawnPgDumpallGlobals(t, { withPasswords, program: o.program }),
    key: o.key, destinations: o.destinations, gzipLevel: o.gzipLevel, secondaryStallMs: o.secondaryStallMs,
    contentType: o.encrypt ? 'application/octet-stream' : 'application/gzip', ...(o.encrypt ? { encrypt: o.encrypt } : {}), signal: o.signal,
  });
  return { ...r, withPasswords };
}
