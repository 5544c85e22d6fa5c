import type { Queryable } from './queryable.js';

export type BackupType = 'scheduled' | 'manual' | 'pre-change' | 'pre-restore';
export const BACKUP_TYPES: BackupType[] = ['scheduled', 'manual', 'pre-change', 'pre-restore'];

export interface BackupLocation { destination: string; ok: boolean; key?: string; error?: string }

export interface BackupRow {
  id: string;
  run_id: string | null;
  client: string;
  taken_at: Date;
  type: BackupType;
  file: string | null;
  key: string | null;
  format: string | null;
  engine: string | null;
  size_bytes: string | null;
  verified: boolean;
  verified_at: Date | null;
  executed_by: string;
  result: 'OK' | 'Error';
  observations: string;
  sha256: string | null;
  tables_counted: number | null;
  locations: BackupLocation[];
  manifest: Record<string, unknown> | null;
  deleted_at: Date | null;
}

export interface NewBackupRow {
  runId?: string | null;
  client: string;
  takenAt: Date;
  type: BackupType;
  file?: string | null;
  key?: string | null;
  format?: string | null;
  engine?: string | null;
  sizeBytes?: number | null;
  verified: boolean;
  verifiedAt?: Date | null;
  executedBy: string;
  result: 'OK' | 'Error';
  observations?: string;
  sha256?: string | null;
  tablesCounted?: number | null;
  locations?: BackupLocation[];
  manifest?: Record<string, unknown> | null;
}

export async function insertBackup(db: Queryable, b: NewBackupRow): Promise<BackupRow> {
  const r = await db.query(
    `INSERT INTO backup_register (run_id, client, taken_at, type, file, key, format, engine, size_bytes, verified, verified_at,
        executed_by, result, observations, sha256, tables_counted, locations, manifest)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18) RETURNING *`,
    [b.runId ?? null, b.client, b.takenAt, b.type, b.file ?? null, b.key ?? null, b.format ?? null, b.engine ?? null, b.sizeBytes ?? null,
      b.verified, b.verifiedAt ?? null, b.executedBy, b.result, b.observations ?? '', b.sha256 ?? null, b.tablesCounted ?? null,
      JSON.stringify(b.locations ?? []), b.manifest ? JSON.stringify(b.manifest) : null],
  );
  return r.rows[0] as BackupRow;
}

export async function setBackupVerified(db: Queryable, id: string, verified: boolean, at: Date, observations?: string): Promise<void> {
  await db.query(
    `UPDATE backup_register SET verified = $2, verified_at = $3,
        observations = CASE WHEN $4::text IS NULL OR $4 = '' THEN observations WHEN observations = '' THEN $4 ELSE observations || '; ' || $4 END
      WHERE id = $1`,
    [id, verified, at, observations ?? null],
  );
}

export async function markBackupDeleted(db: Queryable, id: string, at: Date): Promise<void> {
  await db.query('UPDATE backup_register SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL', [id, at]);
}

export async function getBackup(db: Queryable, id: string): Promise<BackupRow | undefined> {
  const r = await db.query('SELECT * FROM backup_register WHERE id = $1', [id]);
  return r.rows[0] as BackupRow | undefined;
}

export async function findBackupByKey(db: Queryable, client: string, keyOrFile: string): Promise<BackupRow | undefined> {
  const r = await db.query(
    `SELECT * FROM backup_register WHERE client = $1 AND (key = $2 OR file = $2) AND deleted_at IS NULL ORDER BY taken_at DESC LIMIT 1`,
    [client, keyOrFile],
  );
  return r.rows[0] as BackupRow | undefined;
}

export async function listBackups(db: Queryable, f: { client?: string; includeDeleted?: boolean; onlyOk?: boolean; verifiedOnly?: boolean; limit?: number; since?: Date } = {}): Promise<BackupRow[]> {
  const r = await db.query(
    `SELECT * FROM backup_register
      WHERE ($1::text IS NULL OR client = $1) AND ($2 OR deleted_at IS NULL) AND (NOT $3 OR result = 'OK')
        AND (NOT $4 OR verified) AND ($6::timestamptz IS NULL OR taken_at >= $6)
      ORDER BY taken_at DESC, id DESC LIMIT $5`,
    [f.client ?? null, f.includeDeleted ?? false, f.onlyOk ?? false, f.verifiedOnly ?? false, f.limit ?? 1000, f.since ?? null],
  );
  return r.rows as BackupRow[];
}

export async function latestVerifiedBackup(db: Queryable, client: string): Promise<BackupRow | undefined> {
  return (await listBackups(db, { client, onlyOk: true, verifiedOnly: true, limit: 1 }))[0];
}

/**
 * Ids of the client's backups that a production restore record (an approvals row) refers to: the backup
 * restored (by id or key) and the pre-restore backup taken by the runbook. Retention never deletes them.
 */
export async function backupIdsReferencedByApprovals(db: Queryable, client: string): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    `SELECT a.backup_id::text AS id FROM approvals a WHERE a.client = $1 AND a.backup_id IS NOT NULL
     UNION SELECT to_jsonb(a) ->> 'pre_restore_backup_id' FROM approvals a WHERE a.client = $1 AND to_jsonb(a) ->> 'pre_restore_backup_id' IS NOT NULL
     UNION SELECT b.id::text FROM backup_register b JOIN approvals a ON a.client = b.client AND a.backup_key = b.key WHERE b.client = $1`,
    [client],
  );
  return r.rows.map((x) => x.id);
}
