import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { authorize } from '../operations/authorize.js';
import { errorMessage } from '../core/errors.js';
import { loadingModal, messageModal } from '../notify/slack/render/restore.js';
import { completeIncidentModal, newIncidentModal } from '../notify/slack/render/incident.js';
import type { CommandDeps } from '../commands/deps.js';
import { registerId } from '../commands/parse.js';

type ButtonArgs = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;
type ModalClient = ButtonArgs['client'];

/**
 * Opens the §13.5 incident modal (trigger_id lasts 3 s and works once: a loading view first), then checks the
 * person's role on the client from the config and fills it: a new incident (`incidentId` undefined) or the
 * completion of one read from the register (what a button carried is only a number).
 */
export async function openIncidentModal(deps: CommandDeps, o: { client: ModalClient; triggerId: string; userId: string; callbackId: string; clientName?: string; incidentId?: string }): Promise<void> {
  const { ctx } = deps;
  let viewId: string | undefined;
  let hash: string | undefined;
  try {
    const opened = await o.client.views.open({ trigger_id: o.triggerId, view: loadingModal(o.callbackId, 'Incident', ':hourglass_flowing_sand: Loading…') as never });
    viewId = opened.view?.id;
    hash = opened.view?.hash;
  } catch (err) {
    ctx.logger.warn({ err: errorMessage(err) }, 'incident: could not open the modal');
    return;
  }
  const incident = o.incidentId ? await ctx.store.incidents.get(o.incidentId) : undefined;
  const client = incident?.client ?? o.clientName ?? '';
  let view: Record<string, unknown>;
  if (o.incidentId && (!incident || (o.clientName && incident.client !== o.clientName))) view = messageModal('Incident', `:warning: There is no incident ${o.incidentId}${o.clientName ? ` of ${o.clientName}` : ''}. Nothing was changed.`);
  else {
    const auth = await authorize(ctx, { client, userId: o.userId, role: 'any', action: `record incidents of ${client}` });
    if (!auth.ok) view = messageModal('Incident', `:no_entry: ${auth.message}`);
    else if (incident?.status === 'closed') view = messageModal('Incident', `:lock: Incident #${incident.id} of *${incident.client}* is closed; a closed incident is not changed (record a new one with \`/backup incident ${incident.client}\`).`);
    else view = incident ? completeIncidentModal({ callbackId: o.callbackId, incident, timezone: ctx.config.timezone }) : newIncidentModal({ callbackId: o.callbackId, client });
  }
  await o.client.views.update({ view_id: viewId!, hash, view: view as never }).catch((err: unknown) => ctx.logger.warn({ err: errorMessage(err) }, 'incident: could not update the modal'));
}

/** "Record cause / close incident" on an alert or a result message. */
export async function incidentButton(deps: CommandDeps, args: ButtonArgs, ids: { incidentView: string }): Promise<void> {
  await args.ack();
  const id = registerId.safeParse(args.action.value ?? '');
  if (!id.success) return;
  deps.background.run(`incident ${id.data}`, () => openIncidentModal(deps, { client: args.client, triggerId: args.body.trigger_id, userId: args.body.user.id, callbackId: ids.incidentView, incidentId: id.data }));
}
