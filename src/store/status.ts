import type { Queryable } from './queryable.js';
import type { RunKind } from './runs.js';

/** Read-only counts for the digest and the watchdog (registers, runs, approvals). */

/** Pending restore approvals per client (not yet decided and not expired at `at`). */
export async function countPendingApprovals(db: Queryable, at: Date): Promise<Map<string, number>> {
  const r = await db.query<{ client: string; n: string }>(
    `SELECT client, count(*) AS n FROM approval_rows WHERE status = 'pending' AND expires_at > $1 GROUP BY client`,
    [at],
  );
  return new Map(r.rows.map((x) => [x.client, Number(x.n)]));
}

export interface FailureCount { client: string; kind: RunKind; n: number }

/** Runs that failed or were interrupted since `since`, per client and kind. */
export async function countFailures(db: Queryable, since: Date): Promise<FailureCount[]> {
  const r = await db.query<{ client: string | null; kind: RunKind; n: string }>(
    `SELECT client, kind, count(*) AS n FROM runs WHERE status IN ('failed', 'interrupted') AND started_at >= $1
      GROUP BY client, kind ORDER BY client, kind`,
    [since],
  );
  return r.rows.map((x) => ({ client: x.client ?? '', kind: x.kind, n: Number(x.n) }));
}

/** The newest finished run of a kind for a client (running and skipped runs are not an outcome). */
export async function lastFinishedRun(db: Queryable, client: string, kind: RunKind): Promise<{ id: string; status: string; error: string | null; started_at: Date; finished_at: Date | null } | undefined> {
  const r = await db.query(
    `SELECT id, status, error, started_at, finished_at FROM runs
      WHERE client = $1 AND kind = $2 AND status IN ('ok', 'failed', 'interrupted')
      ORDER BY started_at DESC, id DESC LIMIT 1`,
    [client, kind],
  );
  return r.rows[0] as { id: string; status: string; error: string | null; started_at: Date; finished_at: Date | null } | undefined;
}
