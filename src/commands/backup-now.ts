import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { runBackup, BackupBusyError } from '../operations/backup.js';
import { authorize } from '../operations/authorize.js';

import { clientChannel } from '../notify/slack/channels.js';
import { errorMessage } from '../core/errors.js';
import type { CommandDeps } from './deps.js';
import { busyText, ephemeral, userName } from './reply.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/**
 * `/backup now <client>`: authorize (operators), refuse a second backup of a running client with a
 * link to its message, else ack "started" (ephemeral, well within 3 s) and run the backup after the
 * ack. Progress is one message in the client's channel, posted and updated by runBackup itself.
 */
export async function backupNow(deps: CommandDeps, args: Args, clientName: string): Promise<void> {
  const { ctx, background } = deps;
  const { command, ack, respond, client } = args;
  const userId = command.user_id;
  const auth = await authorize(ctx, { client: clientName, userId, role: 'operators', action: `run a backup of ${clientName}` });
  if (!auth.ok) { await ack(ephemeral(auth.message)); return; }

  const running = (await ctx.store.runs.running({ client: clientName, kind: 'backup' }))[0];
  if (running) { await ack(ephemeral(busyText(ctx, 'backup', clientName, running))); return; }

  const channel = clientChannel(ctx.config, clientName);
  await ack(ephemeral(`:arrow_forward: Backup of *${clientName}* started. Progress is shown in <#${channel}>.`));

  background.run(`backup ${clientName}`, async () => {
    const actorName = await userName(client, userId, command.user_name);
    try {
      const outcome = await runBackup(ctx, { client: clientName, type: 'manual', actor: userId, actorName, trigger: 'slack', notify: true });
      ctx.logger.info({ client: clientName, run: outcome.run.id, ok: outcome.ok, verified: outcome.verified, ms: outcome.durationMs }, 'backup from Slack finished');
      if (!outcome.message) {
        // The channel message could not be posted (Slack down, bot not in the channel): tell the requester directly.
        await respond(ephemeral(outcome.ok
          ? `:white_check_mark: Backup of *${clientName}* finished (run ${outcome.run.id}${outcome.verified ? ', verified' : ''}), but its message could not be posted in <#${channel}>.`
          : `:x: Backup of *${clientName}* failed (run ${outcome.run.id}): ${outcome.error ?? 'see the run'}${outcome.hint ? `. First check: ${outcome.hint}` : ''}`)).catch(() => undefined);
      }
    } catch (err) {
      if (err instanceof BackupBusyError) {
        await respond(ephemeral(busyText(ctx, 'backup', clientName, err.running))).catch(() => undefined);
        return;
      }
      ctx.logger.error({ client: clientName, err: errorMessage(err) }, 'backup from Slack could not run');
      await respond(ephemeral(`:x: The backup of *${clientName}* could not run: ${errorMessage(err).slice(0, 500)}`)).catch(() => undefined);
    }
  });
}
