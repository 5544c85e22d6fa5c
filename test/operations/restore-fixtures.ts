import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { runProgram } from '../../src/core/run-program.js';
import { parseDbUrl, pgConnArgs, pgEnv } from '../../src/core/db-url.js';
import { insertBackup, type BackupRow } from '../../src/store/backup-register.js';
import { requestRestore, REQUESTER_CHECKLIST_IDS } from '../../src/operations/request-restore.js';
import { decideRestore } from '../../src/operations/decide-restore.js';
import type { Queryable } from '../../src/store/queryable.js';
import { SAMPLE_TABLES } from '../../src/core/demo-database.js';
import { withPg } from '../helpers/db.js';
import type { TestContext } from '../helpers/context.js';

/**
 * A verified backup of a PostgreSQL database, written by pg_dump into a local storage directory and
 * registered like the backup engine does (sha256 of the stored file, manifest with rowCounts).
 */
export async function makeVerifiedBackup(db: Queryable, o: { client?: string; url: string; storageDir: string; storageName?: string; format?: 'plain' | 'custom'; takenAt: Date; tables?: string[] }): Promise<BackupRow> {
  const client = o.client ?? 'demo';
  const format = o.format ?? 'plain';
  const t = parseDbUrl(o.url, 'postgres');
  const stamp = o.takenAt.toISOString().replace(/T/, '_').replace(/:/g, '-').slice(0, 19);
  const file = `backup_${stamp}${format === 'custom' ? '.dump' : '.sql.gz'}`;
  const key = `${client}/${file}`;
  const path = join(o.storageDir, key);
  await mkdir(dirname(path), { recursive: true });
  const args = [...pgConnArgs(t), '--no-password', ...(format === 'custom' ? ['--format=custom', '--file', path] : ['--file', `${path}.sql`])];
  const r = await runProgram('pg_dump', args, { env: pgEnv(t) });
  if (r.code !== 0) throw new Error(`pg_dump failed: ${r.stderr}`);
  if (format === 'plain') await writeFile(path, gzipSync(await readFile(`${path}.sql`)));
  const content = await readFile(path);
  const sha256 = createHash('sha256').update(content).digest('hex');
  const tables = o.tables ?? SAMPLE_TABLES;
  const rowCounts = await withPg(o.url, async (c) => {
    const out: Record<string, number> = {};
    for (const tb of tables) out[tb] = Number((await c.query(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(tb)}`)).rows[0].n);
    return out;
  });
  return insertBackup(db, {
    client, takenAt: o.takenAt, type: 'manual', file, key, format, engine: 'postgres', sizeBytes: content.length, verified: true, verifiedAt: o.takenAt,
    executedBy: 'test', result: 'OK', sha256, tablesCounted: 16, locations: [{ destination: o.storageName ?? 'local', ok: true, key }],
    manifest: { client, engine: 'postgres', format, type: 'manual', file, key, sha256, sizeBytes: content.length, tables: 16, rowCounts },
  });
}

/** Per-table checksum (md5 of the ordered rows as text) of every table in the public schema. */
export async function tableChecksums(url: string): Promise<Record<string, string>> {
  return withPg(url, async (c) => {
    const tables = (await c.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.tablename as string);
    const out: Record<string, string> = {};
    for (const t of tables) {
      const q = pg.escapeIdentifier(t);
      const r = await c.query(`SELECT count(*) AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM ${q} x`);
      out[t] = `${r.rows[0].n}:${r.rows[0].h}`;
    }
    return out;
  });
}

/** Rows written in production after the backup (the data a restore loses). */
export async function writeAfterBackup(url: string): Promise<void> {
  await withPg(url, async (c) => {
    await c.query(`INSERT INTO movimientos (lote_id, tipo, cantidad, nota) SELECT 1, 'ingreso', g, 'after backup' FROM generate_series(1, 25) g`);
    await c.query(`UPDATE configuracion SET valor = 'changed after backup' WHERE clave = 'empresa'`);
    await c.query(`INSERT INTO alertas (mensaje, nivel) VALUES ('after backup', 'alta')`);
  });
}

/**
 * A production restore of client "demo" requested by the operator and approved (signed) by the System Owner, or by
 * the IT Manager for a partial one; throws if either is refused.
 */
export async function approvedRequest(ctx: TestContext, backup: BackupRow, scope: 'full' | 'partial' = 'full', tables: string[] = [], reason = 'bad data import') {
  const r = await requestRestore(ctx, { client: 'demo', backupId: backup.id, scope, tables, reason, checklist: REQUESTER_CHECKLIST_IDS, requestedBy: 'U0OPER', requestedByName: 'Olga Operator' });
  if (!r.ok) throw new Error(r.message);
  const approver = scope === 'full' ? { userId: 'U0OWNER', userName: 'Sofía Owner' } : { userId: 'U0ITMGR', userName: 'Iván IT Manager' };
  const d = await decideRestore(ctx, { approvalId: r.approval.id, ...approver, meaning: 'approved', typedClient: 'demo', statementTicked: true });
  if (!d.ok) throw new Error(d.message);
  return d.approval;
}
