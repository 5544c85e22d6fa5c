import type { Queryable } from './queryable.js';

/**
 * job_state: the last schedule fire each (job, client) has run for. A fire is claimed with a
 * conditional upsert, so among several replicas (or a catch-up racing a scheduled fire) exactly one
 * execution owns it.
 */
export interface JobStateRow { job: string; client: string; last_fire: Date; since: Date; updated_at: Date }

/** Records a baseline (the schedule's latest past fire) for a job seen for the first time; never moves an existing row. */
export async function ensureJobState(db: Queryable, job: string, client: string, fire: Date, at: Date = new Date()): Promise<JobStateRow> {
  await db.query(
    `INSERT INTO job_state (job, client, last_fire, since, updated_at) VALUES ($1, $2, $3, $4, $4)
     ON CONFLICT (job, client) DO NOTHING`,
    [job, client, fire, at],
  );
  return (await getJobState(db, job, client))!;
}

/**
 * Claims `fire` for (job, client): true when no one has run this fire (or a later one) yet. `again`: the
 * same fire may be claimed once more (the next attempt of queued work whose replica died; the caller holds
 * the job's lock, so the earlier attempt is not running).
 */
export async function claimFire(db: Queryable, job: string, client: string, fire: Date, at: Date = new Date(), opts: { again?: boolean } = {}): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO job_state (job, client, last_fire, since, updated_at) VALUES ($1, $2, $3, $4, $4)
     ON CONFLICT (job, client) DO UPDATE SET last_fire = EXCLUDED.last_fire, updated_at = EXCLUDED.updated_at
       WHERE job_state.last_fire < EXCLUDED.last_fire OR ($5 AND job_state.last_fire = EXCLUDED.last_fire)
     RETURNING job`,
    [job, client, fire, at, opts.again === true],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function getJobState(db: Queryable, job: string, client: string): Promise<JobStateRow | undefined> {
  const r = await db.query('SELECT * FROM job_state WHERE job = $1 AND client = $2', [job, client]);
  return r.rows[0] as JobStateRow | undefined;
}

export async function listJobStates(db: Queryable, job?: string): Promise<JobStateRow[]> {
  const r = await db.query('SELECT * FROM job_state WHERE ($1::text IS NULL OR job = $1) ORDER BY job, client', [job ?? null]);
  return r.rows as JobStateRow[];
}

/** Sets last_fire (tests and operators: "pretend the bot was down since …"). */
export async function setLastFire(db: Queryable, job: string, client: string, fire: Date): Promise<void> {
  await db.query(
    `INSERT INTO job_state (job, client, last_fire) VALUES ($1, $2, $3)
     ON CONFLICT (job, client) DO UPDATE SET last_fire = EXCLUDED.last_fire, updated_at = now()`,
    [job, client, fire],
  );
}
