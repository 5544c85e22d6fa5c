import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { authorize } from '../operations/authorize.js';
import { listBackups } from '../store/backup-register.js';
import { renderBackupList } from '../slack/render/backup-list.js';
import type { CommandDeps } from './deps.js';
import { ackOrRespond, ephemeral } from './reply.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

export const LIST_LIMIT = 15;

/** `/backup list <client>`: the newest backups in the register with their verification status (any role on the client). */
export async function backupList(deps: CommandDeps, args: Args, client: string): Promise<void> {
  const { ctx } = deps;
  const auth = await authorize(ctx, { client, userId: args.command.user_id, role: 'any', action: `list the backups of ${client}` });
  if (!auth.ok) { await args.ack(ephemeral(auth.message)); return; }
  await ackOrRespond((m) => args.ack(m), args.respond, async () => {
    const rows = await listBackups(ctx.pool, { client, limit: LIST_LIMIT });
    const m = renderBackupList(client, rows, ctx.config.timezone);
    return { ...ephemeral(m.text), ...(m.blocks ? { blocks: m.blocks } : {}) };
  });
}
