import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { authorize, clientsOf, yourClients } from '../operations/authorize.js';
import { clientStatus, queuedFor } from '../operations/client-status.js';
import { renderBackupStatus } from '../notify/slack/render/backup-status.js';
import type { CommandDeps } from './deps.js';
import { ackThenAnswer, ephemeral } from './reply.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/** `/backup status [client]`: for one client (any role on it) or every client the user has a role on. */
export async function backupStatus(deps: CommandDeps, args: Args, client: string | undefined): Promise<void> {
  const { ctx } = deps;
  const userId = args.command.user_id;
  await ackThenAnswer(deps, args, 'backup status', async () => {
    if (client) {
      const auth = await authorize(ctx, { client, userId, role: 'any', action: `see the backup status of ${client}` });
      if (!auth.ok) return ephemeral(auth.message);
    }
    const names = client ? [client] : await clientsOf(ctx, userId);
    if (names.length === 0) return ephemeral(`There is no status to show. ${await yourClients(ctx, userId)}`);
    const rows = await Promise.all(names.map((n) => clientStatus(ctx, n)));
    const waiting = (await deps.queue?.()?.figures().catch(() => undefined))?.waiting;
    if (waiting) for (const r of rows) r.queued = queuedFor(r.client, waiting);
    const m = renderBackupStatus(rows, ctx.clock.now(), ctx.config.timezone);
    return { ...ephemeral(m.text), ...(m.blocks ? { blocks: m.blocks } : {}) };
  });
}
