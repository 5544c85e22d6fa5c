import type { Pool } from './db.js';
import { LOCK_NS_WORK } from './locks.js';

/**
 * A counting semaphore across replicas: `limit` session advisory locks `scope:key#0 … #limit-1` in the state
 * database. Whoever holds one of them may run; the others wait (polling) until one is free. Taken and released
 * on one dedicated connection, so a killed process frees its slot when its connection dies.
 *
 * The queue (pg-boss group concurrency) already avoids starting work past a limit; this is the guarantee
 * that holds for every front door (CLI, Slack) and for two replicas fetching at the same instant.
 */
export interface SlotOptions {
  /** How often a waiter tries again (default 500 ms). */
  pollMs?: number;
  signal?: AbortSignal;
  /** Called once when the caller has to wait (all slots taken). */
  onWait?: () => void;
}

export async function withSlot<T>(pool: Pool, scope: string, key: string, limit: number, fn: () => Promise<T>, opts: SlotOptions = {}): Promise<T> {
  return withAnySlot(pool, scope, [key], limit, () => fn(), opts);
}

/**
 * withSlot over several keys (e.g. Docker engines, `limit` slots each): the first free slot of any key, tried
 * without waiting in spreading order — every key's slot #0 (in the order given), then every key's #1, … — so
 * work goes to the least loaded key first. When all are taken it waits (polling, `onWait` once) for any of them.
 * `fn` is told which key it holds.
 */
export async function withAnySlot<T>(pool: Pool, scope: string, keys: readonly string[], limit: number, fn: (key: string) => Promise<T>, opts: SlotOptions = {}): Promise<T> {
  if (keys.length === 0) throw new Error(`withAnySlot(${scope}): no keys to take a slot of`);
  const c = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => { broken = err; };
  c.on('error', onError);
  let held: { name: string; key: string } | undefined;
  try {
    for (let waited = false; ;) {
      for (let i = 0; i < limit && !held; i++) {
        for (const key of keys) {
          const name = `${scope}:${key}#${i}`;
          const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_NS_WORK, name]);
          if (r.rows[0]?.ok) { held = { name, key }; break; }
        }
      }
      if (held) break;
      opts.signal?.throwIfAborted();
      if (!waited) { waited = true; opts.onWait?.(); }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
    }
    return await fn(held.key);
  } finally {
    if (held && !broken) await c.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NS_WORK, held.name]).catch(() => {});
    c.off('error', onError);
    c.release(broken);
  }
}

/** How many of the `limit` slots `scope:key` are held right now (by any process): what a waiter or a bypass reports. */
export async function slotsTaken(pool: Pool, scope: string, key: string, limit: number): Promise<number> {
  const names = Array.from({ length: limit }, (_, i) => `${scope}:${key}#${i}`);
  const r = await pool.query<{ n: number }>(
    `SELECT count(DISTINCT l.objid)::int AS n FROM pg_locks l
      WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted AND l.classid = oid($1::bigint & 4294967295)
        AND l.objid IN (SELECT oid(hashtext(x)::bigint & 4294967295) FROM unnest($2::text[]) AS x)`,
    [LOCK_NS_WORK, names],
  );
  return r.rows[0]?.n ?? 0;
}
