import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { authorize } from '../operations/authorize.js';
import { decideRestore } from '../operations/decide-restore.js';
import { approverRole } from '../operations/request-restore.js';

import { errorMessage } from '../core/errors.js';
import { messageModal, rejectModal } from '../notify/slack/render/restore.js';
import type { CommandDeps } from '../commands/deps.js';
import { userName } from '../commands/reply.js';
import { readMetadata } from './approval-submitted.js';

type ButtonArgs = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;
type ViewArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** "Reject" on a restore request: a modal asking for the reason (approvers only). */
export async function rejectRestore(deps: CommandDeps, args: ButtonArgs, ids: { rejectView: string }): Promise<void> {
  const { ctx } = deps;
  const { ack, body, action, client } = args;
  await ack();
  const a = /^\d{1,18}$/.test(action.value ?? '') ? await ctx.store.approvals.get(action.value!) : undefined;
  let view: Record<string, unknown>;
  if (!a) view = messageModal('Reject restore', ':warning: This button does not refer to a restore request. Nothing was done.');
  else {
    const auth = await authorize(ctx, { client: a.client, userId: body.user.id, role: approverRole(a.scope), action: `reject a ${a.scope} production restore of ${a.client}` });
    view = !auth.ok ? messageModal('Reject restore', `:no_entry: ${auth.message}`)
      : a.status !== 'pending' ? messageModal('Reject restore', `:information_source: Request #${a.id} is already ${a.status}. Nothing was done.`)
        : rejectModal({ callbackId: ids.rejectView, approvalId: a.id, client: a.client });
  }
  await client.views.open({ trigger_id: body.trigger_id, view: view as never }).catch((err: unknown) => ctx.logger.warn({ err: errorMessage(err) }, 'reject restore: could not open the modal'));
}

/** The rejection with its reason, signed like an approval (meaning "rejected"). */
export async function rejectionSubmitted(deps: CommandDeps, args: ViewArgs): Promise<void> {
  const { ctx } = deps;
  const { ack, body, view, client } = args;
  const meta = readMetadata(view.private_metadata);
  const reason = ((view.state.values as Record<string, Record<string, { value?: string | null }>>).reason?.value?.value ?? '').trim();
  if (!meta) { await ack({ response_action: 'errors', errors: { reason: 'This form is not a restore rejection of this bot.' } }); return; }
  if (!reason) { await ack({ response_action: 'errors', errors: { reason: 'A rejection needs a reason.' } }); return; }
  const name = await userName(client, body.user.id, body.user.name);
  const r = await decideRestore(ctx, { approvalId: meta.approvalId, client: meta.client, userId: body.user.id, userName: name, meaning: 'rejected', rejectReason: reason });
  if (!r.ok) { await ack({ response_action: 'errors', errors: { reason: r.message.slice(0, 1900) } }); return; }
  await ack({ response_action: 'clear' });
}
