import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { requestRestore } from '../operations/request-restore.js';
import { errorMessage } from '../core/errors.js';
import { messageModal } from '../notify/slack/render/restore.js';
import type { CommandDeps } from '../commands/deps.js';
import { userName } from '../commands/reply.js';

type Args = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

const metadata = z.object({ client: z.string().max(63) });
type Values = Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null; selected_options?: Array<{ value: string }>; selected_date_time?: number | null }>>;

/**
 * Submission of the request modal: validated at the edge, then requestRestore checks everything again on
 * the server (operator role, verified backup, checklist, foreign keys) and posts the request with its buttons.
 */
export async function restoreRequestSubmitted(deps: CommandDeps, args: Args): Promise<void> {
  const { ctx, background } = deps;
  const { ack, body, view, client } = args;
  const values = view.state.values as unknown as Values;
  const meta = metadata.safeParse((() => { try { return JSON.parse(view.private_metadata || '{}'); } catch { return {}; } })());
  const backupId = values.backup?.value?.selected_option?.value ?? '';
  const reason = (values.reason?.value?.value ?? '').trim();
  const errors: Record<string, string> = {};
  if (!meta.success) errors.reason = 'This form is not a restore request of this bot.';
  if (!backupId) errors.backup = 'Choose the backup to restore.';
  if (!reason) errors.reason = 'A reason is required (SOP-001 13.3).';
  const scope = values.scope?.value?.selected_option?.value === 'partial' ? 'partial' : 'full';
  const tables = (values.tables?.value?.value ?? '').split(/[\s,]+/).map((t) => t.trim()).filter(Boolean);
  if (scope === 'partial' && tables.length === 0) errors.tables = 'A partial restore needs the tables (comma-separated).';
  if (scope === 'full' && tables.length > 0) errors.tables = 'Tables are only for a partial restore; clear this field or choose "Chosen tables".';
  if (Object.keys(errors).length) { await ack({ response_action: 'errors', errors }); return; }
  await ack({ response_action: 'update', view: messageModal('Production restore', ':hourglass_flowing_sand: Checking the request…') as never });
  const userId = body.user.id;
  background.run(`restore request ${meta.data!.client}`, async () => {
    const name = await userName(client, userId, body.user.name);
    const planned = values.planned?.value?.selected_date_time;
    let text: string;
    try {
      const r = await requestRestore(ctx, {
        client: meta.data!.client, backupId, scope, tables, reason, ticket: values.ticket?.value?.value ?? undefined,
        ...(planned ? { plannedStart: new Date(planned * 1000) } : {}),
        checklist: (values.checklist?.value?.selected_options ?? []).map((o) => o.value), requestedBy: userId, requestedByName: name, trigger: 'slack',
      });
      text = r.ok
        ? `:white_check_mark: Request #${r.approval.id} is posted in <#${r.approval.slack_channel ?? ''}> and waits for the written approval until ${r.approval.expires_at.toISOString()}.`
        : `:warning: Not requested: ${r.message}`;
    } catch (err) {
      text = `:x: The request could not be stored: ${errorMessage(err).slice(0, 500)}`;
    }
    await client.views.update({ view_id: view.id, view: messageModal('Production restore', text) as never }).catch((err: unknown) => ctx.logger.warn({ err: errorMessage(err) }, 'restore: could not update the request modal'));
  });
}
