import { z } from 'zod';
import type { Context } from '../context.js';
import { parseDbUrl } from '../core/db-url.js';
import { dockerFromConfig } from '../core/staging/docker.js';
import type { ApprovalRow } from '../store/approvals.js';
import type { BackupRow } from '../store/backup-register.js';
import type { RestoreTestRow } from '../store/restore-test-register.js';
import type { Run } from '../store/runs.js';
import { describeInputIssues } from './input-issues.js';
import { manifestOf } from './manifest.js';
import { checkStartGate } from './restore-gate.js';
import { recordRestoreCompleted, reportRestoreFailure } from './restore-incident.js';
import { watchRto, type RtoWatch } from './rto-watch.js';
import { RESTORE_PLAN, restoreSteps, type RestoreState, type RestoreStrategyName } from './restore-steps.js';
import { withBackupRead, withClientLock } from './recover-client.js';
import { markRestoresInterrupted } from './restore-recovery.js';
import { runRunbook, type Runbook, type StepsOutcome } from './runbook.js';
import type { ReportEvent } from './reporter.js';

/**
 * The production restore (SOP-001 9.2), started by the requester after the written approval: the start gate
 * (restore-gate.ts), then the runbook of restore-steps.ts (with the steps of the client's engine, restore-pg.ts or
 * restore-mysql.ts) under the client's restore lock. Each step is a line in ONE message updated live, audited, and
 * kept in the approval's steps. A failure undoes what had changed (swap back, reload the pre-restore backup,
 * restart the app) and is recorded as an incident (SOP-001 13.5).
 */
const runRestoreInput = z.strictObject({
  approvalId: z.string().regex(/^\d{1,18}$/, 'must be a request number'),
  client: z.string().max(63).optional(),
  message: z.strictObject({ channel: z.string().max(40), ts: z.string().max(40) }).optional(),
  userId: z.string().min(1).max(40),
  userName: z.string().max(200).optional(),
  trigger: z.enum(['cli', 'slack', 'schedule', 'system']).default('slack'),
});
export type RunRestoreInput = z.input<typeof runRestoreInput>;

export type RunRestoreResult =
  | { ok: true; approval: ApprovalRow; run: Run; register: RestoreTestRow }
  | { ok: false; message: string; approval?: ApprovalRow; run?: Run; failedStep?: string; rolledBack?: boolean };

export interface RunRestoreHooks {
  /** Called after each step completed (tests use it to stop the bot mid-runbook). */
  afterStep?: (step: string) => Promise<void> | void;
  signal?: AbortSignal;
}

/** Refusals before anything starts (not the requester, not approved, tampered …): audited, nothing changes. */
export async function runRestore(ctx: Context, raw: RunRestoreInput, hooks: RunRestoreHooks = {}): Promise<RunRestoreResult> {
  const r0 = raw as Partial<Record<string, unknown>>;
  const refuse = async (message: string, a?: ApprovalRow): Promise<RunRestoreResult> => {
    await ctx.store.audit.append({ actor: String(r0.userId ?? 'unknown').slice(0, 40), action: 'restore.start_refused', client: a?.client ?? null, target: `approval:${String(r0.approvalId ?? '?').slice(0, 20)}`, reason: message });
    return { ok: false, message, ...(a ? { approval: a } : {}) };
  };
  const parsed = runRestoreInput.safeParse(raw);
  if (!parsed.success) return refuse(describeInputIssues(parsed.error));
  const input = parsed.data;
  const gate = await checkStartGate(ctx, input);
  if (!gate.ok) {
    if (gate.tampered) await alertTampered(ctx, gate.approval, input.approvalId, gate.tampered);
    return refuse(gate.message, gate.approval);
  }
  const { approval, backup } = gate;
  // Lock order (restore, then the backup's shared read lock, then the pre-restore backup's lock) and recovery of the client's dead runs: recover-client.ts.
  const res = await withClientLock(ctx, 'restore', approval.client, async () => {
    // Requests whose runbook died with its process are shown interrupted before this one starts.
    await markRestoresInterrupted(ctx).catch((err: unknown) => ctx.logger.warn({ err: String(err) }, 'could not mark interrupted restores'));
    return withBackupRead(ctx, approval.client, backup.id, () => restoreLocked(ctx, approval, backup, input, hooks));
  }, { wait: false });
  if (!res.acquired) return refuse(`another production restore of ${approval.client} is running; wait for it to finish. Nothing was done.`, approval);
  return res.value;
}

/** S1: a production-restore request whose approval record does not verify (audited by the refusal; alerted once per incident). */
async function alertTampered(ctx: Context, a: ApprovalRow | undefined, approvalId: string, problems: string[]): Promise<void> {
  const client = a?.client ?? '';
  const title = `approval record does not verify: restore #${approvalId} refused`;
  await ctx.store.audit.append({ actor: 'backup-bot', action: 'evidence.broken', client: client || null, target: `approval:${approvalId}`, reason: title, details: { problems } });
  if (!client) return;
  const alert = await ctx.store.alerts.open({ client, kind: 'evidence', severity: 'S1', message: `${title}: ${problems.join('; ')}`.slice(0, 2000), at: ctx.clock.now(), details: { approvalId } }).catch(() => undefined);
  const ref = await ctx.reporter.report({ kind: 'alert.evidence_broken', client, title, problems, audience: ['systemOwners', 'itManagers', 'operators'] });
  if (ref && alert) await ctx.store.alerts.setMessage(alert.id, ref.channel, ref.ts).catch(() => undefined);
}

function strategyOf(a: ApprovalRow): RestoreStrategyName {
  return a.scope === 'partial' ? 'partial' : a.strategy === 'replace' ? 'replace' : 'swap';
}

async function restoreLocked(ctx: Context, approval: ApprovalRow, backup: BackupRow, input: z.infer<typeof runRestoreInput>, hooks: RunRestoreHooks): Promise<RunRestoreResult> {
  const cfg = ctx.client(approval.client);
  const target = parseDbUrl(cfg.database.url, cfg.database.engine);
  const strategy = strategyOf(approval);
  const steps = restoreSteps(cfg.database.engine);
  const plan = RESTORE_PLAN;
  const s: RestoreState = {
    ctx, cfg, client: approval.client, approval, backup, facts: manifestOf(backup), strategy, target, prodDb: target.database, docker: dockerFromConfig(ctx.config),
    userId: input.userId, actorName: input.userName ?? approval.requested_by_name ?? input.userId, trigger: input.trigger, t0: Date.now(),
    appStopped: false, appStarted: false, swapped: false, prodDropped: false, partialApplied: false, counts: {}, checks: [],
  };
  let status = 'running';
  let error: string | null = null;
  let notStarted: string | undefined;
  let rto: RtoWatch | undefined;
  const view = (records: Runbook<RestoreState>['records']): ReportEvent => {
    const failed = records.find((r) => r.status === 'failed' && !r.undo);
    return { kind: 'restore.runbook', client: s.client, view: { approval: s.approval, plan, steps: records, status: failed && status === 'running' ? 'failing — recovering' : status, error: error ?? (failed ? `${failed.step.replace(/_/g, ' ')} failed: ${failed.note ?? ''}` : null) } };
  };
  const r = await runRunbook(ctx, {
    name: 'restore', kind: 'restore', client: s.client, actor: input.userId, trigger: input.trigger, steps, signal: hooks.signal, auditEverySteps: true,
    details: { target: `approval:${approval.id}`, approvalId: approval.id, strategy, backup: backup.file, approvedBy: approval.decided_by_name, decisionSignature: approval.decision_id },
    async onStart(run) {
      s.runId = run.id;
      const claimed = await ctx.store.approvals.claimForRunbook({ id: approval.id, startedBy: input.userId, startedByName: s.actorName, at: ctx.clock.now(), runId: run.id, instance: ctx.instance.id });
      if (!claimed) {
        const now = await ctx.store.approvals.get(approval.id);
        notStarted = `restore #${approval.id} was started a moment ago (it is ${now?.status ?? '?'}); it runs once. Nothing was done.`;
        s.approval = now ?? approval;
        return false;
      }
      s.approval = claimed;
      rto = watchRto(ctx, { client: s.client, approvalId: approval.id, startedAt: s.t0 });
    },
    async onRecord(rec) { await ctx.store.approvals.recordStep(s.approval.id, rec); },
    async onMessage(ref) { await ctx.store.approvals.setRunbookMessage(s.approval.id, ref.channel, ref.ts); },
    afterStep: hooks.afterStep,
    view: ({ records }) => view(records),
  }, s, async (o, rb) => {
    rto?.stop(); // the runbook is over: no RTO alert after this
    const c = await conclude(ctx, s, o, rb);
    status = c.status;
    error = c.error;
    return { status: o.ok ? 'ok' : 'failed', error: o.ok ? null : c.error, details: c.details, result: c };
  });
  rto?.stop();
  await s.local?.cleanup();
  if (r.outcome === 'not-started') return { ok: false, message: notStarted!, approval: s.approval };
  const c = r.result!;
  if (r.outcome.ok) return { ok: true, approval: c.approval, run: r.run, register: s.register! };
  return { ok: false, message: c.error!, approval: c.approval, run: r.run, failedStep: r.outcome.failedStep, rolledBack: c.rolledBack };
}

interface Concluded { status: string; error: string | null; approval: ApprovalRow; rolledBack: boolean; details: Record<string, unknown> }

async function conclude(ctx: Context, s: RestoreState, o: StepsOutcome, rb: Runbook<RestoreState>): Promise<Concluded> {
  const store = ctx.store;
  if (o.ok) {
    const approval = (await store.approvals.finish(s.approval.id, { status: 'completed', at: ctx.clock.now(), registerId: s.register!.id })) ?? s.approval;
    s.approval = approval;
    // A completed restore ends an open incident of an earlier failed one.
    await store.alerts.resolve(s.client, ctx.clock.now(), `resolved by the completed restore request #${approval.id}`, ['restore']).catch(() => undefined);
    await recordRestoreCompleted(ctx, s);
    await store.audit.append({ actor: s.userId, action: 'restore.completed', client: s.client, target: `approval:${approval.id}`, details: { run: rb.run.id, register: s.register!.id, oldDatabase: s.oldDb ?? null, durationMs: Date.now() - s.t0 } });
    return { status: 'completed', error: null, approval, rolledBack: false, details: { registerId: s.register!.id, oldDatabase: s.oldDb ?? null, preRestoreBackup: s.preBackup?.file ?? null } };
  }
  const failure = `${o.failedStep.replace(/_/g, ' ')} failed: ${o.error}`;
  const changed = s.swapped || s.prodDropped || s.partialApplied;
  const recovered = o.undoFailed.length === 0;
  const recovery = [...o.undone, ...o.undoFailed];
  const finalStatus = !changed && recovered ? 'failed' : recovered ? 'rolled_back' : 'failed';
  const summary = !changed
    ? `${failure}. Production was not changed${recovery.length ? `; ${recovery.join('; ')}` : ''}.`
    : recovered
      ? `${failure}. Rolled back: ${recovery.join('; ')}.`
      : `${failure}. ROLLBACK INCOMPLETE: ${recovery.join('; ')}. Production needs attention now.`;
  const approval = (await store.approvals.finish(s.approval.id, { status: finalStatus, at: ctx.clock.now(), error: summary })) ?? s.approval;
  s.approval = approval;
  await store.audit.append({ actor: s.userId, action: changed ? (recovered ? 'restore.rolled_back' : 'restore.rollback_failed') : 'restore.failed', client: s.client, target: `approval:${approval.id}`, reason: summary, details: { run: rb.run.id, failedStep: o.failedStep } });
  await reportRestoreFailure(ctx, { s, runId: rb.run.id, failedStep: o.failedStep, error: o.error, summary, changed, recovered, recovery, alert: rb.records.some((r) => r.step === 'stop_app') });
  const status = finalStatus === 'rolled_back' ? 'failed — rolled back' : !changed && recovered ? 'failed — production unchanged' : 'FAILED — rollback incomplete';
  return { status, error: summary, approval, rolledBack: changed && recovered, details: { failedStep: o.failedStep, rolledBack: changed && recovered } };
}
