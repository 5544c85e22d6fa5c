import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { authorize, ROLE_LABEL } from '../operations/authorize.js';
import { approvalStatement } from '../operations/decide-restore.js';
import { approverRole } from '../operations/request-restore.js';

import { errorMessage } from '../core/errors.js';
import { approveModal, impactLines, loadingModal, messageModal } from '../notify/slack/render/restore.js';
import type { CommandDeps } from '../commands/deps.js';
import { userName } from '../commands/reply.js';

type Args = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/**
 * "Approve" on a restore request: opens the modal at once (trigger_id), then shows the whole statement the
 * approver signs, with their full name from Slack. Whoever may not approve is told why (and it is audited);
 * every rule is checked again when the modal is submitted.
 */
export async function approveRestore(deps: CommandDeps, args: Args, ids: { approveView: string }): Promise<void> {
  const { ctx } = deps;
  const { ack, body, action, client } = args;
  await ack();
  const userId = body.user.id;
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
  const a = /^\d{1,18}$/.test(action.value ?? '') ? await ctx.store.approvals.get(action.value!) : undefined;
  if (!a) { await show(messageModal('Approve restore', ':warning: This button does not refer to a restore request. Nothing was signed.')); return; }
  const msgTs = body.container?.message_ts ?? body.message?.ts;
  if (a.slack_ts && msgTs !== a.slack_ts) { await show(messageModal('Approve restore', `:no_entry: This button does not belong to the message of request #${a.id}. Nothing was signed.`)); return; }
  const role = approverRole(a.scope);
  const auth = await authorize(ctx, { client: a.client, userId, role, action: `approve a ${a.scope} production restore of ${a.client}` });
  if (!auth.ok) { await show(messageModal('Approve restore', `:no_entry: ${auth.message}`)); return; }
  if (a.requested_by === userId) { await show(messageModal('Approve restore', ':no_entry: You requested this restore, so you cannot approve it (four eyes). Nothing was signed.')); return; }
  if (a.status !== 'pending') { await show(messageModal('Approve restore', `:information_source: Request #${a.id} is already ${a.status}${a.decided_by_name ? ` (${a.decided_by_name})` : ''}. Nothing was signed.`)); return; }
  const name = await userName(client, userId, body.user.name);
  const statement = approvalStatement(a, { name, roleLabel: ROLE_LABEL[role] }, 'approved', ctx.config.timezone);
  await show(approveModal({ callbackId: ids.approveView, approvalId: a.id, client: a.client, statement, roleLabel: ROLE_LABEL[role], impact: impactLines(a, ctx.config.timezone) }));
}
