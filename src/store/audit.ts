import type { Queryable } from './queryable.js';
import { appendChained } from './chain.js';

export interface AuditEntry {
  actor: string;
  action: string;
  client?: string | null;
  target?: string | null;
  reason?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditRow extends Required<Omit<AuditEntry, 'details'>> { id: string; at: Date; details: Record<string, unknown> }

/** Appends to the audit log, a hash chain (the table refuses UPDATE, DELETE and TRUNCATE). */
export async function audit(db: Queryable, e: AuditEntry): Promise<void> {
  await appendChained(db, 'audit_log', { at: new Date(), actor: e.actor, action: e.action, client: e.client ?? null, target: e.target ?? null, reason: e.reason ?? null, details: e.details ?? {} });
}

/** Whether the audit log holds an entry of `action` on `target` (e.g. a restore already started). */
export async function hasAudit(db: Queryable, action: string, target: string): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM audit_log WHERE action = $1 AND target = $2 LIMIT 1', [action, target]);
  return (r.rowCount ?? 0) > 0;
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

/** Who did `action` on `target` (e.g. who launched a restore test), oldest first. */
export async function auditActors(db: Queryable, action: string, target: string): Promise<string[]> {
  const r = await db.query<{ actor: string }>('SELECT actor FROM audit_log WHERE action = $1 AND target = $2 ORDER BY id', [action, target]);
  return r.rows.map((x) => x.actor);
}
