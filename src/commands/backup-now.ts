import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { runBackup, BackupBusyError } from '../operations/backup.js';
import { authorize } from '../operations/authorize.js';
import { clientChannel } from '../notify/slack/channels.js';
import { literal } from '../notify/slack/literal.js';
import type { CommandDeps } from './deps.js';
import { ackThenAnswer, busyText, ephemeral, userName } from './reply.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/**
 * `/backup now <client> [pre-change <ticket> <reason…>]` (operators): acknowledged at once; then the role is checked, the backup runs and its
 * progress is one message in the client's channel (posted and updated by runBackup). The user is told it
 * started (or why it did not: no role, already running) in an ephemeral answer.
 */
export async function backupNow(deps: CommandDeps, args: Args, clientName: string, preChange?: { ticket: string; reason: string }): Promise<void> {
  const { ctx } = deps;
  const { command, client } = args;
  const userId = command.user_id;
  await ackThenAnswer(deps, args, `backup ${clientName}`, async (answer) => {
    const auth = await authorize(ctx, { client: clientName, userId, role: 'operators', action: `run a backup of ${clientName}` });
    if (!auth.ok) return ephemeral(auth.message);
    const channel = clientChannel(ctx.config, clientName);
    const actorName = await userName(client, userId, command.user_name);
    const queue = deps.queue?.();
    if (queue) {
      // The shared work queue: the backup waits for a free slot (workers.maxConcurrent, workers.perDatabaseHost) on any replica.
      const { id, ahead } = await queue.enqueueBackupRequest({ client: clientName, actor: userId, actorName });
      ctx.logger.info({ client: clientName, work: id, ahead }, 'backup from Slack queued');
      return ephemeral(`:hourglass_flowing_sand: Backup of *${clientName}* queued${ahead > 0 ? `: ${ahead} ahead of it` : ': it starts as soon as a slot is free'}. Progress will be shown in <#${channel}>.`);
    }
    try {
      const outcome = await runBackup(ctx, {
        client: clientName, type: preChange ? 'pre-change' : 'manual', actor: userId, actorName, trigger: 'slack', notify: true, signal: deps.background.signal, ...(preChange ?? {}),
        onProgress: (p) => { if (p === 'started') void answer(ephemeral(`:arrow_forward: ${preChange ? `Pre-change backup (ticket ${literal(preChange.ticket)})` : 'Backup'} of *${clientName}* started. Progress is shown in <#${channel}>.`)); },
      });
      ctx.logger.info({ client: clientName, run: outcome.run.id, ok: outcome.ok, verified: outcome.verified, ms: outcome.durationMs }, 'backup from Slack finished');
      if (outcome.message) return;
      // The channel message could not be posted (Slack down, bot not in the channel): tell the requester directly.
      return ephemeral(outcome.ok
        ? `:white_check_mark: Backup of *${clientName}* finished (run ${outcome.run.id}${outcome.verified ? ', verified' : ''}), but its message could not be posted in <#${channel}>.`
        : `:x: Backup of *${clientName}* failed (run ${outcome.run.id}): ${outcome.error ?? 'see the run'}${outcome.hint ? `. First check: ${outcome.hint}` : ''}`);
    } catch (err) {
      if (err instanceof BackupBusyError) return ephemeral(busyText(ctx, 'backup', clientName, err.running));
      throw err;
    }
  });
}
