import { canonicalJson } from '../core/canonical.js';
import type { ApprovalRow } from '../store/approvals.js';
import type { RestoreTestRow } from '../store/restore-test-register.js';
import type { NewSignature, SignatureRow } from '../store/signatures.js';
import type { Signer } from './signer.js';

/**
 * What a signed decision is about, and how it is checked. The signed content is the canonical JSON
 * (src/core/canonical.ts) of everything the decision concerns — for a production restore: the request id,
 * client, scope and tables, backup key and sha256, requester, reason, ticket, checklist answers, requested-at
 * and expiry, the measured impact; then the meaning, the signer's Slack ID, full name and role, the statement
 * shown and the UTC time — signed with Ed25519. A signature therefore cannot be copied to another request,
 * and survives no edit of the request, the decision or the signer.
 */
interface SignerIdentity { slackId: string; name: string; role: string }

const iso = (d: Date | string | null | undefined) => (d === null || d === undefined ? null : new Date(d).toISOString());

/** The request as it was made (the evidence row's fields; nothing of its later state). */
export function requestSubject(a: ApprovalRow): Record<string, unknown> {
  return {
    id: String(a.id), client: a.client, scope: a.scope, strategy: a.strategy, tables: a.tables, backupId: a.backup_id === null ? null : String(a.backup_id),
    backupKey: a.backup_key, backupFile: a.backup_file, backupSha256: a.backup_sha256, backupTakenAt: iso(a.backup_taken_at),
    requestedBy: a.requested_by, requestedByName: a.requested_by_name, reason: a.reason, ticket: a.ticket, checklist: a.checklist,
    plannedStart: iso(a.planned_start), requestedAt: iso(a.requested_at), expiresAt: iso(a.expires_at), impact: a.impact,
  };
}

/** The restore test as recorded in §12 (QA verifies what was recorded). */
export function restoreTestSubject(t: RestoreTestRow): Record<string, unknown> {
  return {
    id: String(t.id), client: t.client, testedAt: iso(t.tested_at), quarter: t.quarter, backupUsed: t.backup_used, environment: t.environment,
    restoreMinutes: t.restore_minutes === null ? null : Number(t.restore_minutes), recordsVerified: t.records_verified, checks: t.checks,
    executedBy: t.executed_by, result: t.result, observations: t.observations, runId: t.run_id === null ? null : String(t.run_id),
  };
}

interface DecisionInput {
  kind: 'restore-decision' | 'qa-verification';
  subject: Record<string, unknown>;
  meaning: string;
  signer: SignerIdentity;
  statement: string;
  reason?: string | null;
  signedAt: Date;
}

function decisionContent(d: DecisionInput): string {
  const about = d.kind === 'restore-decision' ? 'request' : 'restoreTest';
  return canonicalJson({ type: d.kind, [about]: d.subject, meaning: d.meaning, signer: d.signer, statement: d.statement, reason: d.reason ?? null, signedAt: iso(d.signedAt) });
}

/** Signs a decision; the row to append to the signatures register. */
export function signDecision(signer: Signer, d: DecisionInput & { subjectId: string; client: string }): NewSignature {
  const content = decisionContent(d);
  return {
    kind: d.kind, subject: d.subjectId, client: d.client, meaning: d.meaning, signerId: d.signer.slackId, signerName: d.signer.name, signerRole: d.signer.role,
    statement: d.statement, reason: d.reason ?? null, signedAt: d.signedAt, keyId: signer.keyId, content, signature: signer.sign(content),
  };
}

/** Why a stored signature does not hold for `subject` (empty when it does). */
export function signatureProblems(signer: Signer, sig: SignatureRow, expected: { kind: SignatureRow['kind']; subjectId: string; subject: Record<string, unknown> }): string[] {
  const problems: string[] = [];
  if (!signer.trusted.has(sig.key_id)) problems.push(`signed with key ${sig.key_id}, which this bot does not trust (evidence.trustedKeys)`);
  else if (!signer.verify(sig.key_id, sig.content, sig.signature)) problems.push('bad signature: the signed content or the signature was changed');
  let content: Record<string, unknown>;
  try {
    content = JSON.parse(sig.content) as Record<string, unknown>;
  } catch {
    return [...problems, 'the signed content is not JSON'];
  }
  const about = (expected.kind === 'restore-decision' ? content.request : content.restoreTest) as Record<string, unknown> | undefined;
  if (sig.kind !== expected.kind || content.type !== expected.kind) problems.push(`a ${String(content.type)} signature where a ${expected.kind} is expected`);
  if (sig.subject !== expected.subjectId || String(about?.id) !== String(expected.subject.id)) {
    problems.push(`the signature was made for ${about?.id !== undefined ? `#${String(about.id)}` : 'another record'}, not this one (copied)`);
  } else if (canonicalJson(about) !== canonicalJson(expected.subject)) {
    const changed = Object.keys(expected.subject).filter((k) => canonicalJson((about ?? {})[k]) !== canonicalJson(expected.subject[k]));
    problems.push(`the record was edited after it was signed (${changed.join(', ') || 'fields'} differ)`);
  }
  const signerIn = content.signer as SignerIdentity | undefined;
  if (content.meaning !== sig.meaning || signerIn?.slackId !== sig.signer_id || signerIn?.name !== sig.signer_name || signerIn?.role !== sig.signer_role
    || content.statement !== sig.statement || content.signedAt !== iso(sig.signed_at)) {
    problems.push('the signature row was edited (its meaning, signer, statement or time differ from what was signed)');
  }
  return problems;
}

export interface DecisionVerdict {
  /** The valid approving signature, when there is exactly that. */
  approved?: SignatureRow;
  /** A valid rejection. */
  rejected?: SignatureRow;
  /** Everything that does not verify (forged, copied, edited signatures; a decision without a signature). */
  problems: string[];
}

/** What the signatures of a request say, trusting nothing but the signatures themselves. */
export function verifyDecision(signer: Signer, a: ApprovalRow, sigs: SignatureRow[]): DecisionVerdict {
  const out: DecisionVerdict = { problems: [] };
  const expected = { kind: 'restore-decision' as const, subjectId: `approval:${a.id}`, subject: requestSubject(a) };
  for (const sig of sigs.filter((s) => s.kind === 'restore-decision')) {
    const p = signatureProblems(signer, sig, expected);
    if (p.length) { out.problems.push(`signature ${sig.id}: ${p.join('; ')}`); continue; }
    if (sig.meaning === 'approved') out.approved ??= sig;
    else if (sig.meaning === 'rejected') out.rejected ??= sig;
  }
  if (out.approved && out.rejected) {
    out.problems.push(`request #${a.id} is both approved (signature ${out.approved.id}) and rejected (signature ${out.rejected.id})`);
    delete out.approved;
  }
  return out;
}
