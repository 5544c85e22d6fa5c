import type { Context } from '../context.js';
import { errorMessage } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import type { Run, RunKind, RunTrigger } from '../store/runs.js';
import type { MessageRef, ReportEvent } from './reporter.js';
import type { StepPlan } from './views.js';

/**
 * A runbook is a list of named steps; this runner executes one. It records the run and every step (the run's
 * timeline, and the audit log where asked), keeps the live message up to date through the reporter, and when a
 * step fails it runs the undo of every step that had completed, in reverse. Backup, restore test and
 * production restore are each such a list (src/operations/backup-steps.ts, restore-test-steps.ts,
 * restore-steps.ts); what the message and the README show is that list.
 */
export interface Step<S> {
  name: string;
  /** What the step does, as people read it. */
  label: string;
  /** A reason to skip the step now (recorded as skipped), or undefined to run it. */
  skip?(s: S): string | undefined;
  /** Does the step's work; the note is recorded with it. Throwing fails the runbook. */
  run(s: S, signal: AbortSignal): Promise<string | void>;
  /** Undoes what `run` changed, when `needed` says there is something to undo (default: always). */
  undo?: { name: string; needed?(s: S): boolean; run(s: S): Promise<string | void> };
}

export type StepStatus = 'started' | 'done' | 'failed' | 'skipped';
export interface StepRecord { at: string; step: string; status: StepStatus; note?: string; undo?: boolean }

export interface RunbookSpec<S> {
  /** Audit action prefix (`backup.started`, `restore.step`, …). */
  name: string;
  kind: RunKind;
  client: string;
  actor: string;
  trigger: RunTrigger;
  details: Record<string, unknown>;
  steps: Array<Step<S>>;
  signal?: AbortSignal;
  /** Every step's start and end also goes to the audit log (the production restore). */
  auditEverySteps?: boolean;
  /** The live report of the run (re-sent after each change); undefined: nothing is shown. */
  view?(p: RunbookProgress<S>): ReportEvent | undefined;
  /** Called once the run row exists, before the first step; false: the runbook does not run (recorded as skipped). */
  onStart?(run: Run, s: S): Promise<boolean | void>;
  /** Where the live message was posted, once (also kept elsewhere: the approval's runbook message). */
  onMessage?(ref: MessageRef, run: Run): Promise<void>;
  /** Each record is also kept elsewhere (the approval's steps). */
  onRecord?(rec: StepRecord, s: S, run: Run): Promise<void>;
  /** Tests: called after each completed step. */
  afterStep?(name: string): Promise<void> | void;
}

export interface RunbookProgress<S> {
  run: Run;
  state: S;
  records: StepRecord[];
  /** Set once the steps (and undos) have ended. */
  outcome?: StepsOutcome;
}

export type StepsOutcome =
  | { ok: true }
  | { ok: false; failedStep: string; error: string; cause: unknown; undone: string[]; undoFailed: string[] };

export interface Runbook<S> {
  readonly run: Run;
  readonly records: StepRecord[];
  readonly message: MessageRef | undefined;
  /** Shows the run's view now (e.g. after the result was written). */
  show(): Promise<void>;
}

export function planOf<S>(steps: Array<Step<S>>): StepPlan[] {
  return steps.map((s) => ({ name: s.name, label: s.label }));
}

/**
 * Starts the run and executes the steps; then `conclude` records the result (register rows, details) and
 * the run is finished with the status it returns. Returns what happened; never throws for a failed step.
 */
export async function runRunbook<S, R>(
  ctx: Context,
  spec: RunbookSpec<S>,
  state: S,
  conclude: (o: StepsOutcome, rb: Runbook<S>) => Promise<{ status: 'ok' | 'failed'; error?: string | null; details?: Record<string, unknown>; result: R }>,
): Promise<{ outcome: StepsOutcome | 'not-started'; run: Run; result?: R; records: StepRecord[]; message?: MessageRef }> {
  const store = ctx.store;
  let run = await store.runs.start({ kind: spec.kind, client: spec.client, actor: spec.actor, trigger: spec.trigger, details: spec.details, instance: ctx.instance, startedAt: ctx.clock.now() });
  const records: StepRecord[] = [];
  let message: MessageRef | undefined;
  let outcome: StepsOutcome | undefined;
  let postTried = false;

  const show = async () => {
    const event = spec.view?.({ run, state, records, outcome });
    if (!event) return;
    if (message) { await ctx.reporter.report(event, message); return; }
    if (postTried && !outcome) return; // posting failed once: only the result is tried again
    postTried = true;
    message = await ctx.reporter.report(event);
    if (message) {
      await store.runs.setMessage(run.id, message.channel, message.ts).catch(() => undefined);
      await spec.onMessage?.(message, run);
    }
  };
  const rb: Runbook<S> = { get run() { return run; }, records, get message() { return message; }, show };

  const record = async (step: string, status: StepStatus, note?: string, undo = false) => {
    const rec: StepRecord = { at: ctx.clock.now().toISOString(), step, status, ...(note ? { note: redactSecrets(note).slice(0, 500) } : {}), ...(undo ? { undo } : {}) };
    records.push(rec);
    const timelineStep = status === 'started' && !undo ? step : `${step}:${status}`;
    await store.runs.step(run.id, timelineStep, rec.note, new Date(rec.at));
    await spec.onRecord?.(rec, state, run);
    if (spec.auditEverySteps) {
      await store.audit.append({ actor: spec.actor, action: `${spec.name}.step`, client: spec.client, target: String(spec.details.target ?? `run:${run.id}`), details: { run: run.id, step, status, ...(rec.note ? { note: rec.note } : {}) } });
    }
    await show();
  };

  if (spec.onStart && (await spec.onStart(run, state)) === false) {
    run = (await store.runs.finish(run.id, { status: 'skipped', error: 'not started', at: ctx.clock.now() })) ?? run;
    return { outcome: 'not-started', run, records };
  }
  await store.audit.append({ actor: spec.actor, action: `${spec.name}.started`, client: spec.client, target: String(spec.details.target ?? `run:${run.id}`), details: { run: run.id, trigger: spec.trigger, ...spec.details } });
  await show();

  const signal = spec.signal ?? new AbortController().signal;
  const done: Array<Step<S>> = [];
  for (const step of spec.steps) {
    const why = step.skip?.(state);
    if (why !== undefined) { await record(step.name, 'skipped', why); continue; }
    await record(step.name, 'started');
    try {
      signal.throwIfAborted();
      const note = await step.run(state, signal);
      done.push(step);
      if (note || spec.auditEverySteps) await record(step.name, 'done', note || undefined);
      else records.push({ at: ctx.clock.now().toISOString(), step: step.name, status: 'done' });
      await spec.afterStep?.(step.name);
    } catch (err) {
      const cause = signal.aborted ? signal.reason : err;
      const error = redactSecrets(errorMessage(cause));
      await record(step.name, 'failed', error);
      done.push(step); // a step that failed half-way may have changed something: its undo decides
      outcome = { ok: false, failedStep: step.name, error, cause, ...(await undoAll(done.reverse(), state, record)) };
      break;
    }
  }
  outcome ??= { ok: true };
  const c = await conclude(outcome, rb);
  const finishedAt = ctx.clock.now();
  await store.runs.step(run.id, c.status === 'ok' ? 'done' : 'failed', c.status === 'ok' ? undefined : outcome.ok ? undefined : `failed at ${outcome.failedStep}`, finishedAt).catch(() => undefined);
  run = (await store.runs.finish(run.id, { status: c.status, error: c.error ?? null, details: c.details ?? {}, at: finishedAt })) ?? { ...run, status: c.status };
  await show();
  return { outcome, run, result: c.result, records, message };
}

async function undoAll<S>(steps: Array<Step<S>>, state: S, record: (step: string, status: StepStatus, note?: string, undo?: boolean) => Promise<void>): Promise<{ undone: string[]; undoFailed: string[] }> {
  const undone: string[] = [];
  const undoFailed: string[] = [];
  for (const step of steps) {
    const undo = step.undo;
    if (!undo || (undo.needed && !undo.needed(state))) continue;
    await record(undo.name, 'started', undefined, true);
    try {
      const note = await undo.run(state);
      await record(undo.name, 'done', note || undefined, true);
      undone.push(note || undo.name.replace(/_/g, ' '));
    } catch (err) {
      await record(undo.name, 'failed', errorMessage(err), true);
      undoFailed.push(`${undo.name.replace(/_/g, ' ')} FAILED: ${errorMessage(err)}`);
    }
  }
  return { undone, undoFailed };
}
