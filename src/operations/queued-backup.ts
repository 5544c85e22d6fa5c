import type { Context } from '../context.js';
import { authorize } from './authorize.js';
import { BackupBusyError, runBackup, type BackupOutcome } from './backup.js';
import type { WorkAttempt } from './job-runner.js';

/**
 * Backups that waited in the shared work queue (issue 21): `/backup now` from Slack enqueues a request; the
 * replica that takes it runs it here. The role is checked again when it runs (it may have been removed while
 * the request waited), and a later attempt (the first one's replica died) first cleans up what that one left.
 */
export interface BackupRequest {
  client: string;
  /** Slack user id of the requester. */
  actor: string;
  actorName: string;
}

export async function runRequestedBackup(ctx: Context, r: BackupRequest, attempt: WorkAttempt): Promise<BackupOutcome | undefined> {
  const auth = await authorize(ctx, { client: r.client, userId: r.actor, role: 'operators', action: `run a backup of ${r.client}` });
  if (!auth.ok) {
    ctx.logger.warn({ client: r.client, actor: r.actor, work: attempt.id }, `queued backup of ${r.client} dropped: ${r.actor} no longer holds the operator role`);
    return undefined;
  }
  if (attempt.n > 1) {
    await ctx.store.reapInterruptedRuns(ctx.clock.now());
    await cleanUpEarlierAttempt(ctx, r.client);
  }
  try {
    return await runBackup(ctx, {
      client: r.client, type: 'manual', actor: r.actor, actorName: r.actorName, trigger: 'slack', notify: true, wait: true,
      details: { work: { id: attempt.id, attempt: attempt.n, of: attempt.of, waitedSeconds: attempt.waitedSeconds ?? null } },
    });
  } catch (err) {
    if (!(err instanceof BackupBusyError)) throw err;
    return undefined;
  }
}

/**
 * Before the next attempt of a backup whose replica died: under the client's backup lock (nobody else is
 * writing its files), the dead attempt's `.partial` files and open multipart uploads are removed.
 */
export async function cleanUpEarlierAttempt(ctx: Context, client: string): Promise<void> {
  await ctx.store.withLock('backup', client, async () => {
    for (const dest of ctx.client(client).storage) {
      const n = await ctx.storage(dest).cleanupPartials(`${client}/`).catch((err: unknown) => { ctx.logger.warn({ client, dest, err: String(err) }, 'could not clean up the earlier attempt'); return 0; });
      if (n > 0) ctx.logger.warn({ client, dest, removed: n }, `removed ${n} leftover(s) of the earlier attempt's backup of ${client}`);
    }
  }, { wait: true });
}
