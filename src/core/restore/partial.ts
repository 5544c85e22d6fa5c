import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pg from 'pg';
import { pgConnArgs, pgEnv, type DbTarget } from '../db-url.js';
import { OperationError } from '../errors.js';
import { runProgram } from '../run-program.js';
import { runPgProgram } from './load-backup.js';
import { createPrivateFile, privateTempDir, writePrivateFile } from '../private-files.js';
import { withDb } from './pg-admin.js';

/**
 * Partial restore (SOP-001 9.1, IT Manager approval): chosen tables of a custom-format (-Fc) backup replace
 * those tables in production in ONE transaction (truncate + reload data + owned sequences). Refused before
 * anything changes when another table's foreign key references a chosen table (its rows would point at rows
 * that the restore removes or renumbers).
 */

export interface QualifiedTable { schema: string; name: string; qualified: string }

export type PartialCheck =
  | { ok: true; tables: QualifiedTable[] }
  | { ok: false; reason: string };

/** Resolves the chosen tables in the production database and refuses unsafe foreign keys. */
export async function checkPartialRestore(c: pg.Client, chosen: string[]): Promise<PartialCheck> {
  if (chosen.length === 0) return { ok: false, reason: 'no tables chosen (a partial restore needs at least one table)' };
  const tables: QualifiedTable[] = [];
  const oids: number[] = [];
  for (const t of chosen) {
    const ident = t.split('.').map((p) => pg.escapeIdentifier(p)).join('.');
    const r = await c.query<{ oid: number | null; schema: string | null; name: string | null }>(
      `SELECT cl.oid::int AS oid, n.nspname AS schema, cl.relname AS name FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE cl.oid = to_regclass($1) AND cl.relkind IN ('r', 'p')`,
      [ident],
    );
    const row = r.rows[0];
    if (!row?.oid) return { ok: false, reason: `table "${t}" does not exist in the production database` };
    if (oids.includes(row.oid)) continue;
    oids.push(row.oid);
    tables.push({ schema: row.schema!, name: row.name!, qualified: `${pg.escapeIdentifier(row.schema!)}.${pg.escapeIdentifier(row.name!)}` });
  }
  const fk = await c.query<{ child: string; parent: string; constraint: string }>(
    `SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent, conname AS constraint FROM pg_constraint
      WHERE contype = 'f' AND confrelid = ANY($1::oid[]) AND NOT (conrelid = ANY($1::oid[])) ORDER BY 2, 1`,
    [oids],
  );
  if (fk.rows.length > 0) {
    const list = fk.rows.map((r) => `${r.child} → ${r.parent} (${r.constraint})`).join(', ');
    return {
      ok: false,
      reason: `refused: foreign keys from tables outside the restore reference the chosen tables: ${list}. Replacing those tables could leave ` +
        `rows pointing at rows that no longer exist. Include the referencing tables too, or restore the whole database (System Owner approval).`,
    };
  }
  return { ok: true, tables };
}

/** Parents before children among the chosen tables (so row-by-row FK checks pass while data is loaded). */
async function fkOrder(c: pg.Client, tables: QualifiedTable[]): Promise<QualifiedTable[]> {
  const r = await c.query<{ child: string; parent: string }>(
    `SELECT n1.nspname || '.' || c1.relname AS child, n2.nspname || '.' || c2.relname AS parent FROM pg_constraint k
       JOIN pg_class c1 ON c1.oid = k.conrelid JOIN pg_namespace n1 ON n1.oid = c1.relnamespace
       JOIN pg_class c2 ON c2.oid = k.confrelid JOIN pg_namespace n2 ON n2.oid = c2.relnamespace
      WHERE k.contype = 'f' AND k.conrelid <> k.confrelid`,
  );
  const key = (t: QualifiedTable) => `${t.schema}.${t.name}`;
  const inSet = new Set(tables.map(key));
  const parents = new Map<string, Set<string>>();
  for (const e of r.rows) {
    if (!inSet.has(e.child) || !inSet.has(e.parent)) continue;
    if (!parents.has(e.child)) parents.set(e.child, new Set());
    parents.get(e.child)!.add(e.parent);
  }
  const out: QualifiedTable[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const byKey = new Map(tables.map((t) => [key(t), t]));
  const visit = (k: string) => {
    if (done.has(k) || visiting.has(k)) return;
    visiting.add(k);
    for (const p of parents.get(k) ?? []) visit(p);
    visiting.delete(k);
    done.add(k);
    out.push(byKey.get(k)!);
  };
  for (const t of tables) visit(key(t));
  return out;
}

/** Sequences owned by (serial/identity columns of) the tables: their value is restored with the data. */
async function ownedSequences(c: pg.Client, tables: QualifiedTable[]): Promise<Array<{ schema: string; name: string }>> {
  const r = await c.query<{ schema: string; name: string }>(
    `SELECT sn.nspname AS schema, s.relname AS name FROM pg_depend d
       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace
       JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
      WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        AND (tn.nspname, t.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return r.rows;
}

const TOC_LINE = /^(\d+); (\d+) (\d+) (TABLE DATA|SEQUENCE SET) (\S+) (\S+) (\S+)/;

/**
 * Replaces the data of `chosen` tables from a custom-format archive in one transaction. Checks foreign keys
 * first (refuses with the reason, nothing changed). Returns the tables restored in load order.
 */
export async function restoreTables(archive: string, target: DbTarget, chosen: string[]): Promise<QualifiedTable[]> {
  const { check, order, seqs } = await withDb(target, target.database, async (c) => {
    const check = await checkPartialRestore(c, chosen);
    if (!check.ok) return { check, order: [] as QualifiedTable[], seqs: [] as Array<{ schema: string; name: string }> };
    return { check, order: await fkOrder(c, check.tables), seqs: await ownedSequences(c, check.tables) };
  });
  if (!check.ok) throw new OperationError(check.reason);

  const toc = await runProgram('pg_restore', ['--list', archive], { env: pgEnv(target), timeoutMs: 120_000 });
  if (toc.code !== 0) throw new OperationError(`pg_restore --list failed: ${toc.stderr.trim().slice(0, 400) || `exit code ${toc.code}`} (a partial restore needs a custom-format backup)`);
  const entries = toc.stdout.split('\n').map((l) => ({ line: l, m: TOC_LINE.exec(l) })).filter((e) => e.m);
  const lines: string[] = [];
  for (const t of order) {
    const e = entries.find((x) => x.m![4] === 'TABLE DATA' && x.m![5] === t.schema && x.m![6] === t.name);
    if (!e) throw new OperationError(`table ${t.schema}.${t.name} has no data in the backup (it was not in the database when the backup was taken)`);
    lines.push(e.line);
  }
  for (const s of seqs) {
    const e = entries.find((x) => x.m![4] === 'SEQUENCE SET' && x.m![5] === s.schema && x.m![6] === s.name);
    if (e) lines.push(e.line);
  }

  const dir = await privateTempDir('backup-bot-partial-');
  try {
    const listFile = join(dir, 'restore.list');
    const sqlFile = join(dir, 'data.sql');
    await writePrivateFile(listFile, lines.join('\n') + '\n');
    await createPrivateFile(sqlFile); // pg_restore --file truncates it and keeps the 0600 mode
    const gen = await runProgram('pg_restore', ['--use-list', listFile, '--file', sqlFile, archive], { env: pgEnv(target), timeoutMs: 3_600_000 });
    if (gen.code !== 0) throw new OperationError(`pg_restore failed to read the tables from the backup: ${gen.stderr.trim().slice(0, 400) || `exit code ${gen.code}`}`);
    const all = order.map((t) => t.qualified).join(', ');
    const prelude = `SET lock_timeout = '60s';\nLOCK TABLE ${all} IN ACCESS EXCLUSIVE MODE;\nTRUNCATE TABLE ONLY ${all};\n`;
    const input = Readable.from((async function* () {
      yield Buffer.from(prelude);
      for await (const chunk of createReadStream(sqlFile)) yield chunk as Buffer;
    })());
    await runPgProgram('psql', [...pgConnArgs(target), '-X', '--quiet', '--no-password', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', '-'], target, input);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return order;
}
