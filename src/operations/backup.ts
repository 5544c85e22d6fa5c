import type { Context } from '../context.js';
import { UserError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { databaseServer } from '../core/db-url.js';
import { failureHint } from '../core/failure-hint.js';
import { formatBytes } from '../core/time.js';
import type { Run, RunTrigger } from '../store/runs.js';
import { BACKUP_TYPES, type BackupLocation, type BackupRow, type BackupType } from '../store/backup-register.js';
import { BACKUP_STEPS, backupState, type BackupState } from './backup-steps.js';
import { withClientLock } from './recover-client.js';
import { runRunbook, type Runbook, type StepsOutcome } from './runbook.js';
import type { MessageRef, ReportEvent } from './reporter.js';
import type { BackupPhase, BackupResultView } from './views.js';

export interface RunBackupInput {
  client: string;
  type?: BackupType;
  /** Slack user id, 'schedule', or OS user. */
  actor: string;
  actorName?: string;
  trigger: RunTrigger;
  /** true: wait for a running backup of this client; false (default): throw BackupBusyError. */
  wait?: boolean;
  /** default true: post + live-update one message in the client's channel. */
  notify?: boolean;
  signal?: AbortSignal;
  /** Added to the run's details (queued work: the attempt and the fire). */
  details?: Record<string, unknown>;
  /** Tests: called when the run starts, at each step, and at the end. */
  onProgress?: (phase: BackupPhase, run: Run) => void;
  /** SOP-001 §7.1: the change a pre-change backup precedes (required for type pre-change) and why; shown in §11. */
  ticket?: string;
  reason?: string;
}

export interface BackupOutcome {
  ok: boolean;
  verified: boolean;
  run: Run;
  backup?: BackupRow;
  error?: string;
  /** First thing to check (runbook §5 causes). */
  hint?: string;
  durationMs: number;
  locations: BackupLocation[];
  message?: MessageRef;
}

export class BackupBusyError extends UserError {
  constructor(readonly running: Run) {
    super(`a backup of "${running.client ?? '?'}" is already running (run ${running.id}, started ${running.started_at instanceof Date ? running.started_at.toISOString() : String(running.started_at)} by ${running.actor}, now ${running.step ?? 'starting'}): wait for it to finish, or ask to wait (--wait)`);
    this.name = 'BackupBusyError';
  }
}

/**
 * Takes a backup of one client (SOP-001 sections 6, 7, 8.1, 11): the BACKUP_STEPS runbook under the client's
 * backup lock, then the register row (failures too) and the audit entry. Every front door calls this.
 */
export async function runBackup(ctx: Context, input: RunBackupInput): Promise<BackupOutcome> {
  ctx.client(input.client);
  const type = input.type ?? 'manual';
  if (!BACKUP_TYPES.includes(type)) throw new UserError(`unknown backup type "${String(type).slice(0, 40)}" (accepted: ${BACKUP_TYPES.join(', ')})`);
  if (type === 'pre-change' && (!input.ticket?.trim() || !input.reason?.trim())) {
    throw new UserError('a pre-change backup names the change it precedes: give its ticket and the reason (SOP-001 §7.1: before an update, a migration or a critical configuration change); nothing was started');
  }
  // Lock order and recovery of the client's dead runs: recover-client.ts.
  const res = await withClientLock(ctx, 'backup', input.client, () => onServerSlot(ctx, input, () => backupLocked(ctx, input, type)), { wait: input.wait ?? false });
  if (res.acquired) return res.value;
  throw new BackupBusyError(await findRunning(ctx, input.client));
}

/**
 * workers.perDatabaseHost: at most that many dumps against one database server at once, whichever replica or
 * front door started them (the work queue avoids starting more; this holds when two start at the same instant).
 */
async function onServerSlot<T>(ctx: Context, input: RunBackupInput, fn: () => Promise<T>): Promise<T> {
  const server = databaseServer(ctx.client(input.client).database);
  if (!server) return fn();
  return ctx.store.withSlot('dump-server', server, ctx.config.workers.perDatabaseHost, fn, {
    signal: input.signal,
    onWait: () => ctx.logger.info({ client: input.client, server }, `backup of ${input.client} waits: ${ctx.config.workers.perDatabaseHost} dump(s) already run against ${server}`),
  });
}

async function findRunning(ctx: Context, client: string): Promise<Run> {
  for (let i = 0; i < 20; i++) {
    const [r] = await ctx.store.runs.running({ client, kind: 'backup' });
    if (r) return r;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  // The holder has the lock but no run row yet (it is just starting).
  const now = ctx.clock.now();
  return { id: '?', kind: 'backup', client, status: 'running', trigger: 'system', actor: '?', step: 'starting', timeline: [], error: null, details: {}, started_at: now, finished_at: null, host: null, pid: null, instance: null, slack_channel: null, slack_ts: null };
}

interface Recorded { backup: BackupRow; view: BackupResultView; error?: string; hint?: string; durationMs: number; locations: BackupLocation[] }

async function backupLocked(ctx: Context, input: RunBackupInput, type: BackupType): Promise<BackupOutcome> {
  const t0 = Date.now();
  const s = backupState(ctx, input.client, type);
  let recorded: Recorded | undefined;
  const progress = (p: BackupPhase, run: Run) => { try { input.onProgress?.(p, run); } catch { /* a listener never breaks a backup */ } };
  const r = await runRunbook(ctx, {
    name: 'backup', kind: 'backup', client: input.client, actor: input.actor, trigger: input.trigger, details: { type, actorName: input.actorName ?? null, ...input.details },
    steps: BACKUP_STEPS, signal: input.signal,
    onStart: async (run) => { progress('started', run); },
    onRecord: async (rec, _s, run) => { if (rec.status === 'started' && !rec.undo) progress(rec.step as BackupPhase, run); },
    view: input.notify === false ? undefined : ({ run, records }): ReportEvent => recorded
      ? { kind: 'backup.result', client: input.client, view: recorded.view }
      : {
        kind: 'backup.progress', client: input.client,
        view: { client: input.client, type, actorName: input.actorName, file: s.file, destinations: s.cfg.storage, runId: run.id, actor: run.actor, phase: currentPhase(records) },
      },
  }, s, async (o, rb) => {
    recorded = await record(ctx, input, s, o, rb, t0);
    const status = o.ok && s.verified ? 'ok' as const : input.signal?.aborted ? 'interrupted' as const : 'failed' as const;
    return { status, error: recorded.error ?? null, details: runDetails(s, recorded), result: recorded };
  });
  const rec = r.result!;
  const ok = r.run.status === 'ok';
  progress(ok ? 'done' : 'failed', r.run);
  if (ok) ctx.logger.info({ client: input.client, file: s.file, sizeBytes: s.dump?.sizeBytes, run: r.run.id }, 'backup done');
  else ctx.logger.error({ client: input.client, file: s.file, error: rec.error, run: r.run.id }, 'backup failed');
  return { ok, verified: s.verified, run: r.run, backup: rec.backup, error: rec.error, hint: rec.hint, durationMs: rec.durationMs, locations: rec.locations, message: r.message };
}

function currentPhase(records: Array<{ step: string; status: string; undo?: boolean }>): BackupPhase {
  const started = records.filter((x) => x.status === 'started' && !x.undo);
  return (started[started.length - 1]?.step as BackupPhase | undefined) ?? 'started';
}

/** The §11 register row (failures too), the audit entry, and the result the message shows. */
async function record(ctx: Context, input: RunBackupInput, s: BackupState, o: StepsOutcome, rb: Runbook<BackupState>, t0: number): Promise<Recorded> {
  const error = o.ok ? undefined : o.error;
  const locations = [...s.locations.values()];
  const ok = !error && s.verified;
  const drop = ok ? await sizeDrop(ctx, s) : undefined;
  if (drop) s.warnings.push(drop);
  const observations = [
    ...(error ? [error] : []),
    ...locations.filter((l) => !l.ok && l.error && (!error || !error.includes(l.error))).map((l) => `destination ${l.destination} failed: ${l.error}`),
    ...s.warnings,
  ].map((x) => redactSecrets(x)).join('; ').slice(0, 4000);
  const stored = s.stored;
  const backup = await ctx.store.backups.insert({
    runId: rb.run.id, client: s.client, takenAt: s.startedAt, type: s.type, file: s.file ?? null, key: stored ? s.key ?? null : null,
    format: s.format, engine: s.cfg.database.engine, sizeBytes: stored ? s.dump?.sizeBytes ?? null : null, verified: s.verified,
    verifiedAt: s.verified ? ctx.clock.now() : null, executedBy: input.actorName ?? input.actor, result: ok ? 'OK' : 'Error', observations,
    sha256: stored ? s.dump?.sha256 ?? null : null, tablesCounted: stored ? s.tables ?? s.dump?.tables ?? null : null,
    locations, manifest: (s.manifest as unknown as Record<string, unknown>) ?? null,
    ticket: input.ticket?.trim() || null, reason: input.reason?.trim() || null,
  });
  const hint = error
    ? failureHint(error) ?? 'Read the error above; `backup-bot list` and the run timeline show what happened before it.'
    : s.warnings.some((w) => w.startsWith('maintenance off FAILED')) ? 'Take the application out of maintenance mode by hand (maintenance.off failed).' : undefined;
  const durationMs = Date.now() - t0;
  await ctx.store.audit.append({
    actor: input.actor, action: ok ? 'backup.completed' : 'backup.failed', client: s.client, target: stored ? s.key ?? null : s.file ?? null,
    details: { run: rb.run.id, backup: backup.id, type: s.type, sha256: s.dump?.sha256 ?? null, sizeBytes: s.dump?.sizeBytes ?? null, verified: s.verified, locations, ...(error ? { error } : {}) },
  });
  if (drop) await ctx.reporter.report({ kind: 'alert.team', client: s.client, severity: 'S2', title: `Backup of ${s.client} far smaller than usual`, detail: `${backup.file ?? ''}: ${drop}`, audience: ['operators', 'itManagers'] });
  const view: BackupResultView = { ok, verified: s.verified, run: rb.run, backup, error, hint, durationMs, locations, ...(!ok && input.signal?.aborted ? { interrupted: true } : {}) };
  return { backup, view, error, hint, durationMs, locations };
}

function runDetails(s: BackupState, r: Recorded): Record<string, unknown> {
  return {
    type: s.type, file: s.file, key: s.stored ? s.key : null, sizeBytes: s.dump?.sizeBytes ?? null, sha256: s.dump?.sha256 ?? null, tables: s.tables,
    verified: s.verified, checks: s.checks, locations: r.locations, warnings: s.warnings, backupId: r.backup.id, durationMs: r.durationMs, hint: r.hint ?? null,
  };
}

/**
 * A backup under half the median compressed size of the client's last ten good ones (at least two) is an S2
 * alert: a table emptied or a dump cut short still passes the table count and the trailer.
 */
async function sizeDrop(ctx: Context, s: BackupState): Promise<string | undefined> {
  const size = s.dump?.sizeBytes;
  if (size === undefined) return undefined;
  const earlier = (await ctx.store.backups.list({ client: s.client, onlyOk: true, limit: 10 })).map((b) => Number(b.size_bytes)).filter((n) => n > 0);
  if (earlier.length < 2) return undefined;
  const sorted = [...earlier].sort((a, b) => a - b);
  const m = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
  if (size >= median / 2) return undefined;
  return `size ${formatBytes(size)} is less than half the median ${formatBytes(median)} of the last ${earlier.length} backups (a table emptied or a dump cut short?)`;
}
