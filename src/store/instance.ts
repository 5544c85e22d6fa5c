import { randomInt } from 'node:crypto';
import { hostname } from 'node:os';
import type { Pool, PoolClient } from './db.js';
import { LOCK_NS_INSTANCE } from './locks.js';

/**
 * Each bot process holds a session advisory lock on its own instance id for its whole life, on one
 * dedicated connection. A run row records the instance that owns it; when that lock can be taken, the
 * owner is gone (a killed process's connection dies and releases it), so its `running` rows are stale.
 */
export interface Instance { id: number; host: string; pid: number; release(): Promise<void> }

export async function claimInstance(pool: Pool): Promise<Instance> {
  const client: PoolClient = await pool.connect();
  let broken: Error | undefined;
  // Losing this connection (server restart) must not crash the process; the lock is gone with it.
  client.on('error', (err) => { broken = err; });
  for (;;) {
    const id = randomInt(1, 2 ** 31 - 1);
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_NS_INSTANCE, id]);
    if (r.rows[0]?.ok) {
      let released = false;
      return {
        id, host: hostname(), pid: process.pid,
        async release() {
          if (released) return;
          released = true;
          if (!broken) await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NS_INSTANCE, id]).catch((err: Error) => { broken = err; });
          client.release(broken);
        },
      };
    }
  }
}

/** True when the instance that owns a run is no longer alive. */
export async function instanceIsGone(pool: Pool, instanceId: number): Promise<boolean> {
  const c = await pool.connect();
  try {
    const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_NS_INSTANCE, instanceId]);
    if (r.rows[0]?.ok) {
      await c.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NS_INSTANCE, instanceId]);
      return true;
    }
    return false;
  } finally {
    c.release();
  }
}
