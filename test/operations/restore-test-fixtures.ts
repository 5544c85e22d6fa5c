/**
 * Backups for restore-test tests, made the way runBackup (issue 3) makes them: pg_dump → gzip →
 * primary storage, plus a backup_register row whose manifest follows the brief's contract
 * (sha256, sizeBytes, tables, serverVersion, rowCounts of verify.tables counted at backup time).
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import Docker from 'dockerode';
import pg from 'pg';
import type { Context } from '../../src/context.js';
import { insertBackup, type BackupRow } from '../../src/store/backup-register.js';
import { stateIdOf } from '../../src/core/staging/labels.js';

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function pgDump(url: string, args: string[] = []): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let err = '';
    const p = spawn('pg_dump', [...args, '--dbname', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (c: Buffer) => chunks.push(c));
    p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`pg_dump exited ${code}: ${err}`))));
  });
}

export async function countRows(url: string, tables: string[]): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: Record<string, number> = {};
    for (const t of tables) out[t] = Number((await c.query(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(t)}`)).rows[0].n);
    return out;
  } finally {
    await c.end();
  }
}

export interface StoredTestBackup { row: BackupRow; body: Buffer; key: string }

/**
 * Stores `body` (already compressed as it should be) under a fresh key and registers it.
 * `manifestBody` lets a test record the manifest of different bytes (a file corrupted after the backup).
 */
export async function storeBackup(ctx: Context, o: { client: string; body: Buffer; manifestBody?: Buffer; format?: 'plain' | 'custom'; tables?: number; rowCounts?: Record<string, number>; serverVersion?: string; takenAt?: Date; verified?: boolean }): Promise<StoredTestBackup> {
  const takenAt = o.takenAt ?? new Date();
  const ext = o.format === 'custom' ? 'dump' : 'sql.gz';
  const file = `backup_${takenAt.toISOString().slice(0, 19).replace('T', '_').replaceAll(':', '-')}_${randomBytes(2).toString('hex')}.${ext}`;
  const key = `${o.client}/${file}`;
  const destination = ctx.config.clients[o.client]!.storage[0]!;
  await ctx.storage(destination).put(key, Readable.from([o.body]));
  const m = o.manifestBody ?? o.body;
  const manifest = {
    client: o.client, engine: 'postgres', format: o.format ?? 'plain', type: 'manual', file, key, sha256: sha256(m), sizeBytes: m.length,
    tables: o.tables ?? 0, serverVersion: o.serverVersion ?? '15.0', dumpToolVersion: '15.0', startedAt: takenAt.toISOString(), finishedAt: takenAt.toISOString(),
    rowCounts: o.rowCounts ?? {}, rowCountsMode: 'snapshot', files: [], gzipLevel: 6, destinations: [destination],
  };
  const row = await ctx.store.backups.insert({
    client: o.client, takenAt, type: 'manual', file, key, format: o.format ?? 'plain', engine: 'postgres', sizeBytes: m.length,
    verified: o.verified ?? true, verifiedAt: takenAt, executedBy: 'test', result: 'OK', sha256: manifest.sha256, tablesCounted: manifest.tables,
    locations: [{ destination, ok: true, key }], manifest,
  });
  return { row, body: o.body, key };
}

/** A real backup of a database (pg_dump plain, gzip), with production counts of `tables`. */
export async function backupOf(ctx: Context, client: string, url: string, tables: string[], extra: Partial<Parameters<typeof storeBackup>[1]> = {}): Promise<StoredTestBackup> {
  const rowCounts = await countRows(url, tables);
  const sql = await pgDump(url);
  const creates = (sql.toString('utf8').match(/^CREATE TABLE /gm) ?? []).length;
  return storeBackup(ctx, { client, body: gzipSync(sql), tables: creates, rowCounts, ...extra });
}

/** A "dump" that restores slowly (pg_sleep) but is otherwise well-formed. */
export function slowDump(seconds: number): Buffer {
  return gzipSync(Buffer.from(`CREATE TABLE slow_probe (id int);\nINSERT INTO slow_probe VALUES (1);\nSELECT pg_sleep(${seconds});\n--\n-- PostgreSQL database dump complete\n--\n`));
}

/** What the run reported about a teardown that left something behind (none expected): says why leftovers remain. */
export function teardownWarnings(run: { details?: unknown }): string[] {
  const w = (run.details as { warnings?: unknown } | null | undefined)?.warnings;
  return Array.isArray(w) ? w.filter((x): x is string => typeof x === 'string' && x.includes('staging leftovers')) : [];
}

/**
 * Containers and networks still labelled with this run id of this state database (must be none after a
 * test). Run ids are per state database: test files running in parallel have their own run 3, whose live
 * staging must not count here.
 */
export async function leftovers(docker: Docker, runId: string, stateUrl: string): Promise<{ containers: number; networks: number }> {
  const filters = JSON.stringify({ label: [`backup-bot.run-id=${runId}`, `backup-bot.state=${stateIdOf(stateUrl)}`] });
  const [c, n] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })]);
  return { containers: c.length, networks: n.length };
}
