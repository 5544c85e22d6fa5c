import type { Context } from '../context.js';
import { parseDuration } from '../config/duration.js';
import { verifyDecision } from '../evidence/decisions.js';
import type { ApprovalRow } from '../store/approvals.js';
import type { BackupRow } from '../store/backup-register.js';
import { hasRole, ROLE_LABEL } from './authorize.js';
import { approverRole } from './request-restore.js';

export type GateResult =
  | { ok: true; approval: ApprovalRow; backup: BackupRow }
  | { ok: false; message: string; approval?: ApprovalRow; tampered?: string[] };

/**
 * Whether a production restore may start, for exactly this request and this person. It trusts signatures,
 * never a status column: a valid Ed25519 signature with meaning `approved` over this very request must exist;
 * its signer is not the requester and holds the required role now (user groups asked again); the requester is
 * still an operator; the approval has not expired and has not been used (the audit log has no start of it).
 * A record that claims more than its signatures prove (approved without a valid signature, a rejected request,
 * an edited request, a signature copied from another one) is `tampered`: refused, and the caller raises an S1 alert.
 */
export async function checkStartGate(ctx: Context, input: { approvalId: string; userId: string; client?: string; message?: { channel: string; ts: string } }): Promise<GateResult> {
  const a = await ctx.store.approvals.get(input.approvalId);
  const no = (message: string, tampered?: string[]): GateResult => ({ ok: false, message, ...(a ? { approval: a } : {}), ...(tampered ? { tampered } : {}) });
  if (!a) return no(`there is no restore request #${input.approvalId}. Nothing was done.`);
  if (input.client !== undefined && input.client !== a.client) return no(`this interaction names client "${input.client}" but request #${a.id} is for ${a.client}: refused. Nothing was done.`);
  if (input.message && a.slack_ts && (input.message.ts !== a.slack_ts || input.message.channel !== a.slack_channel)) return no(`this button does not belong to the message of request #${a.id}: refused. Nothing was done.`);
  if (input.userId !== a.requested_by) return no(`only the requester (${a.requested_by_name ?? a.requested_by}) can start restore #${a.id}. Nothing was done.`);

  const verdict = verifyDecision(ctx.signer, a, await ctx.store.signatures.forSubject(`approval:${a.id}`));
  const claimsApproval = ['approved', 'running', 'completed', 'failed', 'rolled_back', 'interrupted'].includes(a.status);
  if (verdict.problems.length || verdict.rejected || (claimsApproval && !verdict.approved)) {
    const why = [...verdict.problems, ...(verdict.rejected ? [`request #${a.id} was rejected by ${verdict.rejected.signer_name} (signed)`] : []),
      ...(!verdict.approved && !verdict.rejected ? [`the request says "${a.status}" but carries no valid approving signature`] : [])];
    if (verdict.rejected && !claimsApproval && verdict.problems.length === 0) return no(`restore #${a.id} was rejected; it cannot be started. Nothing was done.`);
    return no(`restore #${a.id} cannot start: the approval record does not verify (${why.join('; ')}). Nothing was done.`, why);
  }
  if (!verdict.approved) return no(`restore #${a.id} is ${a.status}${a.status === 'pending' ? ' (waiting for the written approval)' : ''}; only an approved request can be started, once. Nothing was done.`);
  const sig = verdict.approved;
  if (await ctx.store.audit.has('restore.started', `approval:${a.id}`)) return no(`restore #${a.id} is ${a.status}: it was already started (the audit log records it); an approval is used once. Nothing was done.`);
  if (a.status !== 'approved') return no(`restore #${a.id} is ${a.status}; only an approved request can be started, once. Nothing was done.`);
  const role = approverRole(a.scope);
  if (sig.signer_id === a.requested_by) return no(`restore #${a.id} was approved by its own requester; four eyes are required. Nothing was done.`, ['approved by the requester']);
  if (!(await hasRole(ctx, a.client, sig.signer_id, role, { fresh: true }))) {
    return no(`${sig.signer_name}, who approved restore #${a.id}, is no longer a ${ROLE_LABEL[role]} of ${a.client}; ask for a new approval. Nothing was done.`);
  }
  if (!(await hasRole(ctx, a.client, a.requested_by, 'operators', { fresh: true }))) return no(`the requester is no longer an operator of ${a.client}. Nothing was done.`);
  // The signed statement describes the data lost at the time of the decision: an approval is used within
  // approvals.ttl of being given, or asked for again.
  const ttlMs = parseDuration(ctx.config.approvals.ttl) ?? 86_400_000;
  if (ctx.clock.now().getTime() > sig.signed_at.getTime() + ttlMs) {
    return no(`the approval of restore #${a.id} was given at ${sig.signed_at.toISOString()} and expired after approvals.ttl (${ctx.config.approvals.ttl}); request the restore again. Nothing was done.`);
  }
  const backup = a.backup_id ? await ctx.store.backups.get(a.backup_id) : undefined;
  if (!backup || backup.deleted_at || backup.client !== a.client) return no(`the approved backup ${a.backup_file ?? a.backup_key} is no longer available. Nothing was done.`);
  if (backup.sha256 !== a.backup_sha256) return no('the approved backup\'s sha256 changed in the register since the approval. Nothing was done.', ['the approved backup\'s sha256 differs from the register']);
  return { ok: true, approval: a, backup };
}
