import { pgConnArgs, pgEnv, type DbTarget } from '../db-url.js';
import { spawnDump, type DumpProcess } from './process.js';

/** application_name of the pg_dump session (tests and DBAs find it in pg_stat_activity). */
const PG_DUMP_APP_NAME = 'backup-bot pg_dump';

export interface PgDumpOptions {
  format: 'plain' | 'custom';
  /** gzip level of the custom archive (`--compress`); plain output is compressed by the pipeline. */
  compressLevel?: number;
  /** An exported snapshot (`pg_export_snapshot()`) so the dump sees exactly what the row counts saw. */
  snapshot?: string;
  program?: string;
}

export function pgDumpArgs(t: DbTarget, o: PgDumpOptions): string[] {
  const args = [...pgConnArgs(t), '--no-password', `--format=${o.format}`];
  if (o.format === 'custom') args.push(`--compress=${o.compressLevel ?? 6}`);
  if (o.snapshot) args.push(`--snapshot=${o.snapshot}`);
  return args;
}

/**
 * `pg_dump` streaming to stdout (arguments as an array, the password only in PGPASSWORD).
 * Call checkPgDumpCompatible (./versions.ts) first.
 */
export function spawnPgDump(t: DbTarget, o: PgDumpOptions): DumpProcess {
  const env = { ...pgEnv(t), PGAPPNAME: PG_DUMP_APP_NAME };
  return spawnDump(o.program ?? 'pg_dump', pgDumpArgs(t, o), env);
}
