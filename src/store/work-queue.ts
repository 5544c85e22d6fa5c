import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { PgBoss } from 'pg-boss';

/** pg-boss is loaded only where a queue is opened or installed (serve, db grant): every other command skips its ~25 MB. */
const loadPgBoss = async (): Promise<typeof PgBoss> => (await import('pg-boss')).PgBoss;
import type { Queryable } from './queryable.js';

/**
 * The shared work queue (issue 21): pg-boss in its own schema of the state database. A schedule fire enqueues
 * one piece of work; every replica pulls work while it has a free slot (localConcurrency), oldest first
 * (pg-boss fetches with FOR UPDATE SKIP LOCKED). Limits across replicas are pg-boss group concurrency: a dump
 * is in the group of its database server (tier `db`), a restore test in the group of its Docker engine
 * (tier `docker`). A claim carries a lease (pg-boss heartbeat) renewed while the work runs; a replica that
 * dies stops renewing it and pg-boss's monitor gives the work to the next attempt after `leaseSeconds`.
 */
export const QUEUE_SCHEMA = 'backup_bot_queue';
const WORK_QUEUE = 'work';

/** What a piece of work says: the scheduled job to run and the fire it is for. */
interface WorkData {
  /** Scheduler job name: `scheduled-backup:<client>`, `retention`, … */
  name: string;
  job: string;
  client?: string;
  /** The schedule fire (ISO) this work is for. */
  fire: string;
  enqueuedAt: string;
  /** Instance id of the replica that enqueued it. */
  by?: number;
  /** A person's request (`/backup now`): who asked, checked again when it runs. */
  request?: { client: string; actor: string; actorName: string };
}

export interface WorkGroup { id: string; tier: 'db' | 'docker' }

export interface ClaimedWork {
  id: string;
  data: WorkData;
  /** 1 for the first attempt; a retry after a lost lease is 2, … */
  attempt: number;
  /** Aborted by pg-boss when the claim is lost (this replica stopped renewing it in time). */
  signal: AbortSignal;
}

export interface WorkLimits {
  /** Work this replica runs at once. */
  maxConcurrent: number;
  /** Work at once per group, by tier, across replicas. */
  perTier: Record<WorkGroup['tier'], number>;
  leaseSeconds: number;
  attempts: number;
  /** How often an idle replica looks for work (default 2 s). */
  pollSeconds?: number;
}

export interface QueueFigures {
  queued: number;
  active: number;
  /** Seconds the oldest queued work has waited (0 when none). */
  oldestWaitSeconds: number;
  /** Queued work by how long it has waited, oldest first (at most 50). */
  waiting: Array<{ id: string; name: string; fire: string; waitedSeconds: number }>;
}

export interface WorkQueue {
  /**
   * Enqueues work; returns its id, or undefined when the same work (job and fire) is already queued or done.
   * `unique`: a request of its own (a person's), never merged with another.
   */
  enqueue(data: WorkData, group?: WorkGroup, opts?: { unique?: boolean }): Promise<string | undefined>;
  /** Starts pulling work: `handler` runs each piece; it resolving completes the work, throwing fails the attempt. */
  work(handler: (w: ClaimedWork) => Promise<void>): Promise<void>;
  /** How many queued pieces were enqueued before `id` (its place in the queue), or undefined when it is no longer queued. */
  ahead(id: string): Promise<number | undefined>;
  figures(): Promise<QueueFigures>;
  /** Stops pulling new work; work in hand goes on and is completed (or failed) when its handler ends. */
  pause(): Promise<void>;
  /** Closes the queue, waiting up to `timeoutMs` (default 10 s) for work in hand to be settled. */
  stop(opts?: { timeoutMs?: number }): Promise<void>;
}

/**
 * The queue as the digest shows it, read with the bot's own connection (the digest runs in a job's worker,
 * which has no queue): waiting now, running now, and the work started in the last 24 h with its longest wait.
 * Undefined when the queue was never installed (a bot without `serve`'s queue).
 */
export async function queueSummary(db: Queryable, since: Date): Promise<{ queued: number; active: number; oldestWaitSeconds: number; started24h: number; longestWait24hSeconds: number } | undefined> {
  const installed = await db.query<{ ok: boolean }>(`SELECT to_regclass('${QUEUE_SCHEMA}.job') IS NOT NULL AS ok`);
  if (!installed.rows[0]?.ok) return undefined;
  const r = await db.query<{ queued: number; active: number; oldest: number | null; started: number; longest: number | null }>(
    `SELECT count(*) FILTER (WHERE state < 'active')::int AS queued, count(*) FILTER (WHERE state = 'active')::int AS active,
            extract(epoch FROM now() - min(created_on) FILTER (WHERE state < 'active'))::float8 AS oldest,
            count(*) FILTER (WHERE started_on >= $2)::int AS started,
            extract(epoch FROM max(started_on - created_on) FILTER (WHERE started_on >= $2))::float8 AS longest
       FROM ${QUEUE_SCHEMA}.job WHERE name = $1`,
    [WORK_QUEUE, since],
  );
  const x = r.rows[0]!;
  return { queued: x.queued, active: x.active, oldestWaitSeconds: Math.round(x.oldest ?? 0), started24h: x.started, longestWait24hSeconds: Math.round(x.longest ?? 0) };
}

/** The group a piece of work counts against: `db:<host:port>` (perDatabaseHost) or `docker:<engine>` (restoreTest.maxConcurrent). */
export function workGroupId(tier: WorkGroup['tier'], key: string): string {
  return `${tier}:${key}`;
}

/**
 * The queue group of restore-test work: one group whatever the staging engines (the scheduled job spreads its
 * tests over docker.hosts itself, restoreTest.maxConcurrent per engine): the default engine's address.
 */
export function restoreTestQueueKey(config: { docker: { host?: string } }, env: Record<string, string | undefined> = process.env): string {
  return config.docker.host ?? env.DOCKER_HOST ?? 'local';
}

/**
 * The queue as a front door outside it (the CLI) sees one group: pieces of work of that group enqueued before
 * `before` and still waiting (its place in line), and the work running now in the whole queue (0: no replica is
 * pulling work). Undefined when the queue was never installed.
 */
export async function queuedInGroup(db: Queryable, groupId: string, before: Date): Promise<{ ahead: number; active: number } | undefined> {
  const installed = await db.query<{ ok: boolean }>(`SELECT to_regclass('${QUEUE_SCHEMA}.job') IS NOT NULL AS ok`);
  if (!installed.rows[0]?.ok) return undefined;
  const r = await db.query<{ ahead: number; active: number }>(
    `SELECT count(*) FILTER (WHERE state < 'active' AND group_id = $2 AND created_on < $3)::int AS ahead,
            count(*) FILTER (WHERE state = 'active')::int AS active
       FROM ${QUEUE_SCHEMA}.job WHERE name = $1`,
    [WORK_QUEUE, groupId, before],
  );
  return r.rows[0] ?? { ahead: 0, active: 0 };
}

/** The same job and fire always get the same id: every replica's timer enqueues the fire, one row results. */
function workId(name: string, fire: string): string {
  const h = createHash('sha256').update(`${name}@${fire}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function bossOptions(url: string, limits: Pick<WorkLimits, 'leaseSeconds'>, extra: Record<string, unknown>): ConstructorParameters<typeof PgBoss>[0] {
  // The monitor that fails lost leases runs every supervise/monitor interval: a few times per lease.
  const tick = Math.max(1, Math.min(60, Math.floor(limits.leaseSeconds / 4)));
  return {
    connectionString: url, schema: QUEUE_SCHEMA, max: 4, application_name: 'backup-bot queue',
    schedule: false, superviseIntervalSeconds: tick, monitorIntervalSeconds: tick,
    reindex: false, registerInstance: false, ...extra,
  } as ConstructorParameters<typeof PgBoss>[0];
}

/**
 * Installs (or upgrades) the queue's schema and creates the work queue; with `ownerUrl` this runs as the owner
 * and the runtime role (`url`) only uses it. Idempotent; several replicas starting at once are serialized by
 * pg-boss's own migration lock.
 */
export async function installWorkQueue(url: string, limits: Pick<WorkLimits, 'leaseSeconds'> = { leaseSeconds: 120 }): Promise<void> {
  const boss = new (await loadPgBoss())(bossOptions(url, limits, { supervise: false, migrate: true }));
  boss.on('error', () => {});
  await boss.start();
  try {
    // notify: a new piece of work wakes the replicas at once (LISTEN/NOTIFY) instead of at their next poll.
    const q = await boss.getQueue(WORK_QUEUE);
    if (!q) await boss.createQueue(WORK_QUEUE, { policy: 'standard', notify: true }).catch(async (err: unknown) => { if (!(await boss.getQueue(WORK_QUEUE))) throw err; });
    else if (!q.notify) await boss.updateQueue(WORK_QUEUE, { notify: true });
  } finally {
    await boss.stop({ graceful: false, close: true }).catch(() => {});
  }
}

/** The statements that let the runtime role use the queue (part of `backup-bot db grant`). */
export function workQueueGrants(role: string): string[] {
  const r = pg.escapeIdentifier(role);
  const s = pg.escapeIdentifier(QUEUE_SCHEMA);
  return [
    `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${r}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`,
    `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${s} TO ${r}`,
  ];
}

export async function openWorkQueue(opts: { url: string; ownerUrl?: string; limits: WorkLimits; onError?: (err: Error) => void }): Promise<WorkQueue> {
  const { limits } = opts;
  await installWorkQueue(opts.ownerUrl ?? opts.url, limits);
  const boss = new (await loadPgBoss())(bossOptions(opts.url, limits, { supervise: true, migrate: false, useListenNotify: true }));
  boss.on('error', (err: Error) => opts.onError?.(err));
  await boss.start();
  const stats = new pg.Pool({ connectionString: opts.url, max: 2, application_name: 'backup-bot queue figures' });
  stats.on('error', () => {});
  let stopped = false;
  return {
    async enqueue(data, group, o = {}) {
      const id = await boss.send(WORK_QUEUE, data as unknown as object, {
        id: o.unique ? randomUUID() : workId(data.name, data.fire),
        retryLimit: limits.attempts - 1, retryDelay: 0,
        heartbeatSeconds: limits.leaseSeconds,
        // The lease is the heartbeat; expiry only bounds a replica that is alive but stuck (pg-boss allows 24 h at most).
        expireInSeconds: 24 * 3600,
        ...(group ? { group } : {}),
      });
      return id ?? undefined;
    },
    async work(handler) {
      const refresh = Math.max(1, Math.floor(limits.leaseSeconds / 3));
      const poll = limits.pollSeconds ?? 2;
      await boss.work<WorkData>(WORK_QUEUE, {
        localConcurrency: limits.maxConcurrent, batchSize: 1, pollingIntervalSeconds: poll,
        // NOTIFY wakes the replicas for new work only: a retry (an attempt failed by a graceful stop, or a lost
        // lease the monitor failed) sends none. pg-boss's backstop poll with NOTIFY on is 30 s; keep polling at
        // the normal interval so that a retry is taken within a poll, not half a minute later.
        notifyPollingIntervalSeconds: poll,
        groupConcurrency: { default: 1_000, tiers: limits.perTier }, heartbeatRefreshSeconds: refresh,
      }, async (jobs) => {
        for (const j of jobs) await handler({ id: j.id, data: j.data, attempt: j.retryCount + 1, signal: j.signal });
      });
    },
    async ahead(id) {
      const r = await stats.query<{ queued: boolean; n: string }>(
        `SELECT (me.state < 'active') AS queued,
                (SELECT count(*) FROM ${QUEUE_SCHEMA}.job o WHERE o.name = $1 AND o.state < 'active' AND o.created_on < me.created_on) AS n
           FROM ${QUEUE_SCHEMA}.job me WHERE me.name = $1 AND me.id = $2`,
        [WORK_QUEUE, id],
      );
      const row = r.rows[0];
      return row?.queued ? Number(row.n) : undefined;
    },
    async figures() {
      const r = await stats.query<{ id: string; data: WorkData; state: string; waited: number }>(
        `SELECT id, data, state, extract(epoch FROM now() - created_on)::float8 AS waited
           FROM ${QUEUE_SCHEMA}.job WHERE name = $1 AND state <= 'active' ORDER BY created_on`,
        [WORK_QUEUE],
      );
      const queued = r.rows.filter((x) => x.state !== 'active');
      return {
        queued: queued.length, active: r.rows.length - queued.length,
        oldestWaitSeconds: queued[0] ? Math.max(0, queued[0].waited) : 0,
        waiting: queued.slice(0, 50).map((x) => ({ id: x.id, name: x.data.name, fire: x.data.fire, waitedSeconds: Math.max(0, Math.round(x.waited)) })),
      };
    },
    async pause() {
      await boss.offWork(WORK_QUEUE, { wait: false }).catch(() => {});
    },
    async stop(o = {}) {
      if (stopped) return;
      stopped = true;
      await boss.stop({ graceful: true, timeout: o.timeoutMs ?? 10_000, close: true }).catch(() => {});
      await stats.end().catch(() => {});
    },
  };
}
