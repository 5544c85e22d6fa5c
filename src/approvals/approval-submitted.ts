import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { decideRestore } from '../operations/decide-restore.js';
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
 * The signed approval: typed client name + ticked statement; decideRestore re-checks every rule from the state
 * database (role, four eyes, expiry, once) and signs. A refusal is shown in the modal, and nothing changes.
 */
export async function approvalSubmitted(deps: CommandDeps, args: Args): Promise<void> {
  const { ctx } = deps;
  const { ack, body, view, client } = args;
  const meta = readMetadata(view.private_metadata);
  if (!meta) { await ack({ response_action: 'errors', errors: { confirm_client: 'This form is not a restore approval of this bot. Nothing was signed.' } }); return; }
  const values = view.state.values as unknown as Values;
  const userId = body.user.id;
  const name = await userName(client, userId, body.user.name);
  const r = await decideRestore(ctx, {
    approvalId: meta.approvalId, client: meta.client, userId, userName: name, meaning: 'approved',
    typedClient: values.confirm_client?.value?.value ?? '', statementTicked: (values.statement?.value?.selected_options ?? []).some((o) => o.value === 'signed'),
  });
  if (!r.ok) {
    const field = /tick the statement/.test(r.message) ? 'statement' : 'confirm_client';
    await ack({ response_action: 'errors', errors: { [field]: r.message.slice(0, 1900) } });
    return;
  }
  await ack({ response_action: 'clear' });
}
