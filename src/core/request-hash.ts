import { canonicalJson, sha256Hex } from './canonical.js';

/**
 * request_hash = sha256(canonical JSON of a restore request's fields): a digest shown with the request and
 * recomputed before it may be signed (an edited request is not offered for signing). It is not the evidence:
 * anyone can recompute it; what cannot be forged is the Ed25519 signature over the request (src/evidence).
 */

/** The fields of a restore request that a signature covers (as stored in the approvals row). */
export interface RequestFields {
  id: string | number;
  client: string;
  scope: string;
  strategy: string | null;
  tables: string[];
  backup_id: string | number | null;
  backup_key: string;
  backup_file: string | null;
  backup_sha256: string | null;
  backup_taken_at: Date | string | null;
  reason: string;
  ticket: string | null;
  planned_start: Date | string | null;
  checklist: unknown;
  impact: unknown;
  requested_by: string;
  requested_by_name: string | null;
  requested_at: Date | string;
  expires_at: Date | string;
}

function toIso(d: Date | string | null): string | null {
  if (d === null) return null;
  return (d instanceof Date ? d : new Date(d)).toISOString();
}

export function requestHash(r: RequestFields): string {
  return sha256Hex(canonicalJson({
    id: String(r.id),
    client: r.client,
    scope: r.scope,
    strategy: r.strategy,
    tables: r.tables,
    backupId: r.backup_id === null ? null : String(r.backup_id),
    backupKey: r.backup_key,
    backupFile: r.backup_file,
    backupSha256: r.backup_sha256,
    backupTakenAt: toIso(r.backup_taken_at),
    reason: r.reason,
    ticket: r.ticket,
    plannedStart: toIso(r.planned_start),
    checklist: r.checklist,
    impact: r.impact,
    requestedBy: r.requested_by,
    requestedByName: r.requested_by_name,
    requestedAt: toIso(r.requested_at),
    expiresAt: toIso(r.expires_at),
  }));
}

/** True when the stored digest still matches the request's fields. */
export function requestHashMatches(r: RequestFields & { request_hash: string }): boolean {
  return requestHash(r) === r.request_hash;
}
