import type { Context } from '../context.js';
import { errorMessage } from '../core/errors.js';
import type { RestoreState } from './restore-steps.js';

/**
 * A production restore that failed once the application had been stopped: the SOP 13.5 incident row and an
 * alert (S1 when the way back did not complete, else S2) naming the operators and the approvers.
 */
export async function reportRestoreFailure(ctx: Context, f: { s: RestoreState; runId: string; failedStep: string; error: string; summary: string; changed: boolean; recovered: boolean; recovery: string[] }): Promise<void> {
  const { s } = f;
  const at = ctx.clock.now();
  await ctx.store.incidents.insertRestoreIncident({
    approvalId: s.approval.id, client: s.client, at, description: `Production restore #${s.approval.id} failed at step "${f.failedStep}": ${f.error.slice(0, 500)}`,
    backupUsed: s.backup.file, recoveryMinutes: Math.round((Date.now() - s.t0) / 600) / 100,
    dataLost: f.changed && !f.recovered ? 'unknown: rollback incomplete' : 'none (production unchanged or rolled back)',
    correctiveActions: f.recovery.join('; ') || 'none needed',
  });
  const severity: 'S1' | 'S2' = f.recovered ? 'S2' : 'S1';
  const audience = s.approval.scope === 'full' ? ['operators', 'systemOwners'] as const : ['operators', 'itManagers'] as const;
  const event = { kind: 'alert.restore_failed' as const, client: s.client, approvalId: s.approval.id, step: f.failedStep, summary: f.summary, severity, audience: [...audience] };
  const alert = await ctx.store.alerts.open({ client: s.client, kind: 'restore', severity, message: `Production restore of ${s.client} failed at step "${f.failedStep}" (request #${s.approval.id}). ${f.summary}`.slice(0, 2000), at, details: { approvalId: s.approval.id, run: f.runId } })
    .catch((err: unknown) => { ctx.logger.warn({ err: errorMessage(err) }, 'could not open the restore alert'); return undefined; });
  const ref = await ctx.reporter.report(event);
  if (ref && alert) await ctx.store.alerts.setMessage(alert.id, ref.channel, ref.ts).catch(() => undefined);
}
