import type { Queryable } from './queryable.js';

export type RunKind = 'backup' | 'verify' | 'restore_test' | 'restore' | 'prune' | 'integrity_check' | 'digest' | 'watchdog' | 'job';
export type RunStatus = 'running' | 'ok' | 'failed' | 'interrupted' | 'skipped';
export type RunTrigger = 'cli' | 'slack' | 'schedule' | 'system';

interface TimelineEntry { at: string; step: string; note?: string }

export interface Run {
  id: string;
  kind: RunKind;
  client: string | null;
  status: RunStatus;
  trigger: RunTrigger;
  actor: string;
  step: string | null;
  timeline: TimelineEntry[];
  error: string | null;
  details: Record<string, unknown>;
  started_at: Date;
  finished_at: Date | null;
  host: string | null;
  pid: number | null;
  instance: number | null;
  slack_channel: string | null;
  slack_ts: string | null;
}

export interface StartRun {
  kind: RunKind;
  client?: string | null;
  actor: string;
  trigger: RunTrigger;
  details?: Record<string, unknown>;
  instance?: { id: number; host: string; pid: number };
  startedAt?: Date;
}

export async function startRun(db: Queryable, r: StartRun): Promise<Run> {
  const at = r.startedAt ?? new Date();
  const res = await db.query(
    `INSERT INTO runs (kind, client, actor, trigger, details, started_at, step, timeline, host, pid, instance)
     VALUES ($1, $2, $3, $4, $5, $6, 'started', jsonb_build_array(jsonb_build_object('at', $6::timestamptz, 'step', 'started')), $7, $8, $9)
     RETURNING *`,
    [r.kind, r.client ?? null, r.actor, r.trigger, JSON.stringify(r.details ?? {}), at, r.instance?.host ?? null, r.instance?.pid ?? null, r.instance?.id ?? null],
  );
  return res.rows[0] as Run;
}

/** Records a step of a running run (appended to its timeline). */
export async function runStep(db: Queryable, id: string, step: string, note?: string, at: Date = new Date()): Promise<void> {
  const entry: TimelineEntry = { at: at.toISOString(), step, ...(note ? { note } : {}) };
  await db.query(
    `UPDATE runs SET step = $2, timeline = timeline || $3::jsonb WHERE id = $1`,
    [id, step, JSON.stringify([entry])],
  );
}

export async function mergeRunDetails(db: Queryable, id: string, details: Record<string, unknown>): Promise<void> {
  await db.query('UPDATE runs SET details = details || $2::jsonb WHERE id = $1', [id, JSON.stringify(details)]);
}

export async function setRunMessage(db: Queryable, id: string, channel: string, ts: string): Promise<void> {
  await db.query('UPDATE runs SET slack_channel = $2, slack_ts = $3 WHERE id = $1', [id, channel, ts]);
}

/** Ends a run; only a `running` run can end (a run marked interrupted stays so). */
export async function finishRun(db: Queryable, id: string, f: { status: Exclude<RunStatus, 'running'>; error?: string | null; details?: Record<string, unknown>; at?: Date }): Promise<Run | undefined> {
  const at = f.at ?? new Date();
  const entry: TimelineEntry = { at: at.toISOString(), step: f.status, ...(f.error ? { note: f.error } : {}) };
  const r = await db.query(
    `UPDATE runs SET status = $2, error = $3, details = details || $4::jsonb, finished_at = $5, timeline = timeline || $6::jsonb
      WHERE id = $1 AND status = 'running' RETURNING *`,
    [id, f.status, f.error ?? null, JSON.stringify(f.details ?? {}), at, JSON.stringify([entry])],
  );
  return r.rows[0] as Run | undefined;
}

export async function getRun(db: Queryable, id: string): Promise<Run | undefined> {
  const r = await db.query('SELECT * FROM runs WHERE id = $1', [id]);
  return r.rows[0] as Run | undefined;
}

export async function listRuns(db: Queryable, f: { client?: string; kind?: RunKind; status?: RunStatus; since?: Date; limit?: number } = {}): Promise<Run[]> {
  const r = await db.query(
    `SELECT * FROM runs WHERE ($1::text IS NULL OR client = $1) AND ($2::text IS NULL OR kind = $2)
       AND ($3::text IS NULL OR status = $3) AND ($4::timestamptz IS NULL OR started_at >= $4)
     ORDER BY started_at DESC, id DESC LIMIT $5`,
    [f.client ?? null, f.kind ?? null, f.status ?? null, f.since ?? null, f.limit ?? 100],
  );
  return r.rows as Run[];
}

export async function runningRuns(db: Queryable, f: { client?: string; kind?: RunKind } = {}): Promise<Run[]> {
  return listRuns(db, { ...f, status: 'running', limit: 1000 });
}

/** Marks the running runs of a dead instance `interrupted`; returns them. */
export async function markInstanceRunsInterrupted(db: Queryable, instance: number | null, at: Date = new Date()): Promise<Run[]> {
  const entry: TimelineEntry = { at: at.toISOString(), step: 'interrupted', note: 'the process running it stopped before it finished' };
  const r = await db.query(
    `UPDATE runs SET status = 'interrupted', finished_at = $2, error = coalesce(error, 'interrupted: the process running it stopped before it finished (last step: ' || coalesce(step, '?') || ')'),
            timeline = timeline || $3::jsonb
      WHERE status = 'running' AND instance IS NOT DISTINCT FROM $1 RETURNING *`,
    [instance, at, JSON.stringify([entry])],
  );
  return r.rows as Run[];
}

/** Marks the given runs `interrupted` (only those still `running`); returns the ones it changed. */
export async function markRunsInterrupted(db: Queryable, ids: string[], at: Date = new Date()): Promise<Run[]> {
  if (ids.length === 0) return [];
  const entry: TimelineEntry = { at: at.toISOString(), step: 'interrupted', note: 'the process running it stopped before it finished' };
  const r = await db.query(
    `UPDATE runs SET status = 'interrupted', finished_at = $2, error = coalesce(error, 'interrupted: the process running it stopped before it finished (last step: ' || coalesce(step, '?') || ')'),
            timeline = timeline || $3::jsonb
      WHERE status = 'running' AND id = ANY($1::bigint[]) RETURNING *`,
    [ids, at, JSON.stringify([entry])],
  );
  return r.rows as Run[];
}
