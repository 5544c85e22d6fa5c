import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { runRestore } from '../operations/restore.js';
import { errorMessage } from '../core/errors.js';
import type { CommandDeps } from '../commands/deps.js';
import { ephemeral, userName } from '../commands/reply.js';

type Args = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/**
 * "Start restore" on an approved request: only the requester; the runbook runs after the ack and reports in
 * its own live message. Refusals (not the requester, not approved, already started) come back ephemerally.
 */
export async function startRestore(deps: CommandDeps, args: Args): Promise<void> {
  const { ctx, background } = deps;
  const { ack, body, action, client, respond } = args;
  await ack();
  const userId = body.user.id;
  const channel = body.channel?.id ?? body.container?.channel_id;
  const ts = body.container?.message_ts ?? body.message?.ts;
  background.run(`restore ${action.value ?? '?'}`, async () => {
    const name = await userName(client, userId, body.user.name);
    try {
      const r = await runRestore(ctx, { approvalId: String(action.value ?? ''), userId, userName: name, trigger: 'slack', ...(channel && ts ? { message: { channel, ts } } : {}) });
      if (!r.ok && !r.run) await respond({ ...ephemeral(`:warning: ${r.message}`), replace_original: false }).catch(() => undefined);
    } catch (err) {
      ctx.logger.error({ err: errorMessage(err) }, 'restore runbook could not run');
      await respond({ ...ephemeral(`:x: The restore could not run: ${errorMessage(err).slice(0, 500)}`), replace_original: false }).catch(() => undefined);
    }
  });
}
