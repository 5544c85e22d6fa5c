import type { Queryable } from './queryable.js';

/** Watchdog incidents: at most one open row per (client, kind) (unique partial index alerts_one_open). */
/** backup: missing/failed backup; rpo: RPO breach (watchdog); restore: a failed production restore. */
/** queue_wait: work waited in the shared work queue longer than workers.maxWait (issue 21). */
export type AlertKind = 'backup' | 'rpo' | 'restore' | 'evidence' | 'queue_wait';

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
}

/** Opens an incident; undefined when one of this kind is already open for the client (nothing is posted twice). */
export async function openAlert(db: Queryable, a: { client: string; kind: AlertKind; severity?: string; message: string; details?: Record<string, unknown>; at: Date }): Promise<AlertRow | undefined> {
  const r = await db.query(
    `INSERT INTO alerts (client, kind, severity, message, details, opened_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (client, kind) WHERE resolved_at IS NULL DO NOTHING RETURNING *`,
    [a.client, a.kind, a.severity ?? 'S2', a.message, JSON.stringify(a.details ?? {}), a.at],
  );
  return r.rows[0] as AlertRow | undefined;
}

export async function setAlertMessage(db: Queryable, id: string, channel: string, ts: string): Promise<void> {
  await db.query('UPDATE alerts SET slack_channel = $2, slack_ts = $3 WHERE id = $1', [id, channel, ts]);
}

/** Resolves the client's open incidents (all kinds, or the ones given); returns the rows this call resolved. */
export async function resolveAlerts(db: Queryable, client: string, at: Date, message: string, kinds?: AlertKind[]): Promise<AlertRow[]> {
  const r = await db.query(
    `UPDATE alerts SET resolved_at = $2, resolved_message = $3
      WHERE client = $1 AND resolved_at IS NULL AND ($4::text[] IS NULL OR kind = ANY($4)) RETURNING *`,
    [client, at, message, kinds ?? null],
  );
  return r.rows as AlertRow[];
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
