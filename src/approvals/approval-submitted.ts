import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { decideRestore } from '../operations/decide-restore.js';
import { errorMessage } from '../core/errors.js';
import { messageModal } from '../notify/slack/render/restore.js';
import type { CommandDeps } from '../commands/deps.js';
import { userName } from '../commands/reply.js';

type Args = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

export const decisionMetadata = z.object({ approvalId: z.string().regex(/^\d{1,18}$/), client: z.string().max(63) });
type Values = Record<string, Record<string, { value?: string | null; selected_options?: Array<{ value: string }> }>>;

export function readMetadata(raw: string | undefined): z.infer<typeof decisionMetadata> | undefined {
  try {
    const r = decisionMetadata.safeParse(JSON.parse(raw || '{}'));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The signed approval. What the modal must refuse inline (a mistyped client name, the statement not ticked) is
 * decided from the payload and private_metadata alone; then the submission is acknowledged with a "signing"
 * view, and decideRestore re-checks every rule from the state database and signs; the modal shows the outcome.
 */
export async function approvalSubmitted(deps: CommandDeps, args: Args): Promise<void> {
  const { ctx } = deps;
  const { ack, body, view, client } = args;
  const meta = readMetadata(view.private_metadata);
  if (!meta) { await ack({ response_action: 'errors', errors: { confirm_client: 'This form is not a restore approval of this bot. Nothing was signed.' } }); return; }
  const values = view.state.values as unknown as Values;
  const typedClient = values.confirm_client?.value?.value ?? '';
  const ticked = (values.statement?.value?.selected_options ?? []).some((o) => o.value === 'signed');
  if (typedClient.trim() !== meta.client) {
    await ack({ response_action: 'errors', errors: { confirm_client: `To approve, type the client's name exactly: "${meta.client}". Nothing was signed.` } });
    return;
  }
  if (!ticked) { await ack({ response_action: 'errors', errors: { statement: 'To approve, tick the statement to sign it. Nothing was signed.' } }); return; }
  await ack({ response_action: 'update', view: messageModal('Approve restore', ':hourglass_flowing_sand: Signing…') as never });
  deps.background.run(`approve ${meta.approvalId}`, async () => {
    const name = await userName(client, body.user.id, body.user.name);
    const r = await decideRestore(ctx, { approvalId: meta.approvalId, client: meta.client, userId: body.user.id, userName: name, meaning: 'approved', typedClient, statementTicked: ticked });
    const text = r.ok
      ? `:white_check_mark: You approved restore #${r.approval.id} of *${r.approval.client}*. Your signature is recorded; the requester can now start it.`
      : `:no_entry: Not signed: ${r.message}`;
    await client.views.update({ view_id: view.id, view: messageModal('Approve restore', text) as never }).catch((err: unknown) => ctx.logger.warn({ err: errorMessage(err) }, 'approve restore: could not show the outcome'));
  });
}
