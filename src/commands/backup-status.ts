import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { authorize, clientsOf } from '../operations/authorize.js';
import { clientStatus } from '../operations/client-status.js';
import { renderBackupStatus } from '../notify/slack/render/backup-status.js';
import type { CommandDeps } from './deps.js';
import { ackOrRespond, ephemeral } from './reply.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/** `/backup status [client]`: for one client (any role on it) or every client the user has a role on. */
export async function backupStatus(deps: CommandDeps, args: Args, client: string | undefined): Promise<void> {
  const { ctx } = deps;
  const userId = args.command.user_id;
  if (client) {
    const auth = await authorize(ctx, { client, userId, role: 'any', action: `see the backup status of ${client}` });
    if (!auth.ok) { await args.ack(ephemeral(auth.message)); return; }
  }
  await ackOrRespond((m) => args.ack(m), args.respond, async () => {
    const names = client ? [client] : await clientsOf(ctx, userId);
    if (names.length === 0) return ephemeral(`You have no role on any client, so there is no status to show (configured: ${Object.keys(ctx.config.clients).join(', ')}).`);
    const rows = await Promise.all(names.map((n) => clientStatus(ctx, n)));
    const m = renderBackupStatus(rows, ctx.clock.now(), ctx.config.timezone);
    return { ...ephemeral(m.text), ...(m.blocks ? { blocks: m.blocks } : {}) };
  });
}
