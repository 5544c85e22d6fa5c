import { describeInputIssues } from './input-issues.js';
import { z } from 'zod';
import type { Context } from '../context.js';
import { formatDateTime } from '../core/time.js';
import { requestHashMatches } from '../core/request-hash.js';
import { requestSubject, signDecision } from '../evidence/decisions.js';
import type { ApprovalRow } from '../store/approvals.js';
import { hasRole, ROLE_LABEL } from './authorize.js';
import { approverRole } from './request-restore.js';

const decideRestoreInput = z.strictObject({
  approvalId: z.string().regex(/^\d{1,18}$/, 'must be a request number'),
  /** The client the interaction named (modal metadata); must be the request's client. */
  client: z.string().max(63).optional(),
  /** The message the button was clicked on; must be the request's message. */
  message: z.strictObject({ channel: z.string().max(40), ts: z.string().max(40) }).optional(),
  userId: z.string().regex(/^[UW][A-Z0-9]{2,20}$/, 'must be a Slack user ID'),
  /** Full name from Slack (users.info), printed in the signature (21 CFR 11.50). */
  userName: z.string().trim().min(1, 'the signer\'s full name is required').max(200),
  meaning: z.enum(['approved', 'rejected']),
  typedClient: z.string().max(200).optional(),
  statementTicked: z.boolean().default(false),
  rejectReason: z.string().trim().max(1000).optional(),
});
export type DecideRestoreInput = z.input<typeof decideRestoreInput>;
export type DecideResult = { ok: true; approval: ApprovalRow } | { ok: false; message: string; approval?: ApprovalRow };

/** The statement an approver signs (shown in the modal, rebuilt on the server at submission, stored with the signature). */
export function approvalStatement(a: ApprovalRow, signer: { name: string; roleLabel: string }, meaning: 'approved' | 'rejected', tz: string, reason?: string): string {
  const taken = a.backup_taken_at ? formatDateTime(a.backup_taken_at, tz) : '(unknown time)';
  const what = a.scope === 'full'
    ? `the production database of ${a.client}`
    : `the tables ${a.tables.join(', ')} of the production database of ${a.client}`;
  if (meaning === 'rejected') {
    return `I, ${signer.name}, ${signer.roleLabel} of ${a.client}, reject restoring ${what} from backup ${a.backup_file ?? a.backup_key} taken ${taken} (request #${a.id}). Reason: ${reason ?? ''}`;
  }
  return `I, ${signer.name}, ${signer.roleLabel} of ${a.client}, approve restoring ${what} from backup ${a.backup_file ?? a.backup_key} taken ${taken}; ` +
    `all data entered after ${taken} will be lost${a.scope === 'partial' ? ' in those tables' : ''} (request #${a.id}).`;
}

type Refusal = { ok: false; message: string; approval?: ApprovalRow; details: Record<string, unknown> };

/**
 * Whether `userId` may decide (approve or reject) this request now: every rule is checked here, on the server,
 * from the state database and the config, never from what the button or modal carried. Called when the modal
 * opens and again when it is submitted (the state may have changed in between).
 */
export async function checkDecider(ctx: Context, input: { approvalId: string; userId: string; meaning: 'approved' | 'rejected'; client?: string; message?: { channel?: string; ts: string } }): Promise<{ ok: true; approval: ApprovalRow; roleLabel: string } | Refusal> {
  const no = (message: string, a?: ApprovalRow, details: Record<string, unknown> = {}): Refusal => ({ ok: false, message, ...(a ? { approval: a } : {}), details });
  const a = /^\d{1,18}$/.test(input.approvalId) ? await ctx.store.approvals.get(input.approvalId) : undefined;
  if (!a) return no(`there is no restore request #${input.approvalId.slice(0, 20)}. Nothing was done.`);
  if (input.client !== undefined && input.client !== a.client) {
    return no(`this interaction names client "${input.client}" but request #${a.id} is for ${a.client}: refused as a forged or stale interaction. Nothing was done.`, a, { forged: 'client' });
  }
  if (input.message && a.slack_ts && (input.message.ts !== a.slack_ts || (input.message.channel !== undefined && input.message.channel !== a.slack_channel))) {
    return no(`this button does not belong to the message of request #${a.id}: refused as a forged interaction. Nothing was done.`, a, { forged: 'message' });
  }
  const role = approverRole(a.scope);
  const label = ROLE_LABEL[role];
  if (!(await hasRole(ctx, a.client, input.userId, role))) {
    return no(`only the ${label} of ${a.client} can ${input.meaning === 'approved' ? 'approve' : 'reject'} a ${a.scope} production restore (SOP-001 9.1). Nothing was done.`, a, { missingRole: role });
  }
  if (input.meaning === 'approved' && input.userId === a.requested_by) {
    return no(`you requested this restore, so you cannot approve it (four eyes: another ${label} must approve). Nothing was done.`, a, { fourEyes: true });
  }
  if (a.status !== 'pending') {
    const by = a.decided_by_name ? ` by ${a.decided_by_name} at ${a.decided_at?.toISOString()}` : '';
    return no(`request #${a.id} is already ${a.status}${by}; a decision is taken once. Nothing was done.`, a, { status: a.status });
  }
  const now = ctx.clock.now();
  if (now.getTime() >= a.expires_at.getTime()) {
    await ctx.store.approvals.expire(a.id, now);
    return no(`request #${a.id} expired at ${a.expires_at.toISOString()} (requests are valid for ${ctx.config.approvals.ttl}); ask for a new one. Nothing was done.`, a, { expired: true });
  }
  if (!requestHashMatches(a)) return no(`request #${a.id} was changed after it was made (its hash no longer matches); it cannot be signed. Nothing was done.`, a, { tampered: true });
  return { ok: true, approval: a, roleLabel: label };
}

/**
 * Approves or rejects a pending restore request: checkDecider's rules, then what the person typed (the client's
 * name, the ticked statement, a rejection's reason); each refusal says why and is audited. The decision is one
 * conditional UPDATE … WHERE status = 'pending' in a transaction: exactly one decision wins.
 */
export async function decideRestore(ctx: Context, raw: DecideRestoreInput): Promise<DecideResult> {
  const r0 = raw as Partial<Record<string, unknown>>;
  const refuse = async (message: string, a?: ApprovalRow, details: Record<string, unknown> = {}): Promise<DecideResult> => {
    await ctx.store.audit.append({
      actor: String(r0.userId ?? 'unknown').slice(0, 40), action: 'restore.decision_refused', client: a?.client ?? (typeof r0.client === 'string' ? r0.client.slice(0, 63) : null),
      target: `approval:${String(r0.approvalId ?? '?').slice(0, 20)}`, reason: message, details: { meaning: r0.meaning ?? null, ...details },
    });
    return { ok: false, message, ...(a ? { approval: a } : {}) };
  };
  const parsed = decideRestoreInput.safeParse(raw);
  if (!parsed.success) return refuse(describeInputIssues(parsed.error));
  const input = parsed.data;
  const check = await checkDecider(ctx, input);
  if (!check.ok) return refuse(check.message, check.approval, check.details);
  const { approval: a, roleLabel: label } = check;
  if (input.meaning === 'approved') {
    if ((input.typedClient ?? '').trim() !== a.client) {
      return refuse(`to approve, type the client's name exactly: "${a.client}" (you typed "${(input.typedClient ?? '').slice(0, 60)}"). Nothing was done.`, a, { typedClient: false });
    }
    if (!input.statementTicked) return refuse('to approve, tick the statement to sign it. Nothing was done.', a, { statementTicked: false });
  } else if (!input.rejectReason) {
    return refuse('a rejection needs a reason. Nothing was done.', a);
  }
  const now = ctx.clock.now();

  const statement = approvalStatement(a, { name: input.userName, roleLabel: label }, input.meaning, ctx.config.timezone, input.rejectReason);
  const signature = signDecision(ctx.signer, {
    kind: 'restore-decision', subject: requestSubject(a), subjectId: `approval:${a.id}`, client: a.client, meaning: input.meaning,
    signer: { slackId: input.userId, name: input.userName, role: label }, statement, reason: input.meaning === 'rejected' ? input.rejectReason ?? null : null, signedAt: now,
  });
  const decided = await ctx.store.transaction(async (tx) => {
    const row = await tx.approvals.recordDecision({ approvalId: a.id, meaning: input.meaning, signature });
    if (row) {
      await tx.audit.append({
        actor: input.userId, action: input.meaning === 'approved' ? 'restore.approved' : 'restore.rejected', client: a.client, target: `approval:${a.id}`,
        reason: input.meaning === 'rejected' ? input.rejectReason ?? null : a.reason,
        details: { signer: input.userName, role: label, signedAt: now.toISOString(), statement, keyId: signature.keyId, signatureId: row.decision_id },
      });
    }
    return row;
  });
  if (!decided) {
    const now2 = await ctx.store.approvals.get(a.id);
    return refuse(`request #${a.id} was decided a moment ago${now2?.decided_by_name ? ` (${now2.status} by ${now2.decided_by_name})` : ''}; a decision is taken once. Nothing was done.`, now2 ?? a, { lostRace: true });
  }
  if (decided.slack_channel && decided.slack_ts) {
    await ctx.reporter.report({ kind: 'restore.decided', client: decided.client, approval: decided }, { channel: decided.slack_channel, ts: decided.slack_ts });
  }
  return { ok: true, approval: decided };
}
