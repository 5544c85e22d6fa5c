import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { openIncidentModal } from '../approvals/incident-opened.js';
import type { CommandDeps } from './deps.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/**
 * `/backup incident <client> [number]` (any role on the client): acknowledged at once, the incident modal opened
 * right after (trigger_id lasts 3 s); then the role is checked and the modal filled — a new incident, or the
 * cause, corrective action, responsible and close of the one named.
 */
export async function backupIncident(deps: CommandDeps, args: Args, o: { client: string; incidentId?: string; incidentView: string }): Promise<void> {
  await args.ack();
  deps.background.run(`incident ${o.client}`, () => openIncidentModal(deps, {
    client: args.client, triggerId: args.command.trigger_id, userId: args.command.user_id, callbackId: o.incidentView, clientName: o.client,
    ...(o.incidentId ? { incidentId: o.incidentId } : {}),
  }));
}
