import { createHash } from 'node:crypto';

/**
 * Electronic signature of a production-restore decision (21 CFR 11.50 / 11.70).
 *
 * request_hash   = sha256(canonical JSON of the request's fields) — binds the signature to exactly that request;
 * signature_hash = sha256(canonical JSON of {request_hash, signer id, signer name, meaning, UTC time, statement}).
 *
 * verifySignature(row) recomputes both from the stored row: any later edit of the request (or of the signature
 * fields) makes it fail.
 */

/** JSON with object keys sorted at every level, dates as ISO-8601 UTC, no whitespace. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(normalize(value));
}

function normalize(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) out[k] = normalize((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

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

export type Meaning = 'approved' | 'rejected';

export interface SignatureFields {
  requestHash: string;
  signerId: string;
  signerName: string;
  meaning: Meaning;
  signedAt: Date | string;
  statement: string;
}

export function signatureHash(s: SignatureFields): string {
  return sha256Hex(canonicalJson({
    requestHash: s.requestHash,
    signerId: s.signerId,
    signerName: s.signerName,
    meaning: s.meaning,
    signedAt: toIso(s.signedAt),
    statement: s.statement,
  }));
}

/** A stored approvals row, as far as the signature is concerned. */
export interface SignedRow extends RequestFields {
  request_hash: string;
  decided_by: string | null;
  decided_by_name: string | null;
  decided_at: Date | string | null;
  meaning: string | null;
  statement: string | null;
  signature_hash: string | null;
}

export interface SignatureCheck {
  ok: boolean;
  requestHashOk: boolean;
  /** null when the request has no decision yet. */
  signatureOk: boolean | null;
  problems: string[];
}

/** Recomputes the request hash and the signature hash from the row; reports which one no longer matches. */
export function verifySignature(row: SignedRow): SignatureCheck {
  const problems: string[] = [];
  const requestHashOk = requestHash(row) === row.request_hash;
  if (!requestHashOk) problems.push('the request was changed after it was made (request hash does not match)');
  let signatureOk: boolean | null = null;
  if (row.signature_hash !== null || row.meaning !== null || row.decided_by !== null) {
    if (!row.signature_hash || !row.decided_by || !row.decided_by_name || !row.decided_at || !row.statement || (row.meaning !== 'approved' && row.meaning !== 'rejected')) {
      signatureOk = false;
      problems.push('the decision is incomplete (signer, name, time, meaning, statement and hash are all required)');
    } else {
      signatureOk = signatureHash({
        requestHash: row.request_hash,
        signerId: row.decided_by,
        signerName: row.decided_by_name,
        meaning: row.meaning,
        signedAt: row.decided_at,
        statement: row.statement,
      }) === row.signature_hash;
      if (!signatureOk) problems.push('the signed decision was changed after it was signed (signature hash does not match)');
    }
  }
  return { ok: requestHashOk && signatureOk !== false, requestHashOk, signatureOk, problems };
}
