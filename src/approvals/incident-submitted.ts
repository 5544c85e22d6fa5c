import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { authorize } from '../operations/authorize.js';
import { addIncident, completeIncident } from '../operations/incidents.js';
import { errorMessage } from '../core/errors.js';
import { messageModal } from '../notify/slack/render/restore.js';
import type { CommandDeps } from '../commands/deps.js';
import { userName } from '../commands/reply.js';

type Args = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;
type Values = Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null; selected_options?: Array<{ value: string }> }>>;

const metadata = z.object({ client: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/), incidentId: z.string().regex(/^[1-9]\d{0,17}$/).optional() });

function readMetadata(raw: string | undefined): z.infer<typeof metadata> | undefined {
  try {
    const r = metadata.safeParse(JSON.parse(raw || '{}'));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The incident modal submitted. What it can refuse inline (an empty description, closing without the cause, the
 * corrective action or the responsible) is decided from the payload; then it is acknowledged with a "recording"
 * view and, after the ack, the role is checked again from the config and the operation records it (a closed
 * incident, a second submission: refused there, shown in the modal).
 */
export async function incidentSubmitted(deps: CommandDeps, args: Args): Promise<void> {
  const { ctx } = deps;
  const { ack, body, view, client } = args;
  const meta = readMetadata(view.private_metadata);
  const values = view.state.values as unknown as Values;
  const text = (block: string) => (values[block]?.value?.value ?? '').trim() || undefined;
  if (!meta) { await ack({ response_action: 'errors', errors: { [values.description ? 'description' : 'cause']: 'This form is not an incident of this bot. Nothing was recorded.' } }); return; }
  const close = (values.close?.value?.selected_options ?? []).some((o) => o.value === 'close');
  if (!meta.incidentId && !text('description')) { await ack({ response_action: 'errors', errors: { description: 'Say what happened.' } }); return; }
  if (meta.incidentId) {
    const missing: Record<string, string> = {};
    if (close && !text('cause')) missing.cause = 'Closing needs the cause.';
    if (close && !text('actions')) missing.actions = 'Closing needs the corrective action.';
    if (close && !text('responsible')) missing.responsible = 'Closing needs the responsible.';
    if (!close && !text('cause') && !text('actions') && !text('responsible')) missing.cause = 'Give the cause, the corrective action or the responsible (or close it).';
    if (Object.keys(missing).length) { await ack({ response_action: 'errors', errors: missing }); return; }
  }
  await ack({ response_action: 'update', view: messageModal('Incident', ':hourglass_flowing_sand: Recording…') as never });
  deps.background.run(`incident ${meta.incidentId ?? 'new'} ${meta.client}`, async () => {
    let out: string;
    try {
      const auth = await authorize(ctx, { client: meta.client, userId: body.user.id, role: 'any', action: `record incidents of ${meta.client}` });
      if (!auth.ok) out = `:no_entry: ${auth.message}`;
      else {
        const who = { actor: body.user.id, actorName: await userName(client, body.user.id, body.user.name) };
        if (meta.incidentId) {
          const r = await completeIncident(ctx, { client: meta.client, incidentId: meta.incidentId, cause: text('cause'), correctiveActions: text('actions'), responsible: text('responsible'), close, ...who });
          out = `:white_check_mark: Incident #${r.id} of *${r.client}*: ${r.status === 'closed' ? 'closed' : 'cause / corrective action recorded'} (SOP-001 §13.5).`;
        } else {
          const severity = values.severity?.value?.selected_option?.value;
          const r = await addIncident(ctx, { client: meta.client, description: text('description')!, severity: (severity ?? 'S2') as 'S2', ...who });
          out = `:white_check_mark: Incident #${r.id} of *${r.client}* recorded (open). Complete it with \`/backup incident ${r.client} ${r.id}\`.`;
        }
      }
    } catch (err) {
      out = `:warning: Not recorded: ${errorMessage(err).slice(0, 500)}`;
    }
    await client.views.update({ view_id: view.id, view: messageModal('Incident', out) as never }).catch((err: unknown) => ctx.logger.warn({ err: errorMessage(err) }, 'incident: could not show the outcome'));
  });
}
