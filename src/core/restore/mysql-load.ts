import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { gunzipStream } from '../zlib-chunk.js';
import { mysqlConnArgs, mysqlEnv, type DbTarget } from '../db-url.js';
import { OperationError, errorMessage } from '../errors.js';
import { redactSecrets } from '../redact.js';
import { DumpFilter, type DumpFilterInfo } from './mysql-dump-filter.js';
import { createDatabase, createDatabaseLike, databaseExists, databaseProps, dropDatabase, listTables, withMysql, type MysqlDatabaseProps } from './mysql-admin.js';

/**
 * Loading a mysqldump backup (`.sql.gz` or `.sql`) into a database with the `mysql`/`mariadb` client
 * (mysqldump output needs the client: DELIMITER, executable comments), through DumpFilter, which keeps the
 * dump inside the database it is loaded into. Client flags:
 * --one-database (a USE that names another database stops the writes), --binary-mode (no backslash
 * client commands), --skip-reconnect (a lost connection fails the load instead of going on in a new session),
 * and the dump is preceded by MariaDB's sandbox-mode line (no `\!` shell or file commands).
 */

/** mariadb-dump's own first line: MariaDB clients then refuse shell/file commands; others read a comment. */
const SANDBOX = Buffer.from('/*M!999999\\- enable the sandbox mode */\n');
const TRAILER = /-- Dump completed/;

export interface MysqlLoadResult {
  /** Bytes of the backup file. */
  bytes: number;
  /** Bytes of SQL read (after gunzip). */
  sqlBytes: number;
  filter: DumpFilterInfo;
  durationMs: number;
}

/**
 * The client's error lines (`ERROR 2013 (HY000) at line 9: Lost connection …`). The client also echoes the
 * failing statement, which holds row data: never shown.
 */
function errorLines(s: string): string {
  const lines = s.split('\n').map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /^(ERROR|mysql:|mariadb:|Warning)/.test(l));
  return errors.length ? errors.slice(-3).map((l) => l.slice(0, 300)).join(' | ') : 'the client printed no error line (its other output is not shown: it can hold row data)';
}

async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

export interface LoadOptions {
  /** Client program (`mysql` or `mariadb`). */
  program?: string;
  signal?: AbortSignal;
  /** Called with the client's pid once it runs (tests). */
  onSpawn?: (pid: number) => void;
}

/**
 * Loads a whole dump into `database` (which must exist). Fails — with what the client or the gunzip said —
 * on a damaged or truncated file, an SQL error, a lost connection, or a dump without mysqldump's
 * "-- Dump completed" trailer (it stopped before it finished). What was loaded before the failure stays in
 * `database`: the caller drops it (restoreToNewDatabase does).
 */
export async function loadMysqlDump(file: string, target: DbTarget, database: string, opts: LoadOptions = {}): Promise<MysqlLoadResult> {
  const t0 = Date.now();
  const program = opts.program ?? 'mysql';
  const gzip = await isGzip(file);
  const raw = createReadStream(file);
  let bytes = 0;
  raw.on('data', (c: Buffer | string) => { bytes += c.length; });
  const filter = new DumpFilter(SANDBOX);
  let source: Readable = raw;
  if (gzip) {
    const gunzip = gunzipStream();
    raw.on('error', (e) => gunzip.destroy(e));
    source = raw.pipe(gunzip);
  }
  source.on('error', (e) => filter.destroy(e));
  source.pipe(filter);

  const args = [...mysqlConnArgs(target), '--batch', '--binary-mode', '--one-database', '--skip-reconnect', '--connect-timeout=10', '--default-character-set=utf8mb4', '--', database];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(program, args, { env: mysqlEnv(target), stdio: ['pipe', 'ignore', 'pipe'], shell: false });
    if (child.pid) opts.onSpawn?.(child.pid);
    let stderr = '';
    // The tail is kept: the client echoes a failing statement (megabytes of rows) before its ERROR line.
    child.stderr!.on('data', (c: Buffer) => { stderr = (stderr + c.toString('utf8')).slice(-64_000); });
    let inputError: unknown;
    const stop = (err: unknown) => {
      inputError ??= err;
      // Never let a broken input reach the client as a clean end of input: kill it first.
      child.kill('SIGKILL');
      filter.unpipe(child.stdin!);
    };
    child.stdin!.on('error', () => {});
    filter.on('error', stop);
    const onAbort = () => stop(opts.signal?.reason ?? new Error('aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    filter.pipe(child.stdin!);
    child.on('error', (err) => reject(new OperationError(`cannot run ${program}: ${err.message}`)));
    child.on('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      raw.destroy();
      if (code === 0 && inputError === undefined) return resolve();
      let why: string;
      if (inputError !== undefined) {
        const e = inputError as NodeJS.ErrnoException;
        why = e.code?.startsWith('Z_') || /unexpected end of file|incorrect header|invalid/i.test(errorMessage(e))
          ? `gzip error: ${errorMessage(e)} (the backup file is truncated or damaged)`
          : `reading the backup failed: ${errorMessage(e)}`;
      } else {
        why = signal ? `killed by ${signal}` : `exit code ${code}`;
      }
      reject(new OperationError(`loading the backup into "${database}" failed (${why})${stderr.trim() ? `: ${redactSecrets(errorLines(stderr))}` : ''}`));
    });
  });
  if (!TRAILER.test(filter.tailText())) {
    throw new OperationError(`the backup has no "-- Dump completed" trailer: the dump stopped before it finished (truncated); "${database}" is incomplete`);
  }
  return { bytes, sqlBytes: filter.info.bytes, filter: filter.info, durationMs: Date.now() - t0 };
}

export interface RestoreToNewDatabaseResult {
  database: string;
  /** Character set and collation, copied from production. */
  props: MysqlDatabaseProps;
  load: MysqlLoadResult;
  /** Tables (base tables and sequences) in the restored copy. */
  tables: number;
}

/**
 * Swap strategy, step "restore": creates `restoreDb` with production's character set and collation, loads
 * the backup into it and returns. Production is not touched. On any failure `restoreDb` is dropped (a
 * leftover of a crashed run with the same name is dropped first) and the error says so.
 */
export async function restoreToNewDatabase(file: string, target: DbTarget, restoreDb: string, opts: LoadOptions = {}): Promise<RestoreToNewDatabaseResult> {
  const prodDb = target.database;
  if (restoreDb === prodDb) throw new OperationError('the restore database must not be the production database');
  const props = await withMysql(target, async (c) => {
    if (await databaseExists(c, restoreDb)) await dropDatabase(c, restoreDb);
    return createDatabaseLike(c, restoreDb, prodDb);
  });
  try {
    const load = await loadMysqlDump(file, target, restoreDb, opts);
    const tables = await withMysql(target, async (c) => (await listTables(c, restoreDb)).length);
    return { database: restoreDb, props, load, tables };
  } catch (err) {
    const cleanup = await dropWithRetry(target, restoreDb);
    throw new OperationError(`${errorMessage(err)}; production "${prodDb}" was not touched; ${cleanup}`, { cause: err });
  }
}

/** Drops a scratch database, retrying while the server is unreachable (a few seconds); says what happened. */
export async function dropWithRetry(target: DbTarget, db: string, attempts = 5): Promise<string> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      await withMysql(target, (c) => dropDatabase(c, db));
      return `"${db}" was dropped`;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 500 * (i + 1)));
    }
  }
  return `"${db}" could NOT be dropped (${errorMessage(last)}): drop it by hand`;
}

export interface ReplaceResult { props: MysqlDatabaseProps; load: MysqlLoadResult }

/**
 * Replace strategy (the runbook's "drop, create, restore"): drops production, creates it again with the
 * same character set and collation and loads the backup. `onDropped` is called right after the DROP (from
 * then on only the pre-restore backup brings production back). DROP DATABASE locks every table before it
 * drops any: a table held by another session makes it wait `lockWaitTimeout` seconds (default 30) and fail
 * with production as it was.
 */
export async function replaceDatabase(file: string, target: DbTarget, opts: LoadOptions & { onDropped?: () => void; lockWaitTimeout?: number } = {}): Promise<ReplaceResult> {
  const db = target.database;
  const props = await withMysql(target, async (c) => {
    const p = await databaseProps(c, db);
    await c.query(`SET SESSION lock_wait_timeout = ${Math.max(1, Math.floor(opts.lockWaitTimeout ?? 30))}`);
    await dropDatabase(c, db).catch((err: unknown) => {
      throw new OperationError(`dropping "${db}" failed, production is as it was: ${errorMessage(err)}`, { cause: err });
    });
    opts.onDropped?.();
    await createDatabase(c, db, p);
    return p;
  });
  const load = await loadMysqlDump(file, target, db, opts);
  return { props, load };
}
