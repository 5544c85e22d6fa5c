import type { Queryable } from './queryable.js';
import { inTransaction } from './chain.js';
import { insertIncident, updateIncident } from './incidents.js';

/** Watchdog incidents: at most one open row per (client, kind) (unique partial index alerts_one_open). */
/**
 * backup: missing/failed backup; rpo: RPO breach (watchdog); restore: a failed production restore; evidence: a record
 * that does not verify; restore_test, retention, integrity: a failed restore test, retention run or integrity check;
 * queue_wait: work waited in the shared work queue longer than workers.maxWait (issue 21).
 */
export type AlertKind = 'backup' | 'rpo' | 'restore' | 'evidence' | 'restore_test' | 'retention' | 'integrity' | 'queue_wait';

export interface AlertRow {
  id: string;
  client: string;
  kind: AlertKind;
  severity: string;
  message: string;
  opened_at: Date;
  resolved_at: Date | null;
  slack_channel: string | null;
  slack_ts: string | null;
  details: Record<string, unknown>;
  resolved_message: string | null;
  /** The §13.5 incident this alert opened (or was attached to). */
  incident_id: string | null;
}

/**
 * Opens an alert and its §13.5 incident (or attaches it to `incidentId`, one the caller recorded with more
 * detail), in one transaction; undefined when one of this kind is already open for the client (nothing is
 * posted or recorded twice).
 */
export async function openAlert(db: Queryable, a: { client: string; kind: AlertKind; severity?: string; message: string; details?: Record<string, unknown>; at: Date; incidentId?: string }): Promise<AlertRow | undefined> {
  return inTransaction(db, async (c) => {
    const r = await c.query(
      `INSERT INTO alerts (client, kind, severity, message, details, opened_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (client, kind) WHERE resolved_at IS NULL DO NOTHING RETURNING *`,
      [a.client, a.kind, a.severity ?? 'S2', a.message, JSON.stringify(a.details ?? {}), a.at],
    );
    const row = r.rows[0] as AlertRow | undefined;
    if (!row) return undefined;
    const incidentId = a.incidentId ?? (await insertIncident(c, {
      client: a.client, at: a.at, description: a.message, severity: row.severity, source: `alert:${row.id}`, recordedBy: 'backup-bot',
    })).id;
    await c.query('UPDATE alerts SET incident_id = $2 WHERE id = $1', [row.id, incidentId]);
    return { ...row, incident_id: incidentId };
  });
}

export async function setAlertMessage(db: Queryable, id: string, channel: string, ts: string): Promise<void> {
  await db.query('UPDATE alerts SET slack_channel = $2, slack_ts = $3 WHERE id = $1', [id, channel, ts]);
}

/**
 * Resolves the client's open alerts (all kinds, or the ones given); returns the rows this call resolved. Each one's
 * incident gets a "resolved" entry (its history is kept; a person adds the cause and the fix, and closes it).
 */
export async function resolveAlerts(db: Queryable, client: string, at: Date, message: string, kinds?: AlertKind[]): Promise<AlertRow[]> {
  return inTransaction(db, async (c) => {
    const r = await c.query(
      `UPDATE alerts SET resolved_at = $2, resolved_message = $3
        WHERE client = $1 AND resolved_at IS NULL AND ($4::text[] IS NULL OR kind = ANY($4)) RETURNING *`,
      [client, at, message, kinds ?? null],
    );
    const rows = r.rows as AlertRow[];
    for (const a of rows) {
      if (a.incident_id) await updateIncident(c, a.incident_id, { at, status: 'resolved', note: `alert resolved: ${message}`.slice(0, 2000), recordedBy: 'backup-bot' });
    }
    return rows;
  });
}

export async function listOpenAlerts(db: Queryable, client?: string): Promise<AlertRow[]> {
  const r = await db.query(
    'SELECT * FROM alerts WHERE resolved_at IS NULL AND ($1::text IS NULL OR client = $1) ORDER BY opened_at, id',
    [client ?? null],
  );
  return r.rows as AlertRow[];
}

export async function listAlerts(db: Queryable, f: { client?: string; limit?: number } = {}): Promise<AlertRow[]> {
  const r = await db.query(
    'SELECT * FROM alerts WHERE ($1::text IS NULL OR client = $1) ORDER BY opened_at DESC, id DESC LIMIT $2',
    [f.client ?? null, f.limit ?? 100],
  );
  return r.rows as AlertRow[];
}
