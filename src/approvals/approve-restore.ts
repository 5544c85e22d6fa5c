import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { approvalStatement, checkDecider } from '../operations/decide-restore.js';
import { errorMessage } from '../core/errors.js';
import { approveModal, impactLines, loadingModal, messageModal } from '../notify/slack/render/restore.js';
import type { CommandDeps } from '../commands/deps.js';
import { userName } from '../commands/reply.js';

type Args = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/**
 * "Approve" on a restore request: acknowledged, the modal opened at once (trigger_id), then the request and the
 * approver are checked (checkDecider, the rules the decision itself applies again on submit) and the whole
 * statement the approver signs is shown with their full name from Slack; whoever may not approve is told why.
 */
export async function approveRestore(deps: CommandDeps, args: Args, ids: { approveView: string }): Promise<void> {
  const { ctx } = deps;
  const { ack, body, action, client } = args;
  await ack();
  deps.background.run('approve restore', async () => {
    let viewId: string | undefined;
    let hash: string | undefined;
    try {
      const opened = await client.views.open({ trigger_id: body.trigger_id, view: loadingModal(ids.approveView, 'Approve restore', ':hourglass_flowing_sand: Loading the request…') as never });
      viewId = opened.view?.id;
      hash = opened.view?.hash;
    } catch (err) {
      ctx.logger.warn({ err: errorMessage(err) }, 'approve restore: could not open the modal');
      return;
    }
    const show = (view: Record<string, unknown>) => client.views.update({ view_id: viewId!, hash, view: view as never }).catch((err: unknown) => ctx.logger.warn({ err: errorMessage(err) }, 'approve restore: could not update the modal'));
    const msgTs = body.container?.message_ts ?? body.message?.ts;
    const msgChannel = body.channel?.id ?? body.container?.channel_id;
    const check = await checkDecider(ctx, { approvalId: String(action.value ?? ''), userId: body.user.id, meaning: 'approved', ...(msgTs ? { message: { ts: msgTs, ...(msgChannel ? { channel: msgChannel } : {}) } } : {}) });
    if (!check.ok) { await show(messageModal('Approve restore', `:no_entry: ${check.message}`)); return; }
    const a = check.approval;
    const name = await userName(client, body.user.id, body.user.name);
    const statement = approvalStatement(a, { name, roleLabel: check.roleLabel }, 'approved', ctx.config.timezone);
    await show(approveModal({ callbackId: ids.approveView, approvalId: a.id, client: a.client, statement, roleLabel: check.roleLabel, impact: impactLines(a, ctx.config.timezone) }));
  });
}
