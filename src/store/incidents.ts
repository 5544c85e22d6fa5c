import type { Queryable } from './queryable.js';
import { appendChained, inTransaction, lockChain } from './chain.js';

/**
 * SOP-001 §13.5 "Historial de Incidentes de Restore" (restore_incidents, evidence: append-only, chained).
 * An incident is its first row; what happens to it later (an alert resolved by the bot, a person's cause,
 * corrective action and responsible, the close) is a new row naming it in `incident_id`. `incident_rows`
 * shows each incident as it stands now.
 */
export type IncidentStatus = 'open' | 'resolved' | 'closed';

export interface IncidentRow {
  id: string;
  client: string;
  opened_at: Date;
  description: string;
  approval_id: string | null;
  severity: string | null;
  source: string | null;
  status: IncidentStatus;
  backup_used: string;
  recovery_minutes: string | null;
  data_lost: string;
  corrective_actions: string;
  cause: string;
  responsible: string;
  closed_at: Date | null;
  updated_at: Date;
  last_entry_id: string;
  updates: number;
  chain_seq: string | null;
  row_hash: string | null;
}

/** One row of the register as written (the incident's first row or a later entry). */
export interface IncidentEntry {
  id: string;
  incident_id: string | null;
  client: string;
  at: Date;
  status: IncidentStatus | null;
  description: string;
  cause: string | null;
  corrective_actions: string;
  responsible: string | null;
  recovery_minutes: string | null;
  closed_at: Date | null;
  recorded_by: string | null;
  chain_seq: string | null;
  row_hash: string | null;
}

export interface NewIncident {
  client: string;
  at: Date;
  description: string;
  status?: IncidentStatus;
  severity?: string | null;
  /** What opened it: `alert:<id>`, `restore:<approval id>`, `manual`. */
  source?: string | null;
  approvalId?: string | null;
  backupUsed?: string | null;
  recoveryMinutes?: number | null;
  dataLost?: string;
  correctiveActions?: string;
  cause?: string | null;
  responsible?: string | null;
  closedAt?: Date | null;
  recordedBy: string;
}

export async function insertIncident(db: Queryable, i: NewIncident): Promise<IncidentEntry> {
  return appendChained<IncidentEntry>(db, 'restore_incidents', {
    approval_id: i.approvalId ?? null, client: i.client, at: i.at, description: i.description, backup_used: i.backupUsed ?? null,
    recovery_minutes: i.recoveryMinutes ?? null, data_lost: i.dataLost ?? '', corrective_actions: i.correctiveActions ?? '',
    status: i.status ?? 'open', severity: i.severity ?? null, source: i.source ?? null, cause: i.cause ?? null, responsible: i.responsible ?? null,
    closed_at: i.closedAt ?? null, recorded_by: i.recordedBy,
  });
}

export interface IncidentUpdate {
  at: Date;
  status: IncidentStatus;
  /** What this entry is (shown in the history): "resolved by backup X", "cause and corrective action recorded". */
  note: string;
  cause?: string | null;
  correctiveActions?: string;
  responsible?: string | null;
  recoveryMinutes?: number | null;
  closedAt?: Date | null;
  recordedBy: string;
}

export type UpdateOutcome = { ok: true; incident: IncidentRow } | { ok: false; reason: 'not-found' } | { ok: false; reason: 'closed'; incident: IncidentRow };

/**
 * Appends an entry to an incident, unless it is closed (a closed incident is never changed: a second close, a
 * replayed modal, an alert resolved after a person closed it). The check and the append hold the register's
 * append lock, so two closes at once record one.
 */
export async function updateIncident(db: Queryable, incidentId: string, u: IncidentUpdate): Promise<UpdateOutcome> {
  return inTransaction(db, async (c) => {
    await lockChain(c, 'restore_incidents');
    const cur = await getIncident(c, incidentId);
    if (!cur) return { ok: false as const, reason: 'not-found' as const };
    if (cur.status === 'closed') return { ok: false as const, reason: 'closed' as const, incident: cur };
    await appendChained(c, 'restore_incidents', {
      incident_id: cur.id, approval_id: cur.approval_id, client: cur.client, at: u.at, description: u.note, backup_used: null,
      recovery_minutes: u.recoveryMinutes ?? null, data_lost: '', corrective_actions: u.correctiveActions ?? '', status: u.status, severity: null, source: null,
      cause: u.cause ?? null, responsible: u.responsible ?? null, closed_at: u.closedAt ?? null, recorded_by: u.recordedBy,
    });
    return { ok: true as const, incident: (await getIncident(c, cur.id))! };
  });
}

export async function getIncident(db: Queryable, id: string): Promise<IncidentRow | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const r = await db.query('SELECT * FROM incident_rows WHERE id = $1', [id]);
  return r.rows[0] as IncidentRow | undefined;
}

export async function listIncidents(db: Queryable, f: { client?: string; status?: IncidentStatus; limit?: number } = {}): Promise<IncidentRow[]> {
  const r = await db.query(
    `SELECT * FROM incident_rows WHERE ($1::text IS NULL OR client = $1) AND ($2::text IS NULL OR status = $2) ORDER BY opened_at, id LIMIT $3`,
    [f.client ?? null, f.status ?? null, f.limit ?? 100_000],
  );
  return r.rows as IncidentRow[];
}

/** Every row of one incident, oldest first (its history). */
export async function incidentHistory(db: Queryable, id: string): Promise<IncidentEntry[]> {
  const r = await db.query('SELECT * FROM restore_incidents WHERE id = $1 OR incident_id = $1 ORDER BY id', [id]);
  return r.rows as IncidentEntry[];
}
