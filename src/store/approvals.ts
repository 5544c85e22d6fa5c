import type { Queryable } from './queryable.js';

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
  signature_hash: string | null;
  reject_reason: string | null;
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

export async function insertApproval(db: Queryable, a: NewApproval): Promise<ApprovalRow> {
  const r = await db.query(
    `INSERT INTO approvals (id, client, scope, strategy, tables, backup_id, backup_key, backup_file, backup_sha256, backup_taken_at, reason, ticket,
        planned_start, checklist, impact, requested_by, requested_by_name, requested_at, expires_at, request_hash, status)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,'pending') RETURNING *`,
    [a.id, a.client, a.scope, a.strategy, JSON.stringify(a.tables), a.backupId, a.backupKey, a.backupFile, a.backupSha256, a.backupTakenAt, a.reason,
      a.ticket, a.plannedStart, JSON.stringify(a.checklist), JSON.stringify(a.impact), a.requestedBy, a.requestedByName, a.requestedAt, a.expiresAt, a.requestHash],
  );
  return r.rows[0] as ApprovalRow;
}

export async function getApproval(db: Queryable, id: string): Promise<ApprovalRow | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const r = await db.query('SELECT * FROM approvals WHERE id = $1', [id]);
  return r.rows[0] as ApprovalRow | undefined;
}

/** The row locked for the rest of the transaction (decisions and starts are taken one at a time). */
export async function lockApproval(db: Queryable, id: string): Promise<ApprovalRow | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const r = await db.query('SELECT * FROM approvals WHERE id = $1 FOR UPDATE', [id]);
  return r.rows[0] as ApprovalRow | undefined;
}

export interface Decision {
  id: string;
  decidedBy: string;
  decidedByName: string;
  decidedRole: string;
  decidedAt: Date;
  meaning: 'approved' | 'rejected';
  statement: string;
  signatureHash: string;
  rejectReason: string | null;
}

/**
 * Records the decision only if the request is still pending and not expired at `decidedAt`
 * (a second click, or a second approver at the same moment, gets undefined).
 */
export async function decideApproval(db: Queryable, d: Decision): Promise<ApprovalRow | undefined> {
  const r = await db.query(
    `UPDATE approvals SET status = $2, meaning = $2, decided_by = $3, decided_by_name = $4, decided_role = $5, decided_at = $6,
            statement = $7, signature_hash = $8, reject_reason = $9
      WHERE id = $1 AND status = 'pending' AND expires_at > $6 RETURNING *`,
    [d.id, d.meaning, d.decidedBy, d.decidedByName, d.decidedRole, d.decidedAt, d.statement, d.signatureHash, d.rejectReason],
  );
  return r.rows[0] as ApprovalRow | undefined;
}

/** Marks a pending request expired (when someone acts on it after its expiry). */
export async function expireApproval(db: Queryable, id: string, at: Date): Promise<ApprovalRow | undefined> {
  const r = await db.query(`UPDATE approvals SET status = 'expired' WHERE id = $1 AND status = 'pending' AND expires_at <= $2 RETURNING *`, [id, at]);
  return r.rows[0] as ApprovalRow | undefined;
}

export async function setApprovalMessage(db: Queryable, id: string, channel: string, ts: string): Promise<void> {
  await db.query('UPDATE approvals SET slack_channel = $2, slack_ts = $3 WHERE id = $1', [id, channel, ts]);
}

export async function setRunbookMessage(db: Queryable, id: string, channel: string, ts: string): Promise<void> {
  await db.query('UPDATE approvals SET runbook_message_channel = $2, runbook_message_ts = $3 WHERE id = $1', [id, channel, ts]);
}

/** approved → running, once (a second "Start restore" click gets undefined). */
export async function claimApprovalForRunbook(db: Queryable, c: { id: string; startedBy: string; startedByName: string | null; at: Date; runId: string; instance: number }): Promise<ApprovalRow | undefined> {
  const r = await db.query(
    `UPDATE approvals SET status = 'running', started_by = $2, started_by_name = $3, started_at = $4, run_id = $5, runbook_instance = $6, last_step = NULL
      WHERE id = $1 AND status = 'approved' RETURNING *`,
    [c.id, c.startedBy, c.startedByName, c.at, c.runId, c.instance],
  );
  return r.rows[0] as ApprovalRow | undefined;
}

/** Appends a runbook step; `last_step` holds the last step that completed. */
export async function recordApprovalStep(db: Queryable, id: string, e: ApprovalStepEntry): Promise<void> {
  await db.query(
    `UPDATE approvals SET steps = steps || $2::jsonb, last_step = CASE WHEN $3 = 'done' THEN $4 ELSE last_step END WHERE id = $1`,
    [id, JSON.stringify([e]), e.status, e.step],
  );
}

export async function setApprovalDatabases(db: Queryable, id: string, f: { restoreDatabase?: string | null; oldDatabase?: string | null; oldDatabaseDropAfter?: Date | null; preRestoreBackupId?: string | null }): Promise<void> {
  await db.query(
    `UPDATE approvals SET
        restore_database = CASE WHEN $2 THEN $3 ELSE restore_database END,
        old_database = CASE WHEN $4 THEN $5 ELSE old_database END,
        old_database_drop_after = CASE WHEN $6 THEN $7::timestamptz ELSE old_database_drop_after END,
        pre_restore_backup_id = CASE WHEN $8 THEN $9::bigint ELSE pre_restore_backup_id END
      WHERE id = $1`,
    [id, f.restoreDatabase !== undefined, f.restoreDatabase ?? null, f.oldDatabase !== undefined, f.oldDatabase ?? null,
      f.oldDatabaseDropAfter !== undefined, f.oldDatabaseDropAfter ?? null, f.preRestoreBackupId !== undefined, f.preRestoreBackupId ?? null],
  );
}

/** running → completed | failed | rolled_back. */
export async function finishApproval(db: Queryable, id: string, f: { status: 'completed' | 'failed' | 'rolled_back'; at: Date; error?: string | null; registerId?: string | null }): Promise<ApprovalRow | undefined> {
  const r = await db.query(
    `UPDATE approvals SET status = $2, finished_at = $3, error = $4, register_id = coalesce($5, register_id)
      WHERE id = $1 AND status = 'running' RETURNING *`,
    [id, f.status, f.at, f.error ?? null, f.registerId ?? null],
  );
  return r.rows[0] as ApprovalRow | undefined;
}

/**
 * At start: restores left `running` whose runbook run was marked interrupted (the bot died mid-runbook) become
 * `interrupted`, keeping their last completed step and the databases they left (nothing is dropped).
 */
export async function markInterruptedApprovals(db: Queryable, at: Date): Promise<ApprovalRow[]> {
  const r = await db.query(
    `UPDATE approvals a SET status = 'interrupted', finished_at = $1,
            error = 'interrupted: the bot stopped during the runbook (last completed step: ' || coalesce(a.last_step, 'none') || ')'
      FROM runs r
      WHERE a.status = 'running' AND a.run_id = r.id AND r.status = 'interrupted' RETURNING a.*`,
    [at],
  );
  return r.rows as ApprovalRow[];
}

export async function listApprovals(db: Queryable, f: { client?: string; status?: ApprovalStatus; limit?: number } = {}): Promise<ApprovalRow[]> {
  const r = await db.query(
    `SELECT * FROM approvals WHERE ($1::text IS NULL OR client = $1) AND ($2::text IS NULL OR status = $2)
      ORDER BY requested_at DESC, id DESC LIMIT $3`,
    [f.client ?? null, f.status ?? null, f.limit ?? 1000],
  );
  return r.rows as ApprovalRow[];
}

/** Old databases kept after a swap whose keep period is over (for the retention job). */
export async function listOldDatabasesDue(db: Queryable, at: Date): Promise<ApprovalRow[]> {
  const r = await db.query(
    `SELECT * FROM approvals WHERE old_database IS NOT NULL AND old_database_dropped_at IS NULL AND old_database_drop_after <= $1
        AND status = 'completed' ORDER BY id`,
    [at],
  );
  return r.rows as ApprovalRow[];
}

export async function markOldDatabaseDropped(db: Queryable, id: string, at: Date): Promise<void> {
  await db.query('UPDATE approvals SET old_database_dropped_at = $2 WHERE id = $1 AND old_database_dropped_at IS NULL', [id, at]);
}

/** SOP-001 13.5 "Historial de Incidentes de Restore". */
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
  const r = await db.query(
    `INSERT INTO restore_incidents (approval_id, client, at, description, backup_used, recovery_minutes, data_lost, corrective_actions)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING *`,
    [i.approvalId, i.client, i.at, i.description, i.backupUsed, i.recoveryMinutes, i.dataLost, i.correctiveActions],
  );
  return r.rows[0] as RestoreIncidentRow;
}

export async function listRestoreIncidents(db: Queryable, f: { client?: string; approvalId?: string } = {}): Promise<RestoreIncidentRow[]> {
  const r = await db.query(
    `SELECT * FROM restore_incidents WHERE ($1::text IS NULL OR client = $1) AND ($2::bigint IS NULL OR approval_id = $2) ORDER BY at, id`,
    [f.client ?? null, f.approvalId ?? null],
  );
  return r.rows as RestoreIncidentRow[];
}
