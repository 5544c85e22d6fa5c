import type { Queryable } from './queryable.js';

export interface AuditEntry {
  actor: string;
  action: string;
  client?: string | null;
  target?: string | null;
  reason?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditRow extends Required<Omit<AuditEntry, 'details'>> { id: string; at: Date; details: Record<string, unknown> }

/** Appends to the audit log (the table refuses UPDATE, DELETE and TRUNCATE). */
export async function audit(db: Queryable, e: AuditEntry): Promise<void> {
  await db.query(
    'INSERT INTO audit_log (actor, action, client, target, reason, details) VALUES ($1, $2, $3, $4, $5, $6)',
    [e.actor, e.action, e.client ?? null, e.target ?? null, e.reason ?? null, JSON.stringify(e.details ?? {})],
  );
}

export async function listAudit(db: Queryable, filter: { client?: string; action?: string; limit?: number } = {}): Promise<AuditRow[]> {
  const r = await db.query(
    `SELECT id, at, actor, action, client, target, reason, details FROM audit_log
      WHERE ($1::text IS NULL OR client = $1) AND ($2::text IS NULL OR action = $2)
      ORDER BY id LIMIT $3`,
    [filter.client ?? null, filter.action ?? null, filter.limit ?? 10_000],
  );
  return r.rows as AuditRow[];
}
