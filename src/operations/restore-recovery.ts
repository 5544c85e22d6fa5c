import type { Context } from '../context.js';
import { errorMessage } from '../core/errors.js';
import { parseDbUrl } from '../core/db-url.js';
import type { ApprovalRow } from '../store/approvals.js';
import { dropMysqlOldDatabase } from './restore-mysql.js';
import { dropPgOldDatabase } from './restore-pg.js';
import { RESTORE_PLAN } from './restore-steps.js';

/**
 * At start (`serve`): production restores whose runbook died with the bot are marked interrupted with their last
 * completed step; nothing is dropped (the old database of a swap stays where it is). People are told where things are.
 */
export async function markRestoresInterrupted(ctx: Context): Promise<ApprovalRow[]> {
  const rows = await ctx.store.approvals.markInterrupted(ctx.clock.now());
  for (const a of rows) {
    await ctx.store.audit.append({ actor: 'backup-bot', action: 'restore.interrupted', client: a.client, target: `approval:${a.id}`, reason: a.error, details: { lastStep: a.last_step, oldDatabase: a.old_database, restoreDatabase: a.restore_database } });
    if (a.runbook_message_channel && a.runbook_message_ts) {
      await ctx.reporter.report({ kind: 'restore.runbook', client: a.client, view: { approval: a, plan: RESTORE_PLAN, steps: a.steps, status: `interrupted after "${a.last_step ?? 'none'}"`, error: a.error } }, { channel: a.runbook_message_channel, ts: a.runbook_message_ts });
    }
    await ctx.reporter.report({ kind: 'notice.restore_interrupted', client: a.client, approval: a });
  }
  return rows;
}

/**
 * Drops the databases kept aside by completed swap restores once `approvals.keepOldFor` has passed (called by
 * the retention job): PostgreSQL's `<db>_old_<time>`, MySQL's `<db>__old_<id>` (production's previous tables).
 * Returns what was dropped.
 */
export async function dropExpiredOldDatabases(ctx: Context, client?: string): Promise<Array<{ approvalId: string; client: string; database: string; error?: string }>> {
  const out: Array<{ approvalId: string; client: string; database: string; error?: string }> = [];
  for (const a of await ctx.store.approvals.oldDatabasesDue(ctx.clock.now())) {
    if (client !== undefined && a.client !== client) continue;
    const cfg = ctx.config.clients[a.client];
    if (!cfg || !a.old_database) continue;
    try {
      const target = parseDbUrl(cfg.database.url, cfg.database.engine);
      if (cfg.database.engine === 'mysql') await dropMysqlOldDatabase(target, a.old_database);
      else await dropPgOldDatabase(target, a.old_database);
      await ctx.store.approvals.markOldDatabaseDropped(a.id, ctx.clock.now());
      await ctx.store.audit.append({ actor: 'backup-bot', action: 'restore.old_database_dropped', client: a.client, target: `approval:${a.id}`, details: { database: a.old_database, keptUntil: a.old_database_drop_after } });
      out.push({ approvalId: a.id, client: a.client, database: a.old_database });
    } catch (err) {
      out.push({ approvalId: a.id, client: a.client, database: a.old_database, error: errorMessage(err) });
    }
  }
  return out;
}
