import type { Context } from '../context.js';
import { errorMessage } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import type { LockResult } from '../store/locks.js';
import type { Run, RunKind } from '../store/runs.js';
import type { RecoveryView } from './reporter.js';

/**
 * The per-client locks (PostgreSQL advisory locks in the state database, `<scope>:<client>`), and the one
 * order in which a process may hold several of them. A lock later in the list may be taken while holding one
 * earlier in it, never the other way round; a lock taken out of order is only ever *tried* (never waited for),
 * so two processes can never wait on each other:
 *
 *   1. `job:<job>:<client>`       a scheduled job's fire (job-runner.ts), around the operation it runs
 *   2. `restore:<client>`         a production restore (restore.ts)
 *   3. `restore_test:<client>`    a restore test (restore-test.ts)
 *   4. `prune:<client>`           retention (prune.ts)
 *   5. `backup_read:<client>:<id>` one stored backup: SHARED while a restore test or a production restore
 *                                 reads it (withBackupRead, waits), EXCLUSIVE while prune deletes it (only
 *                                 tried: a backup being read is kept) — so prune never deletes a backup in use
 *   6. `backup:<client>`          a backup (backup.ts), also the pre-restore backup a restore takes (waits);
 *                                 recovery below only *tries* it, to clean the client's storage leftovers
 *
 * Whoever takes one of the locks 2, 3, 4 or 6 first recovers that client's dead runs (recoverClient): holding the lock
 * proves nobody else runs that kind of work for the client, and a run whose process is gone is dead.
 */
export type ClientLockScope = 'restore' | 'restore_test' | 'prune' | 'backup';

const KIND_OF: Record<ClientLockScope, RunKind> = { restore: 'restore', restore_test: 'restore_test', prune: 'prune', backup: 'backup' };

/** Docker calls of a recovery give up after this long (an unreachable remote engine must not hold a backup up). */
const DOCKER_TIMEOUT_MS = 10_000;

/** Takes the client's `scope` lock (see the order above), recovers the client's dead runs, then runs `fn`. */
export async function withClientLock<T>(ctx: Context, scope: ClientLockScope, client: string, fn: () => Promise<T>, opts: { wait?: boolean } = {}): Promise<LockResult<T>> {
  return ctx.store.withLock(scope, client, async () => {
    await recoverClient(ctx, client, { held: scope });
    return fn();
  }, opts);
}

/**
 * Lock 5: runs `fn` while reading backup `backupId` of `client` (shared with other readers). Prune takes the
 * same lock exclusively before it deletes a backup, so a backup being read is never deleted; `fn` is told
 * whether the backup still exists once the lock is held (prune may have deleted it just before).
 */
export async function withBackupRead<T>(ctx: Context, client: string, backupId: string, fn: () => Promise<T>): Promise<T> {
  const r = await ctx.store.withLock('backup_read', `${client}:${backupId}`, fn, { wait: true, shared: true });
  if (!r.acquired) throw new Error(`could not take the read lock of backup #${backupId}`);
  return r.value;
}

export interface RecoveryResult {
  client: string;
  /** Dead runs marked interrupted now. */
  runs: Run[];
  /** Leftovers of interrupted writes removed, per destination (`.partial` files, open multipart uploads). */
  leftovers: Array<{ destination: string; removed: number }>;
  containers: string[];
  networks: string[];
  /** What could not be cleaned (it is tried again by the next operation). */
  errors: string[];
}

export interface RecoverOptions {
  /** The client lock the caller holds (its runs without a recorded owner are dead too). */
  held?: ClientLockScope;
  /** Look for the client's labelled staging containers/networks (default: when a restore (test) lock is held or a dead one was found). */
  docker?: boolean;
  /** Clean storage leftovers (default: when the backup lock is held or a dead backup was found). */
  storage?: boolean;
}

/**
 * Recovers what dead processes left for one client: marks their `running` runs interrupted (with their last
 * step), deletes `.partial` files and aborts open multipart uploads under `<client>/` (only while holding the
 * client's backup lock: no backup of the client can be writing), removes the client's labelled staging
 * containers and networks whose run is not running.
 * Reports what it cleaned in one message (nothing when there was nothing). Never throws: a recovery problem
 * is logged and reported, and the operation that asked goes on.
 */
export async function recoverClient(ctx: Context, client: string, opts: RecoverOptions = {}): Promise<RecoveryResult> {
  const out: RecoveryResult = { client, runs: [], leftovers: [], containers: [], networks: [], errors: [] };
  const step = async (what: string, fn: () => Promise<void>) => {
    try { await fn(); } catch (err) { out.errors.push(redactSecrets(`${what}: ${errorMessage(err)}`).slice(0, 300)); }
  };
  await step('marking dead runs interrupted', async () => {
    out.runs = await ctx.store.reapClientRuns(client, ctx.clock.now(), { ownedKinds: opts.held ? [KIND_OF[opts.held]] : [] });
  });
  // A dead production restore's request is marked interrupted by the next restore of the client and by `serve` (restore-recovery.ts).
  const deadKinds = new Set(out.runs.map((r) => r.kind));
  if (opts.storage ?? (opts.held === 'backup' || deadKinds.has('backup'))) await step('cleaning storage leftovers', () => cleanStorage(ctx, client, opts.held === 'backup', out));
  const wantDocker = opts.docker ?? (opts.held === 'restore_test' || opts.held === 'restore' || deadKinds.has('restore_test') || deadKinds.has('restore'));
  if (wantDocker) await step('removing staging leftovers (Docker)', () => cleanDocker(ctx, client, out));
  await report(ctx, out);
  return out;
}

/** `.partial` files and open multipart uploads under `<client>/`, in every destination of the client, under the backup lock. */
async function cleanStorage(ctx: Context, client: string, holdsBackupLock: boolean, out: RecoveryResult): Promise<void> {
  const clean = async () => {
    for (const name of ctx.client(client).storage) {
      try {
        const removed = await ctx.storage(name).cleanupPartials(`${client}/`);
        if (removed > 0) out.leftovers.push({ destination: name, removed });
      } catch (err) {
        out.errors.push(redactSecrets(`storage "${name}": ${errorMessage(err)}`).slice(0, 300));
      }
    }
  };
  if (holdsBackupLock) { await clean(); return; }
  // Out of order (see above): only tried. A backup of the client running now keeps its own files; the next operation cleans.
  await ctx.store.withLock('backup', client, clean, { wait: false });
}

async function cleanDocker(ctx: Context, client: string, out: RecoveryResult): Promise<void> {
  // Loaded only when there is staging to look for: a backup does not pay for dockerode (~30 MB RSS).
  const { cleanStagingLeftovers } = await import('./staging-cleanup.js');
  // Every staging engine (docker.hosts): an unreachable one is an error naming it, the others are cleaned.
  const o = await cleanStagingLeftovers(ctx, { client, timeoutMs: DOCKER_TIMEOUT_MS });
  out.containers.push(...o.containers);
  out.networks.push(...o.networks);
  out.errors.push(...o.errors);
}

async function report(ctx: Context, r: RecoveryResult): Promise<void> {
  const cleaned = r.runs.length + r.leftovers.length + r.containers.length + r.networks.length;
  if (cleaned === 0) {
    // Nothing was left to clean, or it could not be looked at (Docker down: the operation itself says so); tried again next time.
    if (r.errors.length) ctx.logger.warn({ client: r.client, errors: r.errors }, 'recovery could not look at everything');
    return;
  }
  const view: RecoveryView = {
    client: r.client,
    runs: r.runs.map((x) => ({ id: x.id, kind: x.kind, step: x.step, startedAt: x.started_at })),
    leftovers: r.leftovers, containers: r.containers, networks: r.networks, errors: r.errors,
  };
  // The report below is the one line people read (console or Slack); the log keeps the details for debugging only.
  ctx.logger.debug({ client: r.client, runs: view.runs.map((x) => x.id), leftovers: r.leftovers, containers: r.containers, networks: r.networks, errors: r.errors }, 'recovered what a stopped process left');
  await ctx.reporter.report({ kind: 'notice.recovered', client: r.client, recovery: view }).catch((err: unknown) => {
    ctx.logger.warn({ err: errorMessage(err) }, 'could not report the recovery');
  });
}
