import type { Queryable } from './queryable.js';
import { appendChained } from './chain.js';
import { insertSignature, type NewSignature } from './signatures.js';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'running' | 'completed' | 'failed' | 'rolled_back' | 'interrupted';
export type ApprovalScope = 'full' | 'partial';
export type RestoreStrategy = 'swap' | 'replace' | 'partial';

export interface ApprovalStepEntry { at: string; step: string; status: 'started' | 'done' | 'failed' | 'skipped'; note?: string }

export interface ApprovalRow {
  id: string;
  client: string;
  scope: ApprovalScope;
  strategy: RestoreStrategy | null;
  tables: string[];
  backup_id: string | null;
  backup_key: string;
  backup_file: string | null;
  backup_sha256: string | null;
  backup_taken_at: Date | null;
  reason: string;
  ticket: string | null;
  planned_start: Date | null;
  checklist: Array<{ item: string; confirmed: boolean }>;
  impact: Record<string, unknown>;
  requested_by: string;
  requested_by_name: string | null;
  requested_at: Date;
  expires_at: Date;
  request_hash: string;
  status: ApprovalStatus;
  decided_by: string | null;
  decided_by_name: string | null;
  decided_role: string | null;
  decided_at: Date | null;
  meaning: 'approved' | 'rejected' | null;
  statement: string | null;
  reject_reason: string | null;
  /** The decision's signature row (restore-decision), when there is one; the start gate verifies it. */
  decision_id: string | null;
  decision_key_id: string | null;
  decision_signature: string | null;
  decision_row_hash: string | null;
  chain_seq: string | null;
  row_hash: string | null;
  last_step: string | null;
  run_id: string | null;
  slack_channel: string | null;
  slack_ts: string | null;
  started_by: string | null;
  started_by_name: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  error: string | null;
  steps: ApprovalStepEntry[];
  pre_restore_backup_id: string | null;
  restore_database: string | null;
  old_database: string | null;
  old_database_drop_after: Date | null;
  old_database_dropped_at: Date | null;
  register_id: string | null;
  runbook_instance: number | null;
  runbook_message_channel: string | null;
  runbook_message_ts: string | null;
}

export interface NewApproval {
  id: string;
  client: string;
  scope: ApprovalScope;
  strategy: RestoreStrategy;
  tables: string[];
  backupId: string;
  backupKey: string;
  backupFile: string | null;
  backupSha256: string | null;
  backupTakenAt: Date;
  reason: string;
  ticket: string | null;
  plannedStart: Date | null;
  checklist: Array<{ item: string; confirmed: boolean }>;
  impact: Record<string, unknown>;
  requestedBy: string;
  requestedByName: string | null;
  requestedAt: Date;
  expiresAt: Date;
  requestHash: string;
}

/** Reserves the id of a new request (the request hash covers it, so it is known before the insert). */
export async function nextApprovalId(db: Queryable): Promise<string> {
  const r = await db.query(`SELECT nextval(pg_get_serial_sequence('approvals', 'id'))::text AS id`);
  return (r.rows[0] as { id: string }).id;
}

/** The request (evidence, chained) and its state (pending), in the caller's transaction. */
export async function insertApproval(db: Queryable, a: NewApproval): Promise<ApprovalRow> {
  await appendChained(db, 'approvals', {
    id: a.id, client: a.client, scope: a.scope, strategy: a.strategy, tables: a.tables, backup_id: a.backupId, backup_key: a.backupKey, backup_file: a.backupFile,
    backup_sha256: a.backupSha256, backup_taken_at: a.backupTakenAt, reason: a.reason, ticket: a.ticket, planned_start: a.plannedStart, checklist: a.checklist,
    impact: a.impact, requested_by: a.requestedBy, requested_by_name: a.requestedByName, requested_at: a.requestedAt, expires_at: a.expiresAt, request_hash: a.requestHash,
  });
  await db.query(`INSERT INTO approval_state (approval_id, status) VALUES ($1, 'pending')`, [a.id]);
  return (await getApproval(db, a.id))!;
}

export async function getApproval(db: Queryable, id: string): Promise<ApprovalRow | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const r = await db.query('SELECT * FROM approval_rows WHERE id = $1', [id]);
  return r.rows[0] as ApprovalRow | undefined;
}

/**
 * Records a signed decision only if the request is still pending and not expired at the signing time: the
 * state moves first (conditionally: a second click, or a second approver at the same moment, gets undefined),
 * then the signature is appended. Run it in a transaction.
 */
export async function recordDecision(db: Queryable, d: { approvalId: string; meaning: 'approved' | 'rejected'; signature: NewSignature }): Promise<ApprovalRow | undefined> {
  const r = await db.query(
    `UPDATE approval_state s SET status = $2 FROM approvals a
      WHERE s.approval_id = $1 AND a.id = s.approval_id AND s.status = 'pending' AND a.expires_at > $3 RETURNING s.approval_id`,
    [d.approvalId, d.meaning, d.signature.signedAt],
  );
  if (!r.rowCount) return undefined;
  await insertSignature(db, d.signature);
  return getApproval(db, d.approvalId);
}

/** Marks a pending request expired (when someone acts on it after its expiry). */
export async function expireApproval(db: Queryable, id: string, at: Date): Promise<ApprovalRow | undefined> {
  const r = await db.query(
    `UPDATE approval_state s SET status = 'expired' FROM approvals a WHERE s.approval_id = $1 AND a.id = s.approval_id AND s.status = 'pending' AND a.expires_at <= $2 RETURNING s.approval_id`,
    [id, at],
  );
  return r.rowCount ? getApproval(db, id) : undefined;
}

export async function setApprovalMessage(db: Queryable, id: string, channel: string, ts: string): Promise<void> {
  await db.query('UPDATE approval_state SET slack_channel = $2, slack_ts = $3 WHERE approval_id = $1', [id, channel, ts]);
}

export async function setRunbookMessage(db: Queryable, id: string, channel: string, ts: string): Promise<void> {
  await db.query('UPDATE approval_state SET runbook_message_channel = $2, runbook_message_ts = $3 WHERE approval_id = $1', [id, channel, ts]);
}

/** approved → running, once (a second "Start restore" click gets undefined). */
export async function claimApprovalForRunbook(db: Queryable, c: { id: string; startedBy: string; startedByName: string | null; at: Date; runId: string; instance: number }): Promise<ApprovalRow | undefined> {
  const r = await db.query(
    `UPDATE approval_state SET status = 'running', started_by = $2, started_by_name = $3, started_at = $4, run_id = $5, runbook_instance = $6, last_step = NULL
      WHERE approval_id = $1 AND status = 'approved' RETURNING approval_id`,
    [c.id, c.startedBy, c.startedByName, c.at, c.runId, c.instance],
  );
  return r.rowCount ? getApproval(db, c.id) : undefined;
}

/** Appends a runbook step; `last_step` holds the last step that completed. */
export async function recordApprovalStep(db: Queryable, id: string, e: ApprovalStepEntry): Promise<void> {
  await db.query(
    `UPDATE approval_state SET steps = steps || $2::jsonb, last_step = CASE WHEN $3 = 'done' THEN $4 ELSE last_step END WHERE approval_id = $1`,
    [id, JSON.stringify([e]), e.status, e.step],
  );
}

export async function setApprovalDatabases(db: Queryable, id: string, f: { restoreDatabase?: string | null; oldDatabase?: string | null; oldDatabaseDropAfter?: Date | null; preRestoreBackupId?: string | null }): Promise<void> {
  await db.query(
    `UPDATE approval_state SET
        restore_database = CASE WHEN $2 THEN $3 ELSE restore_database END,
        old_database = CASE WHEN $4 THEN $5 ELSE old_database END,
        old_database_drop_after = CASE WHEN $6 THEN $7::timestamptz ELSE old_database_drop_after END,
        pre_restore_backup_id = CASE WHEN $8 THEN $9::bigint ELSE pre_restore_backup_id END
      WHERE approval_id = $1`,
    [id, f.restoreDatabase !== undefined, f.restoreDatabase ?? null, f.oldDatabase !== undefined, f.oldDatabase ?? null,
      f.oldDatabaseDropAfter !== undefined, f.oldDatabaseDropAfter ?? null, f.preRestoreBackupId !== undefined, f.preRestoreBackupId ?? null],
  );
}

/** running → completed | failed | rolled_back. */
export async function finishApproval(db: Queryable, id: string, f: { status: 'completed' | 'failed' | 'rolled_back'; at: Date; error?: string | null; registerId?: string | null }): Promise<ApprovalRow | undefined> {
  const r = await db.query(
    `UPDATE approval_state SET status = $2, finished_at = $3, error = $4, register_id = coalesce($5, register_id)
      WHERE approval_id = $1 AND status = 'running' RETURNING approval_id`,
    [id, f.status, f.at, f.error ?? null, f.registerId ?? null],
  );
  return r.rowCount ? getApproval(db, id) : undefined;
}

/**
 * At start: restores left `running` whose runbook run was marked interrupted (the bot died mid-runbook) become
 * `interrupted`, keeping their last completed step and the databases they left (nothing is dropped).
 */
export async function markInterruptedApprovals(db: Queryable, at: Date): Promise<ApprovalRow[]> {
  const r = await db.query<{ approval_id: string }>(
    `UPDATE approval_state s SET status = 'interrupted', finished_at = $1,
            error = 'interrupted: the bot stopped during the runbook (last completed step: ' || coalesce(s.last_step, 'none') || ')'
      FROM runs r
      WHERE s.status = 'running' AND s.run_id = r.id AND r.status = 'interrupted' RETURNING s.approval_id`,
    [at],
  );
  const out: ApprovalRow[] = [];
  for (const x of r.rows) out.push((await getApproval(db, x.approval_id))!);
  return out;
}

export async function listApprovals(db: Queryable, f: { client?: string; status?: ApprovalStatus; limit?: number } = {}): Promise<ApprovalRow[]> {
  const r = await db.query(
    `SELECT * FROM approval_rows WHERE ($1::text IS NULL OR client = $1) AND ($2::text IS NULL OR status = $2)
      ORDER BY requested_at DESC, id DESC LIMIT $3`,
    [f.client ?? null, f.status ?? null, f.limit ?? 1000],
  );
  return r.rows as ApprovalRow[];
}

/** Old databases kept after a swap whose keep period is over (for the retention job). */
export async function listOldDatabasesDue(db: Queryable, at: Date): Promise<ApprovalRow[]> {
  const r = await db.query(
    `SELECT * FROM approval_rows WHERE old_database IS NOT NULL AND old_database_dropped_at IS NULL AND old_database_drop_after <= $1
        AND status = 'completed' ORDER BY id`,
    [at],
  );
  return r.rows as ApprovalRow[];
}

export async function markOldDatabaseDropped(db: Queryable, id: string, at: Date): Promise<void> {
  await db.query('UPDATE approval_state SET old_database_dropped_at = $2 WHERE approval_id = $1 AND old_database_dropped_at IS NULL', [id, at]);
}

/** SOP-001 13.5 "Historial de Incidentes de Restore": an incident's first row (its later entries and current state: store/incidents.ts). */
export interface RestoreIncidentRow {
  id: string;
  approval_id: string | null;
  client: string;
  at: Date;
  description: string;
  backup_used: string | null;
  recovery_minutes: string | null;
  data_lost: string;
  corrective_actions: string;
}

export async function insertRestoreIncident(db: Queryable, i: { approvalId: string | null; client: string; at: Date; description: string; backupUsed: string | null; recoveryMinutes: number | null; dataLost: string; correctiveActions: string }): Promise<RestoreIncidentRow> {
  return appendChained<RestoreIncidentRow>(db, 'restore_incidents', {
    approval_id: i.approvalId, client: i.client, at: i.at, description: i.description, backup_used: i.backupUsed, recovery_minutes: i.recoveryMinutes,
    data_lost: i.dataLost, corrective_actions: i.correctiveActions,
  });
}

export async function listRestoreIncidents(db: Queryable, f: { client?: string; approvalId?: string } = {}): Promise<RestoreIncidentRow[]> {
  const r = await db.query(
    `SELECT * FROM restore_incidents WHERE incident_id IS NULL AND ($1::text IS NULL OR client = $1) AND ($2::bigint IS NULL OR approval_id = $2) ORDER BY at, id`,
    [f.client ?? null, f.approvalId ?? null],
  );
  return r.rows as RestoreIncidentRow[];
}
