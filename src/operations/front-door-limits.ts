import type { Context } from '../context.js';
import { restoreTestQueueKey, workGroupId } from '../store/work-queue.js';
import { databaseServer } from '../core/db-url.js';
import type { SlotOptions } from '../store/slots.js';

/**
 * The limits of the shared work (issue 21) as a front door outside the queue (the CLI) goes through them. The use
 * cases take their slots themselves (backup: `dump-server`, workers.perDatabaseHost; restore test:
 * `staging-engine`, restoreTest.maxConcurrent); this wraps the context's `withSlot` so that, at the moment a slot
 * is asked for:
 * - `wait` (default): the caller has first let the work already queued for the same database server / Docker
 *   engine go (waitForWorkAhead, before the client's lock), then waits here for a free slot; each waiting state is
 *   said once.
 * - `now` (`--now`): neither the queue nor the slot is waited for; a warning names what was bypassed, and the
 *   bypass is written to the audit log and the run's details. The client's own lock still holds (taken before).
 */
export interface FrontDoorLimits {
  mode: 'wait' | 'now';
  /** Who asked (the audit entry's actor). */
  actor: string;
  /** The waiting states and the warning, one line each (the CLI writes them to stderr). */
  say: (line: string) => void;
  /** How often the queue is looked at while work ahead waits (default 1 s). */
  pollMs?: number;
}

/** What the run's details get under `limits` (filled in when the slot is asked for, before the run row is written). */
export interface LimitsRecord {
  mode: 'wait' | 'now';
  bypassed?: string[];
  limit?: string;
  key?: string;
  slotsTaken?: number;
  queuedAhead?: number;
  waitedMs?: number;
}

const SLOTS: Record<string, { tier: 'db' | 'docker'; setting: string; what: string }> = {
  'dump-server': { tier: 'db', setting: 'workers.perDatabaseHost', what: 'db host' },
  'staging-engine': { tier: 'docker', setting: 'restoreTest.maxConcurrent', what: 'Docker engine' },
};

/** The context the use case runs with, and the record that ends up in its run's details. */
export function frontDoorContext(ctx: Context, client: string, limits: FrontDoorLimits): { ctx: Context; record: LimitsRecord } {
  const record: LimitsRecord = { mode: limits.mode };
  const store = ctx.store;
  const withAnySlot = async <T>(scope: string, keys: readonly string[], limit: number, fn: (key: string) => Promise<T>, opts: SlotOptions = {}): Promise<T> => {
    const kind = SLOTS[scope];
    if (!kind || keys.length === 0) return store.withAnySlot(scope, keys, limit, fn, opts);
    const key = keys.join(', ');
    Object.assign(record, { limit: `${kind.setting} ${limit}`, key });
    // The queue's group for this work: the database server; restore tests queue as one group whatever the engines (work-queue-runner).
    const group = workGroupId(kind.tier, kind.tier === 'db' ? keys[0]! : restoreTestQueueKey(ctx.config));
    const where = keys.length === 1 ? `${kind.what} ${key}` : `the ${keys.length} ${kind.what}s (${key})`;
    if (limits.mode === 'now') {
      await bypass(ctx, client, limits, record, { scope, keys, where, limit, group, setting: kind.setting });
      return fn(keys[0]!);
    }
    // The work queued before this one was waited for before the client's lock was taken (waitForWorkAhead).
    const t0 = Date.now();
    let waited = false;
    return store.withAnySlot(scope, keys, limit, async (held) => {
      record.waitedMs = Date.now() - t0;
      if (waited) limits.say(`a slot for ${kind.what} ${held} is free after ${(record.waitedMs / 1000).toFixed(1)} s: starting`);
      return fn(held);
    }, {
      ...opts,
      onWait: () => {
        waited = true;
        limits.say(`waiting: all ${limit} slot(s) ${keys.length === 1 ? 'for' : 'of each of'} ${where} are taken (${kind.setting} ${limit}); it starts when one frees (--now bypasses the limit)`);
        opts.onWait?.();
      },
    });
  };
  const withSlot = <T>(scope: string, key: string, limit: number, fn: () => Promise<T>, opts?: SlotOptions): Promise<T> => withAnySlot(scope, [key], limit, () => fn(), opts);
  return { ctx: { ...ctx, store: { ...store, withSlot, withAnySlot } }, record };
}

/**
 * Lets the work queued earlier for the same database server (a backup) or the staging engines (a restore test) go
 * first, while some replica is pulling work. Called by the CLI before the use case, so before the client's lock is
 * taken: waiting for the queue while holding it would deadlock with a queued `/backup now` of the same client that a
 * replica has started (it holds the server's slot and waits for the client's lock). Nothing to do with `--now`.
 */
export async function waitForWorkAhead(ctx: Context, client: string, limits: FrontDoorLimits, record: LimitsRecord, tier: 'db' | 'docker', signal?: AbortSignal): Promise<void> {
  if (limits.mode === 'now') return;
  const db = ctx.client(client).database;
  const key = tier === 'db' ? (db ? databaseServer(db) : undefined) : restoreTestQueueKey(ctx.config);
  if (!key) return;
  const what = tier === 'db' ? 'db host' : 'Docker engine';
  record.queuedAhead = await waitForQueueAhead(ctx, workGroupId(tier, key), `${what} ${key}`, limits, signal);
}

async function bypass(ctx: Context, client: string, limits: FrontDoorLimits, record: LimitsRecord, s: { scope: string; keys: readonly string[]; where: string; limit: number; group: string; setting: string }): Promise<void> {
  let taken = 0;
  for (const k of s.keys) taken += await ctx.store.slotsTaken(s.scope, k, s.limit);
  const all = s.limit * s.keys.length;
  const ahead = (await ctx.store.queue.inGroup(s.group, new Date()))?.ahead ?? 0;
  Object.assign(record, { bypassed: ['work queue', s.setting], slotsTaken: taken, queuedAhead: ahead });
  limits.say(`warning: --now bypasses the work queue (${ahead} piece(s) of work queued for ${s.where}) and ${s.setting} ${s.limit} (${taken} of ${all} slot(s) taken): it runs at once, alongside whatever already runs there; the client's own lock still holds`);
  await ctx.store.audit.append({
    actor: limits.actor, action: 'limits.bypassed', client, target: `${s.scope}:${s.keys.join(',')}`,
    reason: '--now', details: { bypassed: record.bypassed, limit: s.limit, slotsTaken: taken, queuedAhead: ahead },
  });
}

/** Lets the work queued earlier for the same group go first, while some replica is pulling work (else nobody would run it). */
async function waitForQueueAhead(ctx: Context, group: string, where: string, limits: FrontDoorLimits, signal?: AbortSignal): Promise<number> {
  const since = new Date();
  let said: number | undefined;
  let first: number | undefined;
  for (;;) {
    const q = await ctx.store.queue.inGroup(group, since);
    first ??= q?.ahead ?? 0;
    if (!q || q.ahead === 0 || q.active === 0) return first;
    if (said !== q.ahead) limits.say(`waiting: ${q.ahead} ahead in the work queue for ${where} (--now bypasses the queue)`);
    said = q.ahead;
    signal?.throwIfAborted();
    await new Promise((r) => setTimeout(r, limits.pollMs ?? 1000));
  }
}
