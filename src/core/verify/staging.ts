import type Docker from 'dockerode';
import { OperationError, errorMessage } from '../errors.js';
import { execIn } from '../staging/exec.js';
import { SECRET_DIR, capsForUser, containerOwner, describeContainerState, containerLogTail, hardenedHostConfig, putSecretFile, type Staging } from '../staging/container.js';
import { stagingLabels } from '../staging/labels.js';

export interface VerifyCheck { name: string; ok: boolean; detail?: string }

interface AppSpec {
  image: string;
  env: Record<string, string>;
  port: number;
  path: string;
  timeoutMs: number;
}

export interface VerifySpec {
  minTables: number;
  /** verify.tables: row counts compared with production's at backup time. */
  tables: string[];
  /** verify.checks: SQL whose first column of the first row must be true. */
  checks: Array<{ name: string; sql: string }>;
  /** Production counts from the backup manifest (rowCounts). */
  productionCounts?: Record<string, number>;
  /** CREATE TABLE count of the dump (manifest.tables). */
  dumpTables?: number;
  app?: AppSpec;
  /** Statement timeout for each check (default 60 s). */
  checkTimeoutMs?: number;
  /** For the app container's labels. */
  runId: string;
  client: string;
}

interface TableCount { staging: number | null; production: number | null }

export interface VerifyResult {
  ok: boolean;
  tables: number;
  counts: Record<string, TableCount>;
  checks: VerifyCheck[];
}

/** `schema.table` → `"schema"."table"` / `` `table` `` (names are validated by the config schema). */
function quoteIdent(engine: Staging['engine'], name: string): string {
  const q = engine === 'postgres' ? '"' : '`';
  return name.split('.').map((p) => `${q}${p.replaceAll(q, q + q)}${q}`).join('.');
}

/** Runs one SQL text in the staging database (inside the container) and returns rows of fields. */
async function stagingQuery(s: Staging, sql: string, opts: { timeoutMs?: number; signal?: AbortSignal; readOnly?: boolean } = {}): Promise<string[][]> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let cmd: string[];
  let env: string[];
  if (s.engine === 'postgres') {
    cmd = ['psql', '-X', '-q', '-At', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-U', s.user, '-d', s.database, '-c', sql];
    env = [`PGOPTIONS=-c statement_timeout=${timeoutMs}${opts.readOnly ? ' -c default_transaction_read_only=on' : ''}`];
  } else {
    cmd = ['mariadb', '--protocol=socket', '-uroot', '--batch', '--skip-column-names', '-e', `SET SESSION max_statement_time=${Math.max(1, Math.round(timeoutMs / 1000))}; ${opts.readOnly ? 'SET SESSION TRANSACTION READ ONLY; ' : ''}${sql}`, s.database];
    env = [`MYSQL_PWD=${s.password}`];
  }
  const r = await execIn(s.container, cmd, { env, signal: opts.signal, maxOutput: 256 * 1024 });
  if (r.exitCode !== 0) {
    const state = await describeContainerState(s);
    if (!state.running) throw new OperationError(`the staging container ${state.text}`);
    throw new OperationError((r.stderr.trim().split('\n').filter(Boolean).slice(-2).join(' ') || `exit code ${r.exitCode ?? 'unknown'}`).replace(/^psql:[^:]*:\d+: /, '').slice(0, 400));
  }
  return r.stdout.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
}

const TRUE = new Set(['t', 'true', '1', 'yes', 'on']);

/** Base tables of the staging database: `schema.table` (postgres) or `table` (mysql). */
async function listTables(s: Staging, signal?: AbortSignal): Promise<string[]> {
  const sql = s.engine === 'postgres'
    ? `SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg_toast%' ORDER BY 1`
    : `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1`;
  return (await stagingQuery(s, sql, { signal })).map((r) => r[0]!);
}

/** The staging name of a verify.tables entry (`lotes` → `public.lotes`), if it exists. */
function resolveTable(engine: Staging['engine'], existing: string[], name: string): string | undefined {
  if (engine === 'mysql') return existing.find((t) => t === name || t.toLowerCase() === name.toLowerCase());
  if (name.includes('.')) return existing.find((t) => t === name);
  return existing.find((t) => t === `public.${name}`) ?? existing.find((t) => t.split('.')[1] === name);
}

/**
 * Proves the restored data is there: table count (>= minTables and >= the dump's CREATE TABLE count),
 * row counts of verify.tables equal to production's at backup time, the user's SQL checks, and
 * optionally that the application starts against the staging database and answers 200.
 */
export async function verifyStaging(s: Staging, spec: VerifySpec, opts: { signal?: AbortSignal } = {}): Promise<VerifyResult> {
  const checks: VerifyCheck[] = [];
  const counts: Record<string, TableCount> = {};
  const existing = await listTables(s, opts.signal);
  const tables = existing.length;
  const minNeeded = Math.max(spec.minTables, spec.dumpTables ?? 0);
  checks.push({
    name: 'tables',
    ok: tables >= minNeeded && tables > 0,
    detail: `${tables} tables restored${spec.dumpTables != null ? ` (dump: ${spec.dumpTables} CREATE TABLE)` : ''}${spec.minTables ? `, minimum ${spec.minTables}` : ''}`,
  });

  if (spec.tables.length) {
    const found = spec.tables.map((t) => ({ t, real: resolveTable(s.engine, existing, t) }));
    const present = found.filter((f) => f.real);
    const stagingCounts = new Map<string, number>();
    if (present.length) {
      const sql = present.map((f, i) => `SELECT ${i}, COUNT(*) FROM ${quoteIdent(s.engine, f.real!)}`).join(' UNION ALL ');
      for (const row of await stagingQuery(s, sql, { signal: opts.signal, timeoutMs: spec.checkTimeoutMs })) stagingCounts.set(present[Number(row[0])]!.t, Number(row[1]));
    }
    for (const { t } of found) {
      const staging = stagingCounts.has(t) ? stagingCounts.get(t)! : null;
      const production = spec.productionCounts && Object.prototype.hasOwnProperty.call(spec.productionCounts, t) ? Number(spec.productionCounts[t]) : null;
      counts[t] = { staging, production };
      if (staging === null) checks.push({ name: `rows ${t}`, ok: false, detail: 'table missing in the restored database' });
      else if (production === null) checks.push({ name: `rows ${t}`, ok: true, detail: `${staging} rows (no production count in the manifest)` });
      else checks.push({ name: `rows ${t}`, ok: staging === production, detail: staging === production ? `${staging} rows = production` : `${staging} rows, production had ${production}` });
    }
  }

  for (const c of spec.checks) {
    try {
      const rows = await stagingQuery(s, c.sql, { signal: opts.signal, timeoutMs: spec.checkTimeoutMs, readOnly: true });
      const v = rows[0]?.[0];
      const ok = v !== undefined && TRUE.has(v.trim().toLowerCase());
      checks.push({ name: c.name, ok, detail: ok ? 'true' : v === undefined ? 'returned no rows (must return true)' : `returned ${JSON.stringify(v.slice(0, 60))} (must return true)` });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      checks.push({ name: c.name, ok: false, detail: errorMessage(err).slice(0, 300) });
    }
  }

  if (spec.app) checks.push(await appCheck(s, spec.app, spec, opts.signal));

  return { ok: checks.every((c) => c.ok), tables, counts, checks };
}

/**
 * `${STAGING_DB_*}` placeholders of restoreTest.app.env. The application container shares the staging
 * database's network namespace (no network of its own), so the database is at 127.0.0.1:<port>.
 * `${STAGING_DB_PASSWORD_FILE}` is the path of a 0600 file holding the password (put into the app
 * container before it starts); `${STAGING_DB_PASSWORD}` and `${STAGING_DB_URL}` put the password itself
 * into the app container's environment (visible to `docker inspect` of that container).
 */
export function appEnv(s: Staging, env: Record<string, string>): string[] {
  const scheme = s.engine === 'postgres' ? 'postgresql' : 'mysql';
  const vars: Record<string, string> = {
    STAGING_DB_HOST: '127.0.0.1',
    STAGING_DB_PORT: String(s.innerPort),
    STAGING_DB_NAME: s.database,
    STAGING_DB_USER: s.user,
    STAGING_DB_PASSWORD: s.password,
    STAGING_DB_PASSWORD_FILE: APP_SECRET_FILE,
    STAGING_DB_URL: `${scheme}://${encodeURIComponent(s.user)}:${encodeURIComponent(s.password)}@127.0.0.1:${s.innerPort}/${encodeURIComponent(s.database)}`,
  };
  return Object.entries(env).map(([k, v]) => `${k}=${v.replace(/\$\{(STAGING_DB_[A-Z_]+)\}/g, (m, name: string) => vars[name] ?? m)}`);
}

const APP_SECRET_FILE = `${SECRET_DIR}/password`;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One HTTP/1.0 GET to 127.0.0.1:<port><path> from inside the staging database container (bash's
 * /dev/tcp; host, port and path are arguments, not part of the script): prints the status line.
 */
const HTTP_PROBE = 'exec 3<>"/dev/tcp/$1/$2" || exit 7; printf \'GET %s HTTP/1.0\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n\' "$3" >&3; IFS= read -r -t 5 line <&3 || exit 8; printf \'%s\\n\' "$line"';

async function httpStatus(s: Staging, port: number, path: string, signal?: AbortSignal): Promise<{ status?: number; error?: string }> {
  const r = await execIn(s.container, ['bash', '-c', HTTP_PROBE, 'http-probe', '127.0.0.1', String(port), path], { signal, maxOutput: 1024 });
  if (r.exitCode === 127 || r.exitCode === 126) return { error: `the staging image ${s.image} has no bash to probe the app with` };
  if (r.exitCode === 7) return { error: 'connection refused' };
  if (r.exitCode === 8) return { error: 'no answer within 5 s' };
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(r.stdout);
  if (r.exitCode !== 0 || !m) return { error: r.stderr.trim().split('\n').pop() || `no HTTP status line (${JSON.stringify(r.stdout.slice(0, 60))})` };
  return { status: Number(m[1]) };
}

/**
 * Starts the application image in the staging database's network namespace (no network of its own, no
 * route out, no published port), with the same hardening and limits as the database container (memory,
 * CPU, process count, CapDrop ALL plus what a root-started image needs, no-new-privileges), pointed at
 * the staging database, and waits for `path` to answer 200, asked from inside the database container
 * through `docker exec` ("the site loads"). The container is added to `s.extra` so that destroyStaging
 * removes it whatever happens.
 */
async function appCheck(s: Staging, app: AppSpec, spec: VerifySpec, signal?: AbortSignal): Promise<VerifyCheck> {
  const name = `site loads (${app.image} ${app.path})`;
  if (app.port === s.innerPort) {
    return { name, ok: false, detail: `restoreTest.app.port ${app.port} is the staging database's own port (the application shares its network namespace): use another port` };
  }
  let container: Docker.Container;
  let imageUser: string | undefined;
  let imageId: string | undefined;
  try {
    const image = await s.docker.getImage(app.image).inspect();
    imageUser = image.Config?.User;
    imageId = image.Id;
    container = await s.docker.createContainer({
      name: `${s.containerName}-app`.slice(0, 63),
      Image: app.image,
      Env: appEnv(s, app.env),
      Labels: stagingLabels(spec.runId, spec.client, 'app', s.stateId),
      HostConfig: hardenedHostConfig(s.limits, capsForUser(imageUser), `container:${s.container.id}`),
    });
  } catch (err) {
    return { name, ok: false, detail: `cannot create the app container: ${errorMessage(err)}` };
  }
  (s.extra ??= []).push(container);
  const deadline = Date.now() + app.timeoutMs;
  const path = app.path.startsWith('/') ? app.path : `/${app.path}`;
  let last = 'no answer';
  try {
    if (Object.values(app.env).some((v) => v.includes('${STAGING_DB_PASSWORD_FILE}'))) {
      await putSecretFile(container, SECRET_DIR, 'password', s.password, await containerOwner(container, imageUser, imageId));
    }
    await container.start();
    for (;;) {
      signal?.throwIfAborted();
      const r = await httpStatus(s, app.port, path, signal);
      if (r.status === 200) return { name, ok: true, detail: `HTTP 200 from ${app.path}` };
      last = r.status !== undefined ? `HTTP ${r.status}` : r.error!;
      const st = await describeContainerState({ container });
      if (!st.running) {
        const logs = await containerLogTail({ container }, 5);
        return { name, ok: false, detail: `the app container ${st.text}${logs ? `: ${logs.split('\n').slice(-3).join(' | ').slice(0, 300)}` : ''}` };
      }
      if (Date.now() >= deadline) break;
      await sleep(250);
    }
    return { name, ok: false, detail: `${app.path} did not answer 200 within ${Math.round(app.timeoutMs / 1000)} s (last: ${last})` };
  } catch (err) {
    if (signal?.aborted) throw err;
    return { name, ok: false, detail: `cannot start the app container: ${errorMessage(err)}` };
  }
}
