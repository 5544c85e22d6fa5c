import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { checkDecider, decideRestore } from '../operations/decide-restore.js';
import { errorMessage } from '../core/errors.js';
import { loadingModal, messageModal, rejectModal } from '../notify/slack/render/restore.js';
import type { CommandDeps } from '../commands/deps.js';
import { decisionMetadata } from './approval-submitted.js';
import { acceptThenShow, readFormMetadata, refuse, submittedValues, submitterName, type SubmissionArgs } from './submission-frame.js';

type ButtonArgs = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/** "Reject" on a restore request: acknowledged, a modal opened at once, then the approver checked and asked for the reason. */
export async function rejectRestore(deps: CommandDeps, args: ButtonArgs, ids: { rejectView: string }): Promise<void> {
  const { ctx } = deps;
  const { ack, body, action, client } = args;
  await ack();
  deps.background.run('reject restore', async () => {
    let viewId: string | undefined;
    let hash: string | undefined;
    try {
      const opened = await client.views.open({ trigger_id: body.trigger_id, view: loadingModal(ids.rejectView, 'Reject restore', ':hourglass_flowing_sand: Loading the request…') as never });
      viewId = opened.view?.id;
      hash = opened.view?.hash;
    } catch (err) {
      ctx.logger.warn({ err: errorMessage(err) }, 'reject restore: could not open the modal');
      return;
    }
    const msgTs = body.container?.message_ts ?? body.message?.ts;
    const msgChannel = body.channel?.id ?? body.container?.channel_id;
    const check = await checkDecider(ctx, { approvalId: String(action.value ?? ''), userId: body.user.id, meaning: 'rejected', ...(msgTs ? { message: { ts: msgTs, ...(msgChannel ? { channel: msgChannel } : {}) } } : {}) });
    const view = check.ok ? rejectModal({ callbackId: ids.rejectView, approvalId: check.approval.id, client: check.approval.client }) : messageModal('Reject restore', `:no_entry: ${check.message}`);
    await client.views.update({ view_id: viewId!, hash, view: view as never }).catch((err: unknown) => ctx.logger.warn({ err: errorMessage(err) }, 'reject restore: could not update the modal'));
  });
}

/** The rejection with its reason (checked inline), signed like an approval (meaning "rejected") after the ack. */
export async function rejectionSubmitted(deps: CommandDeps, args: SubmissionArgs): Promise<void> {
  const { ctx } = deps;
  const { body } = args;
  const meta = readFormMetadata(decisionMetadata, args.view.private_metadata);
  const reason = (submittedValues(args).reason?.value?.value ?? '').trim();
  if (!meta) { await refuse(args, { reason: 'This form is not a restore rejection of this bot.' }); return; }
  if (!reason) { await refuse(args, { reason: 'A rejection needs a reason.' }); return; }
  await acceptThenShow(deps, args, {
    title: 'Reject restore', working: ':hourglass_flowing_sand: Recording the rejection…', task: `reject ${meta.approvalId}`, showFailed: 'reject restore: could not show the outcome',
    outcome: async () => {
      const name = await submitterName(args);
      const r = await decideRestore(ctx, { approvalId: meta.approvalId, client: meta.client, userId: body.user.id, userName: name, meaning: 'rejected', rejectReason: reason });
      return r.ok ? `:no_entry: You rejected restore #${r.approval.id} of *${r.approval.client}*; your signed reason is recorded.` : `:warning: Not recorded: ${r.message}`;
    },
  });
}
