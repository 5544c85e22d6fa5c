import type { DbTarget } from '../db-url.js';
import { OperationError, errorMessage } from '../errors.js';
import { listTables, myQualified, rows, withMysql } from './mysql-admin.js';

/**
 * Verification of a MySQL/MariaDB restore: row counts of verify.tables against the backup's manifest
 * (rowCounts, taken by mysqlRowCounts just before mysqldump), CHECKSUM TABLE of every table (against a
 * reference: the verified restored copy, or a staging copy), and verify.checks (SQL whose first column of
 * the first row must be true) on production after the switch.
 */

interface RowCountCheck { table: string; expected: number | null; got: number | null; ok: boolean }

export interface CopyVerification {
  ok: boolean;
  /** Tables (base tables, sequences) in the database. */
  tables: number;
  counts: RowCountCheck[];
  /** What failed, in words (empty when ok). */
  problems: string[];
}

/**
 * Row counts of `tables` (verify.tables entries: `t` or `db.t`, counted in `db`) against `expected`
 * (manifest.rowCounts); the table count against the dump's CREATE TABLE count (`dumpTables`). A table of
 * verify.tables without a manifest count is counted and passes; one missing in `db` fails.
 */
export async function verifyCopy(t: DbTarget, db: string, o: { tables: string[]; expected?: Record<string, number>; dumpTables?: number | null }): Promise<CopyVerification> {
  return withMysql(t, async (c) => {
    const existing = (await listTables(c, db)).map((x) => x.name);
    const counts: RowCountCheck[] = [];
    const problems: string[] = [];
    for (const entry of o.tables) {
      const name = entry.split('.').pop()!;
      const expected = o.expected && Object.prototype.hasOwnProperty.call(o.expected, entry) ? Number(o.expected[entry]) : null;
      if (!existing.includes(name)) {
        counts.push({ table: entry, expected, got: null, ok: false });
        problems.push(`table ${entry} is missing`);
        continue;
      }
      const n = Number((await rows<{ n: string }>(c, `SELECT COUNT(*) AS n FROM ${myQualified(db, name)}`))[0]!.n);
      const ok = expected === null || n === expected;
      counts.push({ table: entry, expected, got: n, ok });
      if (!ok) problems.push(`${entry}: ${n} rows, the backup's manifest says ${expected}`);
    }
    if (typeof o.dumpTables === 'number' && existing.length < o.dumpTables) problems.push(`${existing.length} tables restored, the backup has ${o.dumpTables} CREATE TABLE`);
    return { ok: problems.length === 0, tables: existing.length, counts, problems };
  });
}

interface TableChecksum { checksum: string | null; engine: string | null; rowFormat: string | null }

export interface DatabaseChecksums {
  /** `SELECT VERSION()`: CHECKSUM TABLE values are only comparable between like servers. */
  server: string;
  database: string;
  tables: Record<string, TableChecksum>;
  at: string;
}

/**
 * `CHECKSUM TABLE … EXTENDED` of every base table of `db` (or of `tables`), with the engine, row format and
 * server version it depends on (so that compareChecksums compares like with like).
 */
export async function checksumTables(t: DbTarget, db: string, opts: { tables?: string[] } = {}): Promise<DatabaseChecksums> {
  return withMysql(t, async (c) => {
    const server = (await rows<{ v: string }>(c, 'SELECT VERSION() AS v'))[0]!.v;
    const infos = (await listTables(c, db)).filter((x) => x.type !== 'SEQUENCE' && (!opts.tables || opts.tables.includes(x.name)));
    const tables: Record<string, TableChecksum> = {};
    for (const x of infos) tables[x.name] = { checksum: null, engine: x.engine, rowFormat: x.rowFormat };
    for (let i = 0; i < infos.length; i += 50) {
      const batch = infos.slice(i, i + 50);
      const r = await rows<{ Table: string; Checksum: string | number | null }>(c, `CHECKSUM TABLE ${batch.map((x) => myQualified(db, x.name)).join(', ')} EXTENDED`);
      for (const row of r) {
        const name = row.Table.slice(db.length + 1);
        if (tables[name]) tables[name]!.checksum = row.Checksum === null ? null : String(row.Checksum);
      }
    }
    return { server, database: db, tables, at: new Date().toISOString() };
  });
}

type ChecksumStatus = 'match' | 'differs' | 'missing' | 'extra' | 'not-comparable';

export interface ChecksumComparison {
  ok: boolean;
  tables: Array<{ table: string; status: ChecksumStatus; reference: string | null; actual: string | null; detail?: string }>;
  /** Differences in words (empty when ok). */
  problems: string[];
}

const minor = (v: string) => /^(\d+\.\d+)/.exec(v)?.[1] ?? v;

/**
 * `actual` against `reference`, table by table: a checksum that differs, a table missing from `actual` or
 * one `actual` has in addition fails. A table whose engine or row format differs, or two servers of a
 * different major.minor version, are 'not-comparable' (CHECKSUM TABLE depends on them) and do not fail.
 */
export function compareChecksums(reference: DatabaseChecksums, actual: DatabaseChecksums): ChecksumComparison {
  const out: ChecksumComparison['tables'] = [];
  const problems: string[] = [];
  const sameServer = minor(reference.server) === minor(actual.server);
  for (const [table, ref] of Object.entries(reference.tables)) {
    const got = actual.tables[table];
    if (!got) { out.push({ table, status: 'missing', reference: ref.checksum, actual: null }); problems.push(`${table} is missing`); continue; }
    if (!sameServer || ref.engine !== got.engine || ref.rowFormat !== got.rowFormat) {
      out.push({ table, status: 'not-comparable', reference: ref.checksum, actual: got.checksum, detail: !sameServer ? `server ${reference.server} vs ${actual.server}` : `${ref.engine}/${ref.rowFormat} vs ${got.engine}/${got.rowFormat}` });
      continue;
    }
    if (ref.checksum !== got.checksum) { out.push({ table, status: 'differs', reference: ref.checksum, actual: got.checksum }); problems.push(`${table}: checksum ${got.checksum}, expected ${ref.checksum}`); continue; }
    out.push({ table, status: 'match', reference: ref.checksum, actual: got.checksum });
  }
  for (const table of Object.keys(actual.tables)) {
    if (!reference.tables[table]) { out.push({ table, status: 'extra', reference: null, actual: actual.tables[table]!.checksum }); problems.push(`${table} is not in the reference`); }
  }
  return { ok: problems.length === 0, tables: out, problems };
}

export interface CheckResult { name: string; ok: boolean; detail: string }

const TRUE = new Set(['t', 'true', '1', 'yes', 'on']);

/**
 * verify.checks on `db`: each SQL runs in a read-only transaction with a time limit; it passes when its
 * first row's first column is true (1, 'true', 't', 'yes', 'on'). An error is a failed check, not a throw.
 */
export async function runChecks(t: DbTarget, db: string, checks: Array<{ name: string; sql: string }>, opts: { timeoutMs?: number } = {}): Promise<{ ok: boolean; checks: CheckResult[] }> {
  const out: CheckResult[] = [];
  if (checks.length === 0) return { ok: true, checks: out };
  const seconds = Math.max(1, Math.round((opts.timeoutMs ?? 60_000) / 1000));
  await withMysql(t, async (c) => {
    await c.query(`SET SESSION max_statement_time = ${seconds}`).catch(() => c.query(`SET SESSION max_execution_time = ${seconds * 1000}`)).catch(() => undefined);
    for (const check of checks) {
      try {
        await c.query('START TRANSACTION READ ONLY');
        const [result] = await c.query({ sql: check.sql, rowsAsArray: true });
        await c.query('ROLLBACK');
        const first = Array.isArray(result) ? (result[0] as unknown[] | undefined) : undefined;
        const v = first?.[0];
        const text = v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
        const ok = text !== undefined && TRUE.has(text.trim().toLowerCase());
        out.push({ name: check.name, ok, detail: ok ? 'true' : text === undefined ? 'returned no rows (must return true)' : `returned ${JSON.stringify(text.slice(0, 60))} (must return true)` });
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        out.push({ name: check.name, ok: false, detail: errorMessage(err).slice(0, 300) });
      }
    }
  }, { database: db }).catch((err: unknown) => { throw new OperationError(`running verify.checks on "${db}": ${errorMessage(err)}`); });
  return { ok: out.every((x) => x.ok), checks: out };
}
