import { UserError } from './errors.js';

/** A client database connection, parsed from its URL; the password goes only into a child's environment. */
export interface DbTarget {
  engine: 'postgres' | 'mysql';
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  /** Extra query parameters (sslmode, …). */
  params: Record<string, string>;
}

export function parseDbUrl(url: string, engine: 'postgres' | 'mysql'): DbTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`database url is not a URL (accepted: ${engine === 'postgres' ? 'postgres://user:password@host:5432/dbname' : 'mysql://user:password@host:3306/dbname'})`);
  }
  const okProto = engine === 'postgres' ? ['postgres:', 'postgresql:'] : ['mysql:', 'mariadb:'];
  if (!okProto.includes(u.protocol)) throw new UserError(`database url must start with ${okProto.map((p) => p + '//').join(' or ')} for engine ${engine}`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new UserError('database url must name the database (…/dbname)');
  const params: Record<string, string> = {};
  u.searchParams.forEach((v, k) => { params[k] = v; });
  return {
    engine,
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : engine === 'postgres' ? 5432 : 3306,
    user: decodeURIComponent(u.username) || (engine === 'postgres' ? 'postgres' : 'root'),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database,
    params,
  };
}

/** Arguments that select the server, user and database for pg_dump/psql/pg_restore (no password). */
export function pgConnArgs(t: DbTarget): string[] {
  return ['--host', t.host, '--port', String(t.port), '--username', t.user, '--dbname', t.database];
}

/** Environment for a PostgreSQL client program: password only here. */
export function pgEnv(t: DbTarget, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, PGCONNECT_TIMEOUT: '10' };
  delete env.PGPASSWORD;
  if (t.password !== undefined) env.PGPASSWORD = t.password;
  if (t.params.sslmode) env.PGSSLMODE = t.params.sslmode;
  env.PGAPPNAME = 'backup-bot';
  return env;
}

/** Arguments for mysql/mysqldump (no password; it goes in MYSQL_PWD). */
export function mysqlConnArgs(t: DbTarget): string[] {
  return [`--host=${t.host}`, `--port=${t.port}`, `--user=${t.user}`, '--protocol=TCP'];
}

export function mysqlEnv(t: DbTarget, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  delete env.MYSQL_PWD;
  if (t.password !== undefined) env.MYSQL_PWD = t.password;
  return env;
}

/** `database "x" on host:port`, for messages. */
export function describeTarget(t: DbTarget): string {
  return `${t.engine} database "${t.database}" on ${t.host}:${t.port}`;
}

/** `host:port` of a client database's server: what `workers.perDatabaseHost` counts (undefined when the URL does not parse). */
export function databaseServer(db: { engine: 'postgres' | 'mysql'; url: string }): string | undefined {
  try {
    const t = parseDbUrl(db.url, db.engine);
    return `${t.host}:${t.port}`;
  } catch {
    return undefined;
  }
}
