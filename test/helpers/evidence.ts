import type { Context } from '../../src/context.js';
import { getApproval, insertApproval, nextApprovalId, type ApprovalRow, type ApprovalStatus } from '../../src/store/approvals.js';
import type { Queryable } from '../../src/store/queryable.js';
import { verifyDecision, type DecisionVerdict } from '../../src/evidence/decisions.js';

/** What the request's signatures prove (the start gate's reading). */
async function decisionOf(ctx: Pick<Context, 'signer' | 'store'>, a: ApprovalRow): Promise<DecisionVerdict> {
  return verifyDecision(ctx.signer, a, await ctx.store.signatures.forSubject(`approval:${a.id}`));
}

/** True when the request carries exactly one valid signed decision with the recorded meaning. */
export async function decisionVerifies(ctx: Pick<Context, 'signer' | 'store'>, a: ApprovalRow): Promise<boolean> {
  const d = await decisionOf(ctx, a);
  return d.problems.length === 0 && (a.meaning === 'approved' ? Boolean(d.approved) : a.meaning === 'rejected' ? Boolean(d.rejected) : false);
}

/**
 * A production-restore request made the way the bot makes one (the chained request row and its state row),
 * then moved to `status` as the runbook would. For tests that need requests in a given state without driving
 * the approval flow; the request carries no signature, so the start gate never accepts it.
 */
export async function seedApproval(
  db: Queryable,
  a: { client: string; backupKey: string; backupId: string; reason?: string; expiresAt: Date; status?: ApprovalStatus },
): Promise<ApprovalRow> {
  const id = await nextApprovalId(db);
  await insertApproval(db, {
    id, client: a.client, scope: 'full', strategy: 'swap', tables: [], backupId: a.backupId, backupKey: a.backupKey, backupFile: null,
    backupSha256: null, backupTakenAt: new Date(a.expiresAt.getTime() - 86_400_000), reason: a.reason ?? 'restore after incident', ticket: null,
    plannedStart: null, checklist: [], impact: {}, requestedBy: 'U1', requestedByName: null, requestedAt: new Date(a.expiresAt.getTime() - 3_600_000),
    expiresAt: a.expiresAt, requestHash: 'h',
  });
  if (a.status && a.status !== 'pending') await db.query(`UPDATE approval_state SET status = $2 WHERE approval_id = $1`, [id, a.status]);
  return (await getApproval(db, id))!;
}
