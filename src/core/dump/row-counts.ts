import pg from 'pg';
import { runProgram } from '../run-program.js';
import { mysqlConnArgs, mysqlEnv, type DbTarget } from '../db-url.js';
import { OperationError } from '../errors.js';
import { redactSecrets } from '../redact.js';

/**
 * Production row counts of `verify.tables`, recorded in the manifest (`rowCounts`) for the restore test.
 *
 * PostgreSQL: EXACT for the dump. A REPEATABLE READ READ ONLY transaction exports its snapshot
 * (`pg_export_snapshot()`), counts `count(*)` in it, and stays open while `pg_dump --snapshot=<id>` runs,
 * so the counts and the dump see the same data.
 * MySQL/MariaDB: counted in ONE statement (one consistent read view) just BEFORE mysqldump starts its own
 * `--single-transaction` snapshot: exact unless rows are written in between.
 * Tables that do not exist are reported in `missing`, not counted.
 */
export interface RowCounts { counts: Record<string, number>; missing: string[] }

export interface PgSnapshot extends RowCounts {
  snapshot: string;
  /** Ends the transaction (call after pg_dump exited). */
  release(): Promise<void>;
}

function pgQualified(name: string): string {
  return name.split('.').map((p) => pg.escapeIdentifier(p)).join('.');
}

export async function openPgSnapshot(t: DbTarget, tables: string[]): Promise<PgSnapshot> {
  const c = new pg.Client({ host: t.host, port: t.port, user: t.user, password: t.password, database: t.database, connectionTimeoutMillis: 10_000, application_name: 'backup-bot counts' });
  c.on('error', () => {});
  try {
    await c.connect();
  } catch (err) {
    await c.end().catch(() => {});
    throw new OperationError(`cannot connect to postgres database "${t.database}" on ${t.host}:${t.port}: ${redactSecrets((err as Error).message)}`);
  }
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snap = await c.query<{ s: string }>('SELECT pg_export_snapshot() AS s');
    const counts: Record<string, number> = {};
    const missing: string[] = [];
    for (const table of tables) {
      const q = pgQualified(table);
      const ex = await c.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [q]);
      if (!ex.rows[0]?.r) { missing.push(table); continue; }
      const r = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${q}`);
      counts[table] = Number(r.rows[0]!.n);
    }
    return {
      snapshot: snap.rows[0]!.s,
      counts,
      missing,
      async release() {
        await c.query('COMMIT').catch(() => {});
        await c.end().catch(() => {});
      },
    };
  } catch (err) {
    await c.end().catch(() => {});
    throw new OperationError(`counting rows in postgres database "${t.database}": ${redactSecrets((err as Error).message)}`);
  }
}

const myIdent = (s: string) => '`' + s.replace(/`/g, '``') + '`';
const myString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export async function mysqlRowCounts(t: DbTarget, tables: string[], program = 'mysql'): Promise<RowCounts> {
  if (tables.length === 0) return { counts: {}, missing: [] };
  const run = async (sql: string) => {
    const r = await runProgram(program, [...mysqlConnArgs(t), '--batch', '--skip-column-names', '--connect-timeout=10', '-e', sql, '--', t.database], { env: mysqlEnv(t), timeoutMs: 10 * 60_000 });
    if (r.code !== 0) throw new OperationError(`counting rows in mysql database "${t.database}" on ${t.host}:${t.port}: ${redactSecrets(r.stderr.trim())}`);
    return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
  };
  const names = tables.map((x) => x.split('.').pop()!);
  const existing = new Set((await run(`SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (${names.map(myString).join(',')})`)).map((r) => r[0]!));
  const present = tables.filter((x) => existing.has(x.split('.').pop()!));
  const counts: Record<string, number> = {};
  if (present.length) {
    const rows = await run(present.map((x) => `SELECT ${myString(x)}, COUNT(*) FROM ${x.split('.').map(myIdent).join('.')}`).join(' UNION ALL '));
    for (const [name, n] of rows) counts[name!] = Number(n);
  }
  return { counts, missing: tables.filter((x) => !present.includes(x)) };
}
