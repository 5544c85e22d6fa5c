import type { Context } from '../context.js';
import { workGroupId } from '../store/work-queue.js';
import type { SlotOptions } from '../store/slots.js';

/**
 * The limits of the shared work (issue 21) as a front door outside the queue (the CLI) goes through them. The use
 * cases take their slots themselves (backup: `dump-server`, workers.perDatabaseHost; restore test:
 * `staging-engine`, restoreTest.maxConcurrent); this wraps the context's `withSlot` so that, at the moment a slot
 * is asked for:
 * - `wait` (default): the caller first lets the work already queued for the same database server / Docker engine
 *   go (while some replica is pulling work), then waits for a free slot; each waiting state is said once.
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
  const withSlot = async <T>(scope: string, key: string, limit: number, fn: () => Promise<T>, opts: SlotOptions = {}): Promise<T> => {
    const kind = SLOTS[scope];
    if (!kind) return store.withSlot(scope, key, limit, fn, opts);
    Object.assign(record, { limit: `${kind.setting} ${limit}`, key });
    const group = workGroupId(kind.tier, key);
    if (limits.mode === 'now') {
      await bypass(ctx, client, limits, record, { scope, key, limit, group, ...kind });
      return fn();
    }
    const t0 = Date.now();
    record.queuedAhead = await waitForQueueAhead(ctx, group, `${kind.what} ${key}`, limits, opts.signal);
    let waited = false;
    const out = await store.withSlot(scope, key, limit, async () => {
      record.waitedMs = Date.now() - t0;
      if (waited) limits.say(`a slot for ${kind.what} ${key} is free after ${(record.waitedMs / 1000).toFixed(1)} s: starting`);
      return fn();
    }, {
      ...opts,
      onWait: () => {
        waited = true;
        limits.say(`waiting: all ${limit} slot(s) for ${kind.what} ${key} are taken (${kind.setting} ${limit}); it starts when one frees (--now bypasses the limit)`);
        opts.onWait?.();
      },
    });
    return out;
  };
  return { ctx: { ...ctx, store: { ...store, withSlot } }, record };
}

async function bypass(ctx: Context, client: string, limits: FrontDoorLimits, record: LimitsRecord, s: { scope: string; key: string; limit: number; group: string; setting: string; what: string }): Promise<void> {
  const taken = await ctx.store.slotsTaken(s.scope, s.key, s.limit);
  const ahead = (await ctx.store.queue.inGroup(s.group, new Date()))?.ahead ?? 0;
  Object.assign(record, { bypassed: ['work queue', s.setting], slotsTaken: taken, queuedAhead: ahead });
  limits.say(`warning: --now bypasses the work queue (${ahead} piece(s) of work queued for ${s.what} ${s.key}) and ${s.setting} ${s.limit} (${taken} of ${s.limit} slot(s) taken): it runs at once, alongside whatever already runs there; the client's own lock still holds`);
  await ctx.store.audit.append({
    actor: limits.actor, action: 'limits.bypassed', client, target: `${s.scope}:${s.key}`,
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
