import type { Context } from '../context.js';
import { errorMessage } from '../core/errors.js';
import type { RestoreState } from './restore-steps.js';
import { requestQaVerification } from './qa-loop.js';

const minutesSince = (t0: number) => Math.round((Date.now() - t0) / 600) / 100;

/**
 * A production restore that failed: the SOP 13.5 incident row and, once the application had been stopped, an
 * alert (S1 when the way back did not complete, else S2) naming the operators and the approvers.
 */
export async function reportRestoreFailure(ctx: Context, f: { s: RestoreState; runId: string; failedStep: string; error: string; summary: string; changed: boolean; recovered: boolean; recovery: string[]; alert: boolean }): Promise<void> {
  const { s } = f;
  const at = ctx.clock.now();
  const severity: 'S1' | 'S2' = f.recovered ? 'S2' : 'S1';
  const incident = await ctx.store.incidents.open({
    approvalId: s.approval.id, client: s.client, at, description: `Production restore #${s.approval.id} failed at step "${f.failedStep}": ${f.error.slice(0, 500)}`,
    backupUsed: s.backup.file, recoveryMinutes: minutesSince(s.t0), status: 'open', severity, source: `restore:${s.approval.id}`, recordedBy: 'backup-bot',
    dataLost: f.changed && !f.recovered ? 'unknown: rollback incomplete' : 'none (production unchanged or rolled back)',
    correctiveActions: f.recovery.join('; ') || 'none needed',
  });
  if (!f.alert) return;
  const audience = s.approval.scope === 'full' ? ['operators', 'systemOwners'] as const : ['operators', 'itManagers'] as const;
  const event = { kind: 'alert.restore_failed' as const, client: s.client, approvalId: s.approval.id, step: f.failedStep, summary: f.summary, severity, audience: [...audience], incidentId: incident.id };
  const alert = await ctx.store.alerts.open({ client: s.client, kind: 'restore', severity, message: `Production restore of ${s.client} failed at step "${f.failedStep}" (request #${s.approval.id}). ${f.summary}`.slice(0, 2000), at, details: { approvalId: s.approval.id, run: f.runId }, incidentId: incident.id })
    .catch((err: unknown) => { ctx.logger.warn({ err: errorMessage(err) }, 'could not open the restore alert'); return undefined; });
  const ref = await ctx.reporter.report(event);
  if (ref && alert) await ctx.store.alerts.setMessage(alert.id, ref.channel, ref.ts).catch(() => undefined);
}

/**
 * A completed production restore is an incident too (SOP 13.5: something needed the data of a backup): recorded
 * as resolved, with the backup used, the recovery time and what data it does not hold; a person adds the cause
 * and the corrective action and closes it.
 */
export async function recordRestoreCompleted(ctx: Context, s: RestoreState): Promise<void> {
  const a = s.approval;
  const taken = new Date(s.backup.taken_at).toISOString();
  const incident = await ctx.store.incidents.open({
    approvalId: a.id, client: s.client, at: ctx.clock.now(), status: 'resolved', severity: 'S2', source: `restore:${a.id}`, recordedBy: 'backup-bot',
    description: `Production restore #${a.id} completed (${a.scope}${a.tables.length ? `: ${a.tables.join(', ')}` : ''}). Reason: ${a.reason}${a.ticket ? ` (ticket ${a.ticket})` : ''}`.slice(0, 2000),
    backupUsed: s.backup.file, recoveryMinutes: minutesSince(s.t0),
    dataLost: `changes made after the backup (${taken})${a.scope === 'partial' ? ' to the restored tables' : ''} are not in the restored data`,
  }).catch((err: unknown) => { ctx.logger.error({ err: errorMessage(err), approval: a.id }, 'could not record the restore in the incident register'); return undefined; });
  // The §12 row of a production restore is QA-signable like a restore test's (SOP-001 §12, "Test/Prod").
  // Its message also offers the incident's button (the cause of the restore and the corrective action).
  if (s.register) await requestQaVerification(ctx, s.register, incident ? { incidentId: incident.id } : {}).catch((err: unknown) => ctx.logger.warn({ err: errorMessage(err) }, 'could not ask QA to verify the restore'));
}
