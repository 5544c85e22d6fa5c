import type { Queryable } from './queryable.js';

/** Figures for the Prometheus endpoint, read from the registers (so every replica reports the same). */
export interface RunCount { kind: string; status: string; n: number }
export interface ClientBackupFigures { client: string; last_ok_at: Date | null; size_bytes: string | null; duration_seconds: number | null }

export async function countRunsByKindAndStatus(db: Queryable): Promise<RunCount[]> {
  const r = await db.query('SELECT kind, status, count(*)::int AS n FROM runs GROUP BY kind, status ORDER BY kind, status');
  return r.rows as RunCount[];
}

/** Per client: time of the last successful backup, and size and run duration of that backup. */
export async function lastBackupFigures(db: Queryable): Promise<ClientBackupFigures[]> {
  const r = await db.query(
    `SELECT DISTINCT ON (b.client) b.client, b.taken_at AS last_ok_at, b.size_bytes,
            extract(epoch FROM (r.finished_at - r.started_at))::float8 AS duration_seconds
       FROM backup_register b LEFT JOIN runs r ON r.id = b.run_id
      WHERE b.result = 'OK'
      ORDER BY b.client, b.taken_at DESC, b.id DESC`,
  );
  return r.rows as ClientBackupFigures[];
}

/** True when the state database answers a trivial query (the health check). */
export async function stateAnswers(db: Queryable): Promise<boolean> {
  try {
    await db.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}
