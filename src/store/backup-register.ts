import type { Queryable } from './queryable.js';
import { appendChained } from './chain.js';

export type BackupType = 'scheduled' | 'manual' | 'pre-change' | 'pre-restore';
export const BACKUP_TYPES: BackupType[] = ['scheduled', 'manual', 'pre-change', 'pre-restore'];

/** Where a backup was stored; `verified`: that copy was read back after the backup (sha256, gunzip, tables, trailer). */
export interface BackupLocation { destination: string; ok: boolean; key?: string; error?: string; verified?: boolean; verifyError?: string }

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
  /** SOP-001 §7.1: the change a pre-change backup precedes, and why it was taken. */
  ticket?: string | null;
  reason?: string | null;
  chain_seq?: string | null;
  row_hash?: string | null;
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
  ticket?: string | null;
  reason?: string | null;
}

/** A §11 row (evidence, chained); what happens to the backup later is appended as events. */
export async function insertBackup(db: Queryable, b: NewBackupRow): Promise<BackupRow> {
  const row = await appendChained<BackupRow>(db, 'backup_register', {
    run_id: b.runId ?? null, client: b.client, taken_at: b.takenAt, type: b.type, file: b.file ?? null, key: b.key ?? null, format: b.format ?? null,
    engine: b.engine ?? null, size_bytes: b.sizeBytes ?? null, verified: b.verified, verified_at: b.verifiedAt ?? null, executed_by: b.executedBy,
    result: b.result, observations: b.observations ?? '', sha256: b.sha256 ?? null, tables_counted: b.tablesCounted ?? null,
    locations: b.locations ?? [], manifest: b.manifest ?? null, deleted_at: null, ticket: b.ticket ?? null, reason: b.reason ?? null,
  });
  return (await getBackup(db, row.id))!;
}

/** A later read-back of the backup (the monthly integrity check, `verify`): appended, and the register shows its outcome. */
export async function setBackupVerified(db: Queryable, id: string, verified: boolean, at: Date, observations?: string, runId?: string | null): Promise<void> {
  const b = await getBackup(db, id);
  if (!b) return;
  await appendChained(db, 'backup_register_events', { backup_id: id, client: b.client, kind: 'verification', at, ok: verified, note: observations ?? '', run_id: runId ?? null });
}

/** Retention deleted the backup's objects: appended once. */
export async function markBackupDeleted(db: Queryable, id: string, at: Date, runId?: string | null): Promise<void> {
  const b = await getBackup(db, id);
  if (!b || b.deleted_at) return;
  await appendChained(db, 'backup_register_events', { backup_id: id, client: b.client, kind: 'deletion', at, ok: null, note: '', run_id: runId ?? null });
}

export async function getBackup(db: Queryable, id: string): Promise<BackupRow | undefined> {
  const r = await db.query('SELECT * FROM backup_rows WHERE id = $1', [id]);
  return r.rows[0] as BackupRow | undefined;
}

export async function findBackupByKey(db: Queryable, client: string, keyOrFile: string): Promise<BackupRow | undefined> {
  const r = await db.query(
    `SELECT * FROM backup_rows WHERE client = $1 AND (key = $2 OR file = $2) AND deleted_at IS NULL ORDER BY taken_at DESC LIMIT 1`,
    [client, keyOrFile],
  );
  return r.rows[0] as BackupRow | undefined;
}

export async function listBackups(db: Queryable, f: { client?: string; includeDeleted?: boolean; onlyOk?: boolean; verifiedOnly?: boolean; limit?: number; since?: Date } = {}): Promise<BackupRow[]> {
  const r = await db.query(
    `SELECT * FROM backup_rows
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
     UNION SELECT s.pre_restore_backup_id::text FROM approval_state s JOIN approvals a ON a.id = s.approval_id WHERE a.client = $1 AND s.pre_restore_backup_id IS NOT NULL
     UNION SELECT b.id::text FROM backup_register b JOIN approvals a ON a.client = b.client AND a.backup_key = b.key WHERE b.client = $1`,
    [client],
  );
  return r.rows.map((x) => x.id);
}
