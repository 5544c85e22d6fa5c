import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { runRestoreTest, RestoreTestBusyError } from '../operations/restore-test.js';
import { authorize, yourClients } from '../operations/authorize.js';
import { clientChannel } from '../notify/slack/channels.js';
import type { CommandDeps } from './deps.js';
import { parseRestoreTestCommand } from './parse.js';
import { ackThenAnswer, busyText, ephemeral, userName } from './reply.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

const RESTORE_TEST_USAGE = '*Usage*: `/restore-test <client> [backup]`: restores the newest verified backup (or the one named) in a throwaway staging container, verifies it and records the result in the restore-test register (SOP 8.3). Needs the operator role.';

/** `/restore-test <client> [backup]` (operators): acknowledged at once; the test runs after and reports in the client's channel. */
export async function restoreTest(deps: CommandDeps, args: Args): Promise<void> {
  const { ctx } = deps;
  const { command, client } = args;
  const userId = command.user_id;
  const parsed = parseRestoreTestCommand(command.text ?? '');
  await ackThenAnswer(deps, args, 'restore-test', async (answer) => {
    if (!parsed.ok) return ephemeral(`:warning: I did not understand that: ${parsed.problem}. Nothing was run.\n\n${RESTORE_TEST_USAGE}\n\n${await yourClients(ctx, userId)}`);
    const name = parsed.client;
    const auth = await authorize(ctx, { client: name, userId, role: 'operators', action: `run a restore test of ${name}` });
    if (!auth.ok) return ephemeral(auth.message);
    const channel = clientChannel(ctx.config, name);
    const actorName = await userName(client, userId, command.user_name);
    try {
      const r = await runRestoreTest(ctx, {
        client: name, ...(parsed.backupKey ? { backupKey: parsed.backupKey } : {}), actor: userId, actorName, trigger: 'slack', notify: true, signal: deps.background.signal,
        onProgress: (step) => {
          if (step === 'provisioning') void answer(ephemeral(`:arrow_forward: Restore test of *${name}*${parsed.backupKey ? ` from \`${parsed.backupKey}\`` : ' from the newest verified backup'} started. Progress is shown in <#${channel}>.`));
        },
      });
      ctx.logger.info({ client: name, run: r.run.id, ok: r.ok, failedStep: r.failedStep }, 'restore test from Slack finished');
    } catch (err) {
      if (err instanceof RestoreTestBusyError) {
        const now = (await ctx.store.runs.running({ client: name, kind: 'restore_test' }))[0];
        return ephemeral(now ? busyText(ctx, 'restore test', name, now) : `:hourglass_flowing_sand: ${err.message}`);
      }
      return ephemeral(`:x: The restore test of *${name}* could not run: ${err instanceof Error ? err.message.slice(0, 500) : String(err)}`);
    }
  });
}
