import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { runRestoreTest, RestoreTestBusyError } from '../operations/restore-test.js';
import { authorize } from '../operations/authorize.js';

import { clientChannel } from '../notify/slack/channels.js';
import { errorMessage } from '../core/errors.js';
import type { CommandDeps } from './deps.js';
import { parseRestoreTestCommand } from './parse.js';
import { busyText, ephemeral, userName } from './reply.js';
import { clientsLine } from './backup-help.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

export const RESTORE_TEST_USAGE = '*Usage*: `/restore-test <client> [backup]`: restores the newest verified backup (or the one named) in a throwaway staging container, verifies it and records the result in the restore-test register (SOP 8.3). Needs the operator role.';

/** `/restore-test <client> [backup]`: operators; ack within 3 s, the test runs after the ack. */
export async function restoreTest(deps: CommandDeps, args: Args): Promise<void> {
  const { ctx, background } = deps;
  const { command, ack, respond, client } = args;
  const userId = command.user_id;
  const parsed = parseRestoreTestCommand(command.text ?? '');
  if (!parsed.ok || !Object.prototype.hasOwnProperty.call(ctx.config.clients, parsed.client)) {
    const problem = parsed.ok ? `unknown client "${parsed.client}"` : parsed.problem;
    await ack(ephemeral(`:warning: I did not understand that: ${problem}. Nothing was run.\n\n${RESTORE_TEST_USAGE}\n\n${await clientsLine(ctx, userId)}`));
    return;
  }
  const name = parsed.client;
  const auth = await authorize(ctx, { client: name, userId, role: 'operators', action: `run a restore test of ${name}` });
  if (!auth.ok) { await ack(ephemeral(auth.message)); return; }
  const running = (await ctx.store.runs.running({ client: name, kind: 'restore_test' }))[0];
  if (running) { await ack(ephemeral(busyText(ctx, 'restore test', name, running))); return; }

  const channel = clientChannel(ctx.config, name);
  await ack(ephemeral(`:arrow_forward: Restore test of *${name}*${parsed.backupKey ? ` from \`${parsed.backupKey}\`` : ' from the newest verified backup'} started. Progress is shown in <#${channel}>.`));
  background.run(`restore-test ${name}`, async () => {
    const actorName = await userName(client, userId, command.user_name);
    try {
      const r = await runRestoreTest(ctx, { client: name, ...(parsed.backupKey ? { backupKey: parsed.backupKey } : {}), actor: userId, actorName, trigger: 'slack', notify: true });
      ctx.logger.info({ client: name, run: r.run.id, ok: r.ok, failedStep: r.failedStep }, 'restore test from Slack finished');
    } catch (err) {
      if (err instanceof RestoreTestBusyError) {
        const now = (await ctx.store.runs.running({ client: name, kind: 'restore_test' }))[0];
        await respond(ephemeral(now ? busyText(ctx, 'restore test', name, now) : `:hourglass_flowing_sand: ${errorMessage(err)}`)).catch(() => undefined);
        return;
      }
      ctx.logger.error({ client: name, err: errorMessage(err) }, 'restore test from Slack could not run');
      await respond(ephemeral(`:x: The restore test of *${name}* could not run: ${errorMessage(err).slice(0, 500)}`)).catch(() => undefined);
    }
  });
}
