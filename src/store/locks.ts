import type { Pool } from './db.js';

export const LOCK_NS_INSTANCE = 0x6b6b_0002;
export const LOCK_NS_WORK = 0x6b6b_0003;

export type LockResult<T> = { acquired: true; value: T } | { acquired: false };

/**
 * Runs `fn` while holding the session advisory lock (LOCK_NS_WORK, hashtext(`${scope}:${key}`)).
 * The lock is taken and released on one dedicated connection (a pooled connection returned to the
 * pool would keep holding it). With `wait`, blocks until the lock is free; otherwise returns
 * `{acquired:false}` at once when someone else holds it. With `shared`, the shared mode of the same lock: any
 * number of shared holders, but never together with an exclusive holder.
 */
export async function withLock<T>(pool: Pool, scope: string, key: string, fn: () => Promise<T>, opts: { wait?: boolean; shared?: boolean } = {}): Promise<LockResult<T>> {
  const c = await pool.connect();
  const name = `${scope}:${key}`;
  // Shared: many holders at once (readers of a backup); exclusive (default): one, and none while it is shared.
  const fnLock = opts.shared ? 'pg_advisory_lock_shared' : 'pg_advisory_lock';
  const fnTry = opts.shared ? 'pg_try_advisory_lock_shared' : 'pg_try_advisory_lock';
  const fnUnlock = opts.shared ? 'pg_advisory_unlock_shared' : 'pg_advisory_unlock';
  let held = false;
  // The connection may die while `fn` runs (server restart, killed session): the lock is gone with it, and
  // that must not crash the process (an unhandled 'error' event); the connection is discarded on release.
  let broken: Error | undefined;
  const onError = (err: Error) => { broken = err; };
  c.on('error', onError);
  try {
    if (opts.wait) {
      await c.query(`SELECT ${fnLock}($1, hashtext($2))`, [LOCK_NS_WORK, name]);
      held = true;
    } else {
      const r = await c.query<{ ok: boolean }>(`SELECT ${fnTry}($1, hashtext($2)) AS ok`, [LOCK_NS_WORK, name]);
      held = r.rows[0]?.ok === true;
      if (!held) return { acquired: false };
    }
    return { acquired: true, value: await fn() };
  } finally {
    if (held && !broken) await c.query(`SELECT ${fnUnlock}($1, hashtext($2))`, [LOCK_NS_WORK, name]).catch(() => {});
    c.off('error', onError);
    c.release(broken);
  }
}

/** True when someone holds the lock right now, in this state database (advisory locks are per database; does not take it). */
export async function isLocked(pool: Pool, scope: string, key: string): Promise<boolean> {
  const r = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid AND objid = hashtext($2)::oid AND objsubid = 2 AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [LOCK_NS_WORK, `${scope}:${key}`],
  );
  return Number(r.rows[0]?.n ?? 0) > 0;
}
