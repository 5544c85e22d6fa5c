import type { Context } from '../../src/context.js';
import type { ApprovalRow } from '../../src/store/approvals.js';
import { verifyDecision, type DecisionVerdict } from '../../src/evidence/decisions.js';

/** What the request's signatures prove (the start gate's reading). */
export async function decisionOf(ctx: Pick<Context, 'signer' | 'store'>, a: ApprovalRow): Promise<DecisionVerdict> {
  return verifyDecision(ctx.signer, a, await ctx.store.signatures.forSubject(`approval:${a.id}`));
}

/** True when the request carries exactly one valid signed decision with the recorded meaning. */
export async function decisionVerifies(ctx: Pick<Context, 'signer' | 'store'>, a: ApprovalRow): Promise<boolean> {
  const d = await decisionOf(ctx, a);
  return d.problems.length === 0 && (a.meaning === 'approved' ? Boolean(d.approved) : a.meaning === 'rejected' ? Boolean(d.rejected) : false);
}
