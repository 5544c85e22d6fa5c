import { connectState, createPool, ensureDatabase, withTransaction, type Pool } from './db.js';
import { migrate } from './migrate.js';
import type { Queryable } from './queryable.js';
import { claimInstance, type Instance } from './instance.js';
import { isLocked, withLock, type LockResult } from './locks.js';
import { slotsTaken, withAnySlot, withSlot, type SlotOptions } from './slots.js';
import { reapClientRuns, reapInterruptedRuns } from './interrupted.js';
import { checkRuntimeRole, type RuntimeRoleCheck } from './privileges.js';
import * as alerts from './alerts.js';
import * as approvals from './approvals.js';
import * as auditLog from './audit.js';
import * as backups from './backup-register.js';
import * as deliveries from './deliveries.js';
import * as incidents from './incidents.js';
import * as workQueue from './work-queue.js';
import * as jobState from './job-state.js';
import * as metrics from './metrics.js';
import * as restoreTests from './restore-test-register.js';
import * as runs from './runs.js';
import * as status from './status.js';
import * as signatures from './signatures.js';
import * as heads from './chain-heads.js';
import * as chains from './chain.js';

/**
 * The state database as the rest of the bot sees it: named queries grouped by what they are about,
 * each bound to the process's one pool (or, inside `transaction`, to that transaction's client).
 * SQL is written only in src/store; nothing outside it holds a pool.
 */
const queries = {
  runs: {
    start: runs.startRun, step: runs.runStep, mergeDetails: runs.mergeRunDetails, setMessage: runs.setRunMessage,
    finish: runs.finishRun, get: runs.getRun, list: runs.listRuns, running: runs.runningRuns,
  },
  backups: {
    insert: backups.insertBackup, setVerified: backups.setBackupVerified, markDeleted: backups.markBackupDeleted, get: backups.getBackup,
    findByKey: backups.findBackupByKey, list: backups.listBackups, latestVerified: backups.latestVerifiedBackup,
    idsReferencedByApprovals: backups.backupIdsReferencedByApprovals,
  },
  restoreTests: {
    insert: restoreTests.insertRestoreTest, get: restoreTests.getRestoreTest, list: restoreTests.listRestoreTests,
  },
  approvals: {
    nextId: approvals.nextApprovalId, insert: approvals.insertApproval, get: approvals.getApproval, recordDecision: approvals.recordDecision,
    expire: approvals.expireApproval, setMessage: approvals.setApprovalMessage, setRunbookMessage: approvals.setRunbookMessage,
    claimForRunbook: approvals.claimApprovalForRunbook, recordStep: approvals.recordApprovalStep, setDatabases: approvals.setApprovalDatabases,
    finish: approvals.finishApproval, markInterrupted: approvals.markInterruptedApprovals, list: approvals.listApprovals,
    oldDatabasesDue: approvals.listOldDatabasesDue, markOldDatabaseDropped: approvals.markOldDatabaseDropped,
  },
  incidents: {
    insertRestoreIncident: approvals.insertRestoreIncident, listRestore: approvals.listRestoreIncidents,
    open: incidents.insertIncident, update: incidents.updateIncident, get: incidents.getIncident, list: incidents.listIncidents, history: incidents.incidentHistory,
  },
  audit: { append: auditLog.audit, list: auditLog.listAudit, has: auditLog.hasAudit, actors: auditLog.auditActors },
  signatures: { insert: signatures.insertSignature, forSubject: signatures.signaturesFor, list: signatures.listSignatures },
  chains: { read: chains.readChain, tips: chains.chainTips },
  heads: { insert: heads.insertChainHead, list: heads.listChainHeads, latest: heads.latestChainHeads },
  alerts: { open: alerts.openAlert, setMessage: alerts.setAlertMessage, resolve: alerts.resolveAlerts, listOpen: alerts.listOpenAlerts, list: alerts.listAlerts },
  jobs: { ensureState: jobState.ensureJobState, claimFire: jobState.claimFire, getState: jobState.getJobState, listStates: jobState.listJobStates, setLastFire: jobState.setLastFire },
  status: { pendingApprovals: status.countPendingApprovals, failures: status.countFailures, lastFinishedRun: status.lastFinishedRun },
  metrics: { runCounts: metrics.countRunsByKindAndStatus, lastBackupFigures: metrics.lastBackupFigures },
  deliveries: { record: deliveries.recordDelivery, prune: deliveries.pruneDeliveries },
  queue: { summary: workQueue.queueSummary, inGroup: workQueue.queuedInGroup },
} as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type QueryFn = (db: Queryable, ...args: any[]) => Promise<unknown>;
type Bound<T> = { readonly [K in keyof T]: T[K] extends (db: Queryable, ...args: infer A) => infer R ? (...args: A) => R : never };
type Queries = typeof queries;
export type BoundQueries = { readonly [G in keyof Queries]: Bound<Queries[G]> };

/** The named queries, bound to a pool or a transaction's client. */
export function queriesOn(db: Queryable): BoundQueries {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [group, fns] of Object.entries(queries)) {
    out[group] = Object.fromEntries(Object.entries(fns as Record<string, QueryFn>).map(([name, fn]) => [name, (...args: unknown[]) => fn(db, ...args)]));
  }
  return out as unknown as BoundQueries;
}

export interface Store extends BoundQueries {
  /** Runs `fn` in one transaction; the queries it is handed run on that transaction. */
  transaction<T>(fn: (tx: BoundQueries) => Promise<T>): Promise<T>;
  /** Runs `fn` while holding the advisory lock `scope:key` (on a dedicated connection); see locks.ts. */
  withLock<T>(scope: string, key: string, fn: () => Promise<T>, opts?: { wait?: boolean; shared?: boolean }): Promise<LockResult<T>>;
  isLocked(scope: string, key: string): Promise<boolean>;
  /** Runs `fn` holding one of `limit` slots `scope:key` shared by every replica (waits for one); see slots.ts. */
  withSlot<T>(scope: string, key: string, limit: number, fn: () => Promise<T>, opts?: SlotOptions): Promise<T>;
  /** Runs `fn(key)` holding a free slot of any of `keys` (spread over them, waits when all are taken); see slots.ts. */
  withAnySlot<T>(scope: string, keys: readonly string[], limit: number, fn: (key: string) => Promise<T>, opts?: SlotOptions): Promise<T>;
  /** How many of those slots are held right now. */
  slotsTaken(scope: string, key: string, limit: number): Promise<number>;
  /** Marks `running` runs of processes that are gone as interrupted; returns them. */
  reapInterruptedRuns(at: Date): Promise<runs.Run[]>;
  /** Marks the `running` runs of `client` whose process is gone as interrupted (see interrupted.ts); returns them. */
  reapClientRuns(client: string, at: Date, opts?: { ownedKinds?: runs.RunKind[] }): Promise<runs.Run[]>;
  /** This process's instance (claimed once, released by close()). */
  claimInstance(): Promise<Instance>;
  /** A cheap round trip (health checks). */
  ping(): Promise<void>;
  /** The server's version string (doctor). */
  serverVersion(): Promise<string>;
  /** What the connected role could do to the evidence beyond appending (doctor). */
  runtimeRole(): Promise<RuntimeRoleCheck>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Create the database if it does not exist (embedded defaults, tests). */
  createDatabase?: boolean;
  poolSize?: number;
  /** The owner role's connection: migrations run with it (the runtime role of `url` may lack the right to). */
  ownerUrl?: string;
}

/** Applies pending migrations with the owner's connection when one is given, else with the bot's own. */
async function migrateWith(pool: Pool, ownerUrl: string | undefined): Promise<string[]> {
  if (!ownerUrl) return migrate(pool);
  const owner = await connectState(ownerUrl, { max: 1 });
  try {
    return await migrate(owner);
  } finally {
    await owner.end().catch(() => {});
  }
}

/** Connects, applies pending migrations, and returns the store (one per process or worker thread). */
export async function openStore(url: string, opts: StoreOptions = {}): Promise<Store & { migrationsApplied: string[] }> {
  if (opts.createDatabase) await ensureDatabase(url).catch(() => false);
  const pool: Pool = await connectState(url, { max: opts.poolSize ?? 10 });
  let migrationsApplied: string[];
  try {
    migrationsApplied = await migrateWith(pool, opts.ownerUrl);
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  let closed = false;
  // Slack deliveries are recorded before the request is acknowledged (Slack waits 3 s): on their own small
  // pool, opened on first use, so that they never queue behind work holding the main pool's connections
  // (locks waited for, long runs).
  let slackPool: Pool | undefined;
  const deliveriesPool = () => (slackPool ??= createPool(url, { max: 2, applicationName: 'backup-bot-slack' }));
  return {
    ...queriesOn(pool),
    deliveries: {
      record: (d) => deliveries.recordDelivery(deliveriesPool(), d),
      prune: (before) => deliveries.pruneDeliveries(deliveriesPool(), before),
    },
    migrationsApplied,
    transaction: (fn) => withTransaction(pool, (c) => fn(queriesOn(c))),
    withLock: (scope, key, fn, o) => withLock(pool, scope, key, fn, o),
    isLocked: (scope, key) => isLocked(pool, scope, key),
    withSlot: (scope, key, limit, fn, o) => withSlot(pool, scope, key, limit, fn, o),
    withAnySlot: (scope, keys, limit, fn, o) => withAnySlot(pool, scope, keys, limit, fn, o),
    slotsTaken: (scope, key, limit) => slotsTaken(pool, scope, key, limit),
    reapInterruptedRuns: (at) => reapInterruptedRuns(pool, at),
    reapClientRuns: (client, at, o) => reapClientRuns(pool, client, at, o),
    claimInstance: () => claimInstance(pool),
    ping: async () => { await pool.query('SELECT 1'); },
    runtimeRole: () => checkRuntimeRole(pool),
    serverVersion: async () => (await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v,
    async close() {
      if (closed) return;
      closed = true;
      await slackPool?.end().catch(() => {});
      await pool.end();
    },
  };
}
