import pg from 'pg';
import { runProgram } from '../run-program.js';
import { mysqlConnArgs, mysqlEnv, type DbTarget, describeTarget } from '../db-url.js';
import { OperationError } from '../errors.js';

export interface ServerInfo { version: string; major: number }

/** `pg_dump (PostgreSQL) 15.20 (Debian …)` → 15.20 / 15 */
async function pgDumpVersion(program = 'pg_dump'): Promise<ServerInfo> {
  let out;
  try {
    out = await runProgram(program, ['--version']);
  } catch (err) {
    throw new OperationError(`${program} is not installed or not executable (${(err as NodeJS.ErrnoException).code ?? String(err)}): install the PostgreSQL client (Debian: postgresql-client)`);
  }
  const m = /(\d+)(?:\.(\d+))?/.exec(out.stdout);
  if (!m) throw new OperationError(`cannot read the version of ${program}: ${out.stdout.trim() || out.stderr.trim()}`);
  return { version: m[2] ? `${m[1]}.${m[2]}` : m[1]!, major: Number(m[1]) };
}

/** Connects to the client's PostgreSQL server and reads its version. */
async function pgServerVersion(t: DbTarget): Promise<ServerInfo> {
  const c = new pg.Client({ host: t.host, port: t.port, user: t.user, password: t.password, database: t.database, connectionTimeoutMillis: 10_000, application_name: 'backup-bot' });
  try {
    await c.connect();
    const r = await c.query<{ server_version: string; server_version_num: string }>('SELECT current_setting(\'server_version\') AS server_version, current_setting(\'server_version_num\') AS server_version_num');
    const num = Number(r.rows[0]!.server_version_num);
    return { version: r.rows[0]!.server_version.split(' ')[0]!, major: Math.floor(num / 10000) };
  } catch (err) {
    throw new OperationError(`cannot connect to ${describeTarget(t)}: ${(err as Error).message}`);
  } finally {
    await c.end().catch(() => {});
  }
}

/** Refuses, before anything runs, when pg_dump is older than the server (it would refuse itself, later and less clearly). */
export async function checkPgDumpCompatible(t: DbTarget, program = 'pg_dump'): Promise<{ server: ServerInfo; tool: ServerInfo }> {
  const [server, tool] = await Promise.all([pgServerVersion(t), pgDumpVersion(program)]);
  if (tool.major < server.major) {
    throw new OperationError(`pg_dump ${tool.version} is older than the PostgreSQL ${server.version} server of ${describeTarget(t)}: install the PostgreSQL ${server.major} client tools (pg_dump must be at least the server's major version)`);
  }
  return { server, tool };
}

export async function mysqldumpVersion(program = 'mysqldump'): Promise<ServerInfo> {
  let out;
  try {
    out = await runProgram(program, ['--version']);
  } catch (err) {
    throw new OperationError(`${program} is not installed or not executable (${(err as NodeJS.ErrnoException).code ?? String(err)}): install the MariaDB/MySQL client (Debian: mariadb-client)`);
  }
  const m = /Distrib (\d+)\.(\d+)/.exec(out.stdout) ?? /Ver (\d+)\.(\d+)/.exec(out.stdout);
  if (!m) throw new OperationError(`cannot read the version of ${program}: ${out.stdout.trim()}`);
  return { version: `${m[1]}.${m[2]}`, major: Number(m[1]) };
}

/** Reads the MySQL/MariaDB server version through the `mysql` client (password in MYSQL_PWD). */
export async function mysqlServerVersion(t: DbTarget, program = 'mysql'): Promise<ServerInfo> {
  let out;
  try {
    out = await runProgram(program, [...mysqlConnArgs(t), '--batch', '--skip-column-names', '--connect-timeout=10', '-e', 'SELECT VERSION()', t.database], { env: mysqlEnv(t), timeoutMs: 30_000 });
  } catch (err) {
    throw new OperationError(`${program} is not installed or not executable (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (out.code !== 0) throw new OperationError(`cannot connect to ${describeTarget(t)}: ${out.stderr.trim()}`);
  const v = out.stdout.trim();
  return { version: v.split('-')[0]!, major: Number(v.split('.')[0]) };
}
