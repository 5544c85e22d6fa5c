import type { Context } from '../context.js';
import { parseDuration } from '../config/duration.js';
import { verifySignature } from '../core/signature.js';
import type { ApprovalRow } from '../store/approvals.js';
import type { BackupRow } from '../store/backup-register.js';

export type GateResult = { ok: true; approval: ApprovalRow; backup: BackupRow } | { ok: false; message: string; approval?: ApprovalRow };

/**
 * Whether a production restore may start for exactly this request and this person, decided from the state
 * database and the config (never from what the button carried). Every refusal says why; nothing changes.
 */
export async function checkStartGate(ctx: Context, input: { approvalId: string; userId: string; client?: string; message?: { channel: string; ts: string } }): Promise<GateResult> {
  const a = await ctx.store.approvals.get(input.approvalId);
  const no = (message: string): GateResult => ({ ok: false, message, ...(a ? { approval: a } : {}) });
  if (!a) return no(`there is no restore request #${input.approvalId}. Nothing was done.`);
  if (input.client !== undefined && input.client !== a.client) return no(`this interaction names client "${input.client}" but request #${a.id} is for ${a.client}: refused. Nothing was done.`);
  if (input.message && a.slack_ts && (input.message.ts !== a.slack_ts || input.message.channel !== a.slack_channel)) return no(`this button does not belong to the message of request #${a.id}: refused. Nothing was done.`);
  if (input.userId !== a.requested_by) return no(`only the requester (${a.requested_by_name ?? a.requested_by}) can start restore #${a.id}. Nothing was done.`);
  if (a.status !== 'approved') return no(`restore #${a.id} is ${a.status}${a.status === 'pending' ? ' (waiting for the written approval)' : ''}; only an approved request can be started, once. Nothing was done.`);
  // The signed statement describes the data lost at the time of the decision: an approval is used within
  // approvals.ttl of being given, or asked for again.
  const ttlMs = parseDuration(ctx.config.approvals.ttl) ?? 86_400_000;
  if (a.decided_at && ctx.clock.now().getTime() > a.decided_at.getTime() + ttlMs) {
    return no(`the approval of restore #${a.id} was given at ${a.decided_at.toISOString()} and expired after approvals.ttl (${ctx.config.approvals.ttl}); request the restore again. Nothing was done.`);
  }
  const integrity = verifySignature(a);
  if (!integrity.ok) return no(`restore #${a.id} cannot start: ${integrity.problems.join('; ')}. Nothing was done.`);
  const backup = a.backup_id ? await ctx.store.backups.get(a.backup_id) : undefined;
  if (!backup || backup.deleted_at || backup.client !== a.client) return no(`the approved backup ${a.backup_file ?? a.backup_key} is no longer available. Nothing was done.`);
  if (backup.sha256 !== a.backup_sha256) return no('the approved backup\'s sha256 changed in the register since the approval. Nothing was done.');
  return { ok: true, approval: a, backup };
}
