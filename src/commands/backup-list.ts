import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { authorize } from '../operations/authorize.js';
import { listStoredBackupsDetailed } from '../operations/list-backups.js';
import { renderBackupList } from '../notify/slack/render/backup-list.js';
import type { CommandDeps } from './deps.js';
import { ackThenAnswer, ephemeral } from './reply.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

const LIST_LIMIT = 15;

/** `/backup list <client>`: the newest stored backups with their register status, as `backup-bot list` (any role on the client). */
export async function backupList(deps: CommandDeps, args: Args, client: string): Promise<void> {
  const { ctx } = deps;
  await ackThenAnswer(deps, args, `backup list ${client}`, async () => {
    const auth = await authorize(ctx, { client, userId: args.command.user_id, role: 'any', action: `list the backups of ${client}` });
    if (!auth.ok) return ephemeral(auth.message);
    const m = renderBackupList(client, await listStoredBackupsDetailed(ctx, client), ctx.config.timezone, LIST_LIMIT);
    return { ...ephemeral(m.text), ...(m.blocks ? { blocks: m.blocks } : {}) };
  });
}
