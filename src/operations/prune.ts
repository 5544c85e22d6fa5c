import type { Context } from '../context.js';
import { planRetention, type RetentionDecision, type RetentionPlan } from '../core/retention.js';
import { ObjectLockedError } from '../core/storage/storage.js';
import { manifestKey } from '../core/naming.js';
import { manifestOf } from './manifest.js';
import { withClientLock } from './recover-client.js';
import { errorMessage, UserError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { type BackupRow } from '../store/backup-register.js';

import { type Run, type RunTrigger } from '../store/runs.js';

export interface PruneInput { client: string; dryRun?: boolean; actor: string; trigger: RunTrigger }

interface PruneError { backup?: BackupRow; destination?: string; key?: string; message: string }

interface PruneLocked { row: BackupRow; reason: string; destinations: string[]; deletedFrom: string[] }

export interface PruneResult {
  /** The `prune` run (a dry run is recorded too, with details.dryRun, but changes nothing else). */
  run: Run;
  dryRun: boolean;
  /** Backups deleted from every destination and marked deleted in the register (dry run: would be). */
  deleted: BackupRow[];
  /** Backups kept by the policy, plus those the storage refused to delete (Object Lock). */
  kept: BackupRow[];
  /** Deletions a destination refused because the object is locked (expected, not a failure). */
  locked: PruneLocked[];
  /** Backups kept because a restore test or production restore is reading them right now (deleted by a later prune). */
  inUse: BackupRow[];
  errors: PruneError[];
  /** The plan with the rule behind each decision. */
  plan: RetentionPlan;
  /** `.partial` files / open multipart uploads removed. */
  partialsRemoved: number;
}

/** Leftovers younger than this are left alone (a write that just started on another instance). */
const PARTIAL_MIN_AGE_MS = 10 * 60_000;

/**
 * `backup-bot prune <client>`: applies the client's retention policy (src/core/retention.ts).
 * For each planned deletion the dump, its `.manifest.json` and the files archives its manifest lists are
 * deleted from every destination in the client's `storage` list; then the register row is marked
 * deleted and an audit entry (`backup.deleted`, reason = the rule) is written. A destination that refuses
 * because of Object Lock keeps the backup (recorded, audited as `backup.delete-blocked`, not a failure);
 * any other storage error fails the run but the other backups are still processed. Finally the leftovers
 * of interrupted writes under `<client>/` are cleaned, unless a backup of the client is running.
 * A dry run only plans: nothing is deleted, marked or audited.
 */
export async function prune(ctx: Context, input: PruneInput): Promise<PruneResult> {
  const cfg = ctx.client(input.client);
  const client = input.client;
  const dryRun = input.dryRun ?? false;
  // Lock order (prune, then each backup's read lock, only tried) and recovery of dead runs: recover-client.ts.
  const res = await withClientLock(ctx, 'prune', client, async () => {
    const run = await ctx.store.runs.start({ kind: 'prune', client, actor: input.actor, trigger: input.trigger, details: { dryRun }, instance: ctx.instance, startedAt: ctx.clock.now() });
    try {
      return await pruneLocked(ctx, input, cfg.storage, cfg.retention, run, dryRun);
    } catch (err) {
      const msg = redactSecrets(errorMessage(err));
      await ctx.store.runs.finish(run.id, { status: 'failed', error: msg, at: ctx.clock.now() });
      throw err;
    }
  });
  if (!res.acquired) throw new UserError(`a prune of "${client}" is already running; try again when it has finished`);
  return res.value;
}

async function pruneLocked(ctx: Context, input: PruneInput, destinations: string[], policy: ReturnType<Context['client']>['retention'], run: Run, dryRun: boolean): Promise<PruneResult> {
  const client = input.client;
  const now = ctx.clock.now();
  const rows = await ctx.store.backups.list({ client, limit: 1_000_000 });
  const protectedIds = await ctx.store.backups.idsReferencedByApprovals(client);
  const plan = planRetention(rows, policy, now, { protectedIds });
  await ctx.store.runs.step(run.id, 'planned', `${plan.delete.length} to delete, ${plan.keep.length} to keep`, now);

  const result: PruneResult = { run, dryRun, deleted: [], kept: plan.keep.map((k) => k.row), locked: [], inUse: [], errors: [], plan, partialsRemoved: 0 };
  if (dryRun) {
    result.deleted = plan.delete.map((d) => d.row);
    result.run = (await ctx.store.runs.finish(run.id, { status: 'ok', details: summary(result), at: ctx.clock.now() })) ?? run;
    return result;
  }

  if (plan.delete.length) await ctx.store.runs.step(run.id, 'deleting', undefined, ctx.clock.now());
  for (const decision of plan.delete) {
    // A backup that a restore test or production restore is reading holds its read lock (shared): never deleted under it.
    const r = await ctx.store.withLock('backup_read', `${client}:${decision.row.id}`, () => deleteBackup(ctx, input, destinations, decision, result), { wait: false });
    if (!r.acquired) {
      result.kept.push(decision.row);
      result.inUse.push(decision.row);
      await ctx.store.audit.append({ actor: input.actor, action: 'backup.delete-deferred', client, target: decision.row.key ?? decision.row.file ?? `backup #${decision.row.id}`, reason: decision.reason, details: { backupId: decision.row.id, runId: run.id, why: 'being read by a running restore test or production restore' } });
    }
  }

  // Leftovers of interrupted writes: only when no backup of this client is running right now.
  const backupRunning = (await ctx.store.runs.running({ client, kind: 'backup' })).length > 0;
  if (backupRunning) {
    await ctx.store.runs.step(run.id, 'cleanup-skipped', 'a backup of this client is running', ctx.clock.now());
  } else {
    await ctx.store.runs.step(run.id, 'cleaning', undefined, ctx.clock.now());
    for (const name of destinations) {
      try {
        result.partialsRemoved += await ctx.storage(name).cleanupPartials(`${client}/`, { olderThanMs: PARTIAL_MIN_AGE_MS });
      } catch (err) {
        result.errors.push({ destination: name, message: redactSecrets(errorMessage(err)) });
      }
    }
  }

  const failed = result.errors.length > 0;
  result.run = (await ctx.store.runs.finish(run.id, {
    status: failed ? 'failed' : 'ok',
    error: failed ? `${result.errors.length} error(s): ${result.errors.map((e) => e.message).join('; ').slice(0, 1500)}` : null,
    details: summary(result),
    at: ctx.clock.now(),
  })) ?? run;
  return result;
}

/** The objects of one backup: the dump, its files archives, its globals file, its manifest (deleted last, so a half-deleted backup stays described). */
function backupObjects(row: BackupRow): string[] {
  if (!row.key) return [];
  const facts = manifestOf(row);
  const archives = facts.files.map((f) => f.key).filter((k) => k.length > 0);
  return [row.key, ...archives, ...(facts.globals?.key ? [facts.globals.key] : []), manifestKey(row.key)];
}

async function deleteBackup(ctx: Context, input: PruneInput, destinations: string[], decision: RetentionDecision, result: PruneResult): Promise<void> {
  const { row, reason } = decision;
  const client = input.client;
  const objects = backupObjects(row);
  const outside = objects.filter((k) => !k.startsWith(`${client}/`) || k.split('/').includes('..'));
  if (outside.length) {
    // A damaged register row or manifest must never make prune delete another client's data.
    result.errors.push({ backup: row, message: `backup #${row.id}: refusing to delete ${outside.join(', ')} (outside "${client}/")` });
    result.kept.push(row);
    return;
  }
  const deletedFrom: string[] = [];
  const lockedOn: Array<{ destination: string; message: string }> = [];
  const failedOn: Array<{ destination: string; message: string }> = [];
  for (const name of destinations) {
    const storage = ctx.storage(name);
    try {
      for (const key of objects) await storage.delete(key);
      deletedFrom.push(name);
    } catch (err) {
      const message = redactSecrets(errorMessage(err));
      if (err instanceof ObjectLockedError) lockedOn.push({ destination: name, message });
      else {
        failedOn.push({ destination: name, message });
        result.errors.push({ backup: row, destination: name, message });
      }
    }
  }
  const target = row.key ?? row.file ?? `backup #${row.id}`;
  const details = { backupId: row.id, type: row.type, takenAt: new Date(row.taken_at).toISOString(), objects, deletedFrom, runId: result.run.id };
  if (lockedOn.length === 0 && failedOn.length === 0) {
    await ctx.store.backups.markDeleted(row.id, ctx.clock.now());
    await ctx.store.audit.append({ actor: input.actor, action: 'backup.deleted', client, target, reason, details });
    result.deleted.push(row);
    return;
  }
  result.kept.push(row);
  if (lockedOn.length) {
    result.locked.push({ row, reason: lockedOn.map((l) => l.message).join('; '), destinations: lockedOn.map((l) => l.destination), deletedFrom });
  }
  // Some copies may be gone already; every change to stored backups is on the audit trail.
  await ctx.store.audit.append({
    actor: input.actor,
    action: failedOn.length ? 'backup.delete-failed' : 'backup.delete-blocked',
    client,
    target,
    reason,
    details: { ...details, lockedOn, failedOn },
  });
}

function summary(r: PruneResult): Record<string, unknown> {
  return {
    dryRun: r.dryRun,
    deleted: r.deleted.map((b) => b.key ?? b.file ?? b.id),
    kept: r.kept.length,
    locked: r.locked.map((l) => ({ key: l.row.key, destinations: l.destinations })),
    inUse: r.inUse.map((b) => b.key ?? b.file ?? b.id),
    errors: r.errors.length,
    partialsRemoved: r.partialsRemoved,
  };
}
