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
  /** Undoes what `run` changed, when `needed` says there is something to undo (default: always); or picks the undo by state. */
  undo?: Undo<S> | ((s: S) => Undo<S> | undefined);
}

export interface Undo<S> { name: string; needed?(s: S): boolean; run(s: S): Promise<string | void> }

type StepStatus = 'started' | 'done' | 'failed' | 'skipped';
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

interface RunbookProgress<S> {
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

/** `interrupted`: the runbook was cancelled (its AbortSignal, e.g. the bot stopping) — not a failure of what it ran on. */
type Conclude<S, R> = (o: StepsOutcome, rb: Runbook<S>) => Promise<{ status: 'ok' | 'failed' | 'interrupted'; error?: string | null; details?: Record<string, unknown>; result: R }>;

/**
 * Starts the run and executes the steps; then `conclude` records the result (register rows, details) and
 * the run is finished with the status it returns. Returns what happened; never throws for a failed step.
 */
export async function runRunbook<S, R>(ctx: Context, spec: RunbookSpec<S>, state: S, conclude: Conclude<S, R>): Promise<{ outcome: StepsOutcome | 'not-started'; run: Run; result?: R; records: StepRecord[]; message?: MessageRef }> {
  const run = await ctx.store.runs.start({ kind: spec.kind, client: spec.client, actor: spec.actor, trigger: spec.trigger, details: spec.details, instance: ctx.instance, startedAt: ctx.clock.now() });
  const rb = new RunbookRun(ctx, spec, state, run);
  if (spec.onStart && (await spec.onStart(run, state)) === false) {
    rb.run = (await ctx.store.runs.finish(run.id, { status: 'skipped', error: 'not started', at: ctx.clock.now() })) ?? run;
    return { outcome: 'not-started', run: rb.run, records: rb.records };
  }
  await ctx.store.audit.append({ actor: spec.actor, action: `${spec.name}.started`, client: spec.client, target: rb.target, details: { run: run.id, trigger: spec.trigger, ...spec.details } });
  await rb.show();
  rb.outcome = await rb.runSteps();
  const c = await conclude(rb.outcome, rb);
  await rb.finish(c.status, c.error ?? null, c.details ?? {});
  return { outcome: rb.outcome, run: rb.run, result: c.result, records: rb.records, message: rb.message };
}

/** One execution of a runbook: its run row, its records, its live message. */
class RunbookRun<S> implements Runbook<S> {
  readonly records: StepRecord[] = [];
  message: MessageRef | undefined;
  outcome: StepsOutcome | undefined;
  private postTried = false;

  constructor(private readonly ctx: Context, private readonly spec: RunbookSpec<S>, private readonly state: S, public run: Run) {}

  get target(): string { return String(this.spec.details.target ?? `run:${this.run.id}`); }

  /** Posts the run's view once, then replaces it (a failed first post is retried only for the result). */
  async show(): Promise<void> {
    const event = this.spec.view?.({ run: this.run, state: this.state, records: this.records, outcome: this.outcome });
    if (!event) return;
    if (this.message) { await this.ctx.reporter.report(event, this.message); return; }
    if (this.postTried && !this.outcome) return;
    this.postTried = true;
    this.message = await this.ctx.reporter.report(event);
    if (this.message) {
      await this.ctx.store.runs.setMessage(this.run.id, this.message.channel, this.message.ts).catch(() => undefined);
      await this.spec.onMessage?.(this.message, this.run);
    }
  }

  /** Keeps a step record: the run's timeline, the spec's own place, the audit log where asked, the live message. */
  async record(step: string, status: StepStatus, note?: string, undo = false): Promise<void> {
    const rec: StepRecord = { at: this.ctx.clock.now().toISOString(), step, status, ...(note ? { note: redactSecrets(note).slice(0, 500) } : {}), ...(undo ? { undo } : {}) };
    this.records.push(rec);
    await this.ctx.store.runs.step(this.run.id, status === 'started' && !undo ? step : `${step}:${status}`, rec.note, new Date(rec.at));
    await this.spec.onRecord?.(rec, this.state, this.run);
    if (this.spec.auditEverySteps) {
      await this.ctx.store.audit.append({ actor: this.spec.actor, action: `${this.spec.name}.step`, client: this.spec.client, target: this.target, details: { run: this.run.id, step, status, ...(rec.note ? { note: rec.note } : {}) } });
    }
    await this.show();
  }

  /** Each step in order (skipped when it says so); at the first failure, the undos of what had run, in reverse. */
  async runSteps(): Promise<StepsOutcome> {
    const signal = this.spec.signal ?? new AbortController().signal;
    const ran: Array<Step<S>> = [];
    for (const step of this.spec.steps) {
      const why = step.skip?.(this.state);
      if (why !== undefined) { await this.record(step.name, 'skipped', why); continue; }
      await this.record(step.name, 'started');
      try {
        signal.throwIfAborted();
        const note = await step.run(this.state, signal);
        ran.push(step);
        if (note || this.spec.auditEverySteps) await this.record(step.name, 'done', note || undefined);
        else this.records.push({ at: this.ctx.clock.now().toISOString(), step: step.name, status: 'done' });
        await this.spec.afterStep?.(step.name);
      } catch (err) {
        const cause = signal.aborted ? signal.reason : err;
        const error = redactSecrets(errorMessage(cause));
        await this.record(step.name, 'failed', error);
        ran.push(step); // a step that failed half-way may have changed something: its undo decides
        return { ok: false, failedStep: step.name, error, cause, ...(await undoAll(ran.reverse(), this.state, (...a) => this.record(...a))) };
      }
    }
    return { ok: true };
  }

  async finish(status: 'ok' | 'failed' | 'interrupted', error: string | null, details: Record<string, unknown>): Promise<void> {
    const at = this.ctx.clock.now();
    const o = this.outcome;
    await this.ctx.store.runs.step(this.run.id, status === 'ok' ? 'done' : status, status === 'ok' || !o || o.ok ? undefined : `${status} at ${o.failedStep}`, at).catch(() => undefined);
    this.run = (await this.ctx.store.runs.finish(this.run.id, { status, error, details, at })) ?? { ...this.run, status };
    await this.show();
  }
}

async function undoAll<S>(steps: Array<Step<S>>, state: S, record: (step: string, status: StepStatus, note?: string, undo?: boolean) => Promise<void>): Promise<{ undone: string[]; undoFailed: string[] }> {
  const undone: string[] = [];
  const undoFailed: string[] = [];
  for (const step of steps) {
    const undo = typeof step.undo === 'function' ? step.undo(state) : step.undo;
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
