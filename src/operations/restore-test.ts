import type { Context } from '../context.js';
import { clearAlerts, raiseAlert } from './escalation.js';
import { requestQaVerification } from './qa-loop.js';
import { parseDuration } from '../config/duration.js';
import { OperationError, UserError, errorMessage } from '../core/errors.js';
import { formatDate } from '../core/time.js';
import type { VerifyCheck } from '../core/verify/staging.js';
import type { Run, RunTrigger } from '../store/runs.js';
import type { BackupRow } from '../store/backup-register.js';
import type { RestoreTestRow } from '../store/restore-test-register.js';
import { explainFailure, RESTORE_TEST_STEPS, restoreTestState, type RestoreTestState, type RestoreTestTimings } from './restore-test-steps.js';
import { withBackupRead, withClientLock } from './recover-client.js';
import { withStagingEngine, type EngineChoice } from './staging-engine.js';
import { planOf, runRunbook, type Runbook, type StepsOutcome } from './runbook.js';
import type { MessageRef } from './reporter.js';
import type { RestoreTestStepName, RestoreTestView } from './views.js';

export type RestoreTestStep = RestoreTestStepName;

export interface RestoreTestInput {
  client: string;
  backupKey?: string;
  actor: string;
  actorName?: string;
  trigger: RunTrigger;
  /** Default true: one message in the client's channel, updated per step. */
  notify?: boolean;
  signal?: AbortSignal;
  onProgress?: (step: RestoreTestStep, run: Run) => void;
}

export interface RestoreTestOutcome {
  ok: boolean;
  run: Run;
  register?: RestoreTestRow;
  error?: string;
  failedStep?: RestoreTestStep;
  checks: VerifyCheck[];
  /** Download + restore (the SOP's "Tiempo Restore"). */
  restoreMs?: number;
  timings: RestoreTestTimings;
  backup: { id: string; key: string; file: string };
  message?: MessageRef;
}

/** A restore test of this client is already running (the second one is refused). */
export class RestoreTestBusyError extends UserError {
  constructor(client: string, readonly running?: Run) {
    super(`a restore test of ${client} is already running${running ? ` (run ${running.id}, started by ${running.actor}, step ${running.step ?? '?'})` : ''}; wait for it to finish`);
    this.name = 'RestoreTestBusyError';
  }
}

/** The backup to test: the one named (key or file name) or the newest verified one. Bad input → UserError, nothing recorded. */
async function pickBackup(ctx: Context, client: string, key?: string): Promise<BackupRow> {
  if (key !== undefined) {
    const k = key.trim();
    const found = k ? await ctx.store.backups.findByKey(client, k) : undefined;
    if (found && found.result === 'OK' && found.key) return found;
    const valid = (await ctx.store.backups.list({ client, onlyOk: true, limit: 10 })).filter((b) => b.key);
    const list = valid.length ? valid.map((b) => `${b.file ?? b.key}${b.verified ? '' : ' (not verified)'}`).join(', ') : 'none yet';
    const why = found ? `backup "${k.slice(0, 120)}" of ${client} did not complete (result ${found.result})` : `unknown backup "${k.slice(0, 120)}" for ${client}`;
    throw new UserError(`${why}; valid backups (newest first): ${list}`);
  }
  const b = await ctx.store.backups.latestVerified(client);
  if (!b || !b.key) throw new UserError(`${client} has no verified backup to test yet: take one first (backup-bot backup ${client}, or /backup now ${client})`);
  return b;
}

/**
 * SOP-001 8.3/9.3 and runbook section 4: the RESTORE_TEST_STEPS runbook on a stored backup, the section-12
 * register row (failures too), and the S2 alert when it fails. One restore test per client at a time
 * (advisory lock `restore_test:<client>`).
 */
export async function runRestoreTest(ctx: Context, input: RestoreTestInput): Promise<RestoreTestOutcome> {
  ctx.client(input.client);
  const backup = await pickBackup(ctx, input.client, input.backupKey);
  // restoreTest.maxConcurrent per Docker engine (docker.hosts: any engine with a free slot), across replicas and front doors.
  const onEngine = () => withStagingEngine(ctx, { client: input.client, signal: input.signal }, (choice) => restoreTestLocked(ctx, input, backup, choice));
  // Lock order (restore_test, then the backup's shared read lock) and recovery of the client's dead runs: recover-client.ts.
  const res = await withClientLock(ctx, 'restore_test', input.client, () => withBackupRead(ctx, input.client, backup.id, async () => {
    await ensureNotDeleted(ctx, input.client, backup);
    return onEngine();
  }), { wait: false });
  if (!res.acquired) {
    const running = (await ctx.store.runs.running({ client: input.client, kind: 'restore_test' }))[0];
    await ctx.store.audit.append({ actor: input.actor, action: 'restore_test.refused', client: input.client, reason: 'another restore test of this client is running', details: { running: running?.id ?? null } });
    throw new RestoreTestBusyError(input.client, running);
  }
  return res.value;
}

/** Prune may have deleted the backup between choosing it and taking its read lock: refuse before anything starts. */
async function ensureNotDeleted(ctx: Context, client: string, backup: BackupRow): Promise<void> {
  const now = await ctx.store.backups.get(backup.id);
  if (!now || now.deleted_at) throw new UserError(`backup ${backup.file ?? backup.key} of ${client} was deleted by retention (prune) just now; run the restore test again to test the newest backup`);
}

const PLAN = planOf(RESTORE_TEST_STEPS);

async function restoreTestLocked(ctx: Context, input: RestoreTestInput, backup: BackupRow, choice: EngineChoice): Promise<RestoreTestOutcome> {
  const s = restoreTestState(ctx, input.client, backup, choice);
  const t0 = performance.now();
  let step = 'provisioning';
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new OperationError(`the restore test took longer than restoreTest.timeout (${s.cfg.restoreTest.timeout}) and was stopped during step "${step}"`)), s.timeoutMs);
  const onAbort = () => controller.abort(input.signal!.reason);
  input.signal?.addEventListener('abort', onAbort, { once: true });
  const view: RestoreTestView = {
    client: input.client, runId: '', backupFile: s.file, backupTakenAt: backup.taken_at, image: s.image, actorName: input.actorName ?? input.actor,
    timezone: ctx.config.timezone, plan: PLAN, step: 'provisioning', reached: [], rtoMs: restoreTimeLimit(s.cfg).ms,
    ...(ctx.config.docker.hosts && choice.chosen ? { engine: choice.chosen.engine.name } : {}),
  };
  const progress = (name: RestoreTestStep, run: Run) => { try { input.onProgress?.(name, run); } catch { /* a listener must not break the test */ } };
  try {
    const r = await runRunbook(ctx, {
      name: 'restore_test', kind: 'restore_test', client: input.client, actor: input.actor, trigger: input.trigger, steps: RESTORE_TEST_STEPS, signal: controller.signal,
      details: { backup: { id: backup.id, key: s.key, file: s.file, takenAt: backup.taken_at }, image: s.image, environment: 'Test', backupId: backup.id, ...engineDetails(choice) },
      onStart: async (run) => { s.runId = run.id; view.runId = run.id; },
      onRecord: async (rec, _s, run) => {
        if (rec.status !== 'started') return;
        const name = rec.step as RestoreTestStep;
        step = name;
        view.step = name;
        if (!view.reached.includes(name)) view.reached.push(name);
        progress(name, { ...run, step: name });
      },
      view: input.notify === false ? undefined : () => ({ kind: 'restore_test.progress', client: input.client, view }),
    }, s, (o, rb) => conclude(ctx, input, s, o, rb, view, t0, controller.signal.aborted));
    const out = r.result!;
    const interrupted = r.run.status === 'interrupted';
    progress(out.ok ? 'done' : 'failed', r.run);
    // Cancelled from outside (interrupted): no alert, and nothing resolved either.
    if (!interrupted) await escalateRestoreTest(ctx, input.client, { ...out, runId: r.run.id, backupFile: s.file });
    return { ...out, run: r.run, message: r.message };
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onAbort);
  }
}

type Concluded = Omit<RestoreTestOutcome, 'run' | 'message'>;

/** The run record's staging engine (name and address, never credentials) and the engines skipped before it. */
function engineDetails(choice: EngineChoice): Record<string, unknown> {
  const e = choice.chosen?.engine;
  return { engine: e ? { name: e.name, host: e.where } : null, ...(choice.skipped.length ? { enginesSkipped: choice.skipped } : {}) };
}

/** Runbook §4.5: a failed test is a tracked S2 alert (once per incident, naming the operators); a passing one resolves it and is put to QA. */
async function escalateRestoreTest(ctx: Context, client: string, o: { ok: boolean; failedStep?: string; error?: string; runId: string; backupFile: string; register?: RestoreTestRow }): Promise<void> {
  if (o.ok) {
    await clearAlerts(ctx, client, ['restore_test'], `restore test passed (run ${o.runId}${o.register ? `, register row ${o.register.id}` : ''})`);
    if (o.register) await requestQaVerification(ctx, o.register);
    return;
  }
  await raiseAlert(ctx, {
    client, kind: 'restore_test', severity: 'S2', message: `S2 — restore test of ${client} failed at step "${o.failedStep ?? '?'}" (backup ${o.backupFile}): ${o.error ?? ''}`,
    details: { run: o.runId, step: o.failedStep ?? null },
    event: (incidentId, audience) => ({ kind: 'alert.restore_test_failed', client, backupFile: o.backupFile, failedStep: o.failedStep, error: o.error ?? '', runId: o.runId, severity: 'S2', audience, ...(incidentId ? { incidentId } : {}) }),
  });
}

/** The section-12 register row (failures too), the run's details and the audit entry. */
async function conclude(ctx: Context, input: RestoreTestInput, s: RestoreTestState, o: StepsOutcome, rb: Runbook<RestoreTestState>, view: RestoreTestView, t0: number, aborted: boolean) {
  s.timings.totalMs = performance.now() - t0;
  // Cancelled from outside (the bot stopping), not by restoreTest.timeout: the run is interrupted, the backup was not
  // tested — no §12 register row, no S2 alert (the next restore test tests it).
  const interrupted = !o.ok && input.signal?.aborted === true;
  // SOP 5.3: a restore slower than the RTO is a failed test (the backup restores, but not in time).
  const limit = restoreTimeLimit(s.cfg);
  const overRto = o.ok && s.restoreMs !== undefined && s.restoreMs > limit.ms;
  const failedStep = overRto ? 'restoring' : o.ok ? undefined : (o.failedStep as RestoreTestStep);
  const error = overRto ? `RTO exceeded (${minutes(s.restoreMs!)} min > ${minutes(limit.ms)} min, ${limit.source})` : o.ok ? undefined : explainFailure(s, o.failedStep, o.error, aborted);
  const ok = o.ok && !overRto;
  const warnings = [...s.warnings];
  if (s.destroyProblems.length) warnings.push(`staging leftovers could not be removed (removed at the next start): ${s.destroyProblems.join('; ')}`);
  const checks = s.verification?.checks ?? [];
  const tz = ctx.config.timezone;
  const observations = ok
    ? [`Prueba de restauración para ${s.client} completada con éxito el ${formatDate(rb.run.started_at, tz)}. El backup del ${formatDate(s.backup.taken_at, tz)} es viable.`,
      ...(s.globalsRoles !== undefined ? [`Roles globales cargados primero: ${s.globalsRoles}.`] : []), ...warnings].join(' ')
    : [`Falló en el paso "${failedStep}": ${error}`, ...warnings].join(' ').slice(0, 4000);
  let register: RestoreTestRow | undefined;
  if (!interrupted) try {
    register = await ctx.store.restoreTests.insert({
      runId: rb.run.id, client: s.client, testedAt: rb.run.started_at, backupUsed: s.file, environment: 'Test',
      restoreMinutes: s.restoreMs !== undefined ? Math.round((s.restoreMs / 60_000) * 100) / 100 : null,
      recordsVerified: (s.verification?.counts ?? {}) as RestoreTestRow['records_verified'], checks, executedBy: view.actorName, result: ok ? 'OK' : 'Fail', observations,
    }, tz);
  } catch (err) {
    ctx.logger.error({ run: rb.run.id, err: errorMessage(err) }, 'could not record the restore test in the register');
  }
  view.result = { ok, error, failedStep, checks, restoreMs: s.restoreMs, totalMs: s.timings.totalMs, registerId: register?.id, observations };
  view.step = ok ? 'done' : 'failed';
  await ctx.store.audit.append({
    actor: input.actor, action: ok ? 'restore_test.passed' : interrupted ? 'restore_test.interrupted' : 'restore_test.failed', client: s.client, target: `run:${rb.run.id}`,
    reason: ok ? null : `${failedStep}: ${error}`.slice(0, 1000),
    details: { backup: s.file, backupId: s.backup.id, registerId: register?.id ?? null, restoreMs: s.restoreMs ?? null, checks: checks.map((c) => ({ name: c.name, ok: c.ok })) },
  });
  if (!ok && !interrupted) ctx.logger.error({ run: rb.run.id, client: s.client, step: failedStep, err: error }, 'restore test failed (S2)');
  const result: Concluded = { ok, register, error, failedStep, checks, restoreMs: s.restoreMs, timings: s.timings, backup: { id: s.backup.id, key: s.key, file: s.file } };
  return {
    status: ok ? 'ok' as const : interrupted ? 'interrupted' as const : 'failed' as const, error: ok ? null : `${failedStep}: ${error}`, result,
    details: {
      failedStep: failedStep ?? null, timings: s.timings, restoreMs: s.restoreMs ?? null, tables: s.verification?.tables ?? null, counts: s.verification?.counts ?? {}, checks,
      warnings, registerId: register?.id ?? null, evidence: s.evidence ?? null, image: s.image,
      ...(ok || interrupted ? {} : { alert: { severity: 'S2', step: failedStep } }),
      view: { ...view, result: { ...view.result } },
    },
  };
}

/** The restore time a passing test may take: restoreTest.maxMinutes, else the client's RTO (default 4 h). */
export function restoreTimeLimit(cfg: RestoreTestState['cfg']): { ms: number; source: string } {
  if (cfg.restoreTest.maxMinutes !== undefined) return { ms: cfg.restoreTest.maxMinutes * 60_000, source: 'restoreTest.maxMinutes' };
  return { ms: parseDuration(cfg.rto) ?? 4 * 3_600_000, source: `rto ${cfg.rto}` };
}

/** Minutes with three significant digits: 0.0523, 12.3, 246. */
const minutes = (ms: number) => String(Number((ms / 60_000).toPrecision(3)));
