import type { Context } from '../context.js';
import { signChainHeads, verifyEvidence, type EvidenceReport } from '../evidence/verify.js';

/**
 * Verifies every chain, signature and signed head (`backup-bot evidence verify`, and the daily digest). When it
 * all holds, the current chain heads are signed (so deleting the newest rows later is detected too) and an
 * open evidence alert is resolved; when not, an S1 alert is raised once per incident and nothing is signed.
 */
export async function checkEvidence(ctx: Context, input: { reason: 'digest' | 'verify' | 'report'; actor: string }): Promise<EvidenceReport & { headsSigned: number }> {
  const report = await verifyEvidence(ctx.store, ctx.signer);
  const now = ctx.clock.now();
  if (report.ok) {
    const heads = await signChainHeads(ctx.store, ctx.signer, input.reason, now);
    const resolved = await ctx.store.alerts.resolve('', now, 'evidence verified intact again', ['evidence']);
    if (resolved.length) await ctx.store.audit.append({ actor: input.actor, action: 'evidence.intact', client: null, target: 'evidence', reason: report.summary, details: { alerts: resolved.map((a) => a.id) } });
    return { ...report, headsSigned: heads.length };
  }
  await ctx.store.audit.append({
    actor: input.actor, action: 'evidence.broken', client: null, target: 'evidence', reason: report.summary,
    details: { broken: report.broken.slice(0, 100) },
  });
  const problems = report.broken.map((b) => `${b.register} ${b.id}: ${b.what} — ${b.detail}`);
  const alert = await ctx.store.alerts.open({ client: '', kind: 'evidence', severity: 'S1', message: report.summary, at: now, details: { broken: report.broken.length } }).catch(() => undefined);
  if (alert) {
    const ref = await ctx.reporter.report({ kind: 'alert.evidence_broken', client: '', title: 'the evidence registers do not verify', problems, audience: [] });
    if (ref) await ctx.store.alerts.setMessage(alert.id, ref.channel, ref.ts).catch(() => undefined);
  }
  return { ...report, headsSigned: 0 };
}
