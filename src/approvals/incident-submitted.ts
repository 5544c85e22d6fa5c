import { z } from 'zod';
import { authorize } from '../operations/authorize.js';
import { addIncident, completeIncident } from '../operations/incidents.js';
import { errorMessage } from '../core/errors.js';
import type { CommandDeps } from '../commands/deps.js';
import { acceptThenShow, readFormMetadata, refuse, submittedValues, submitterName, type SubmissionArgs, type SubmittedValues } from './submission-frame.js';

const metadata = z.object({ client: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/), incidentId: z.string().regex(/^[1-9]\d{0,17}$/).optional() });
type Meta = z.infer<typeof metadata>;

/** What was typed in a text input, trimmed; undefined when empty. */
const typed = (values: SubmittedValues, block: string) => (values[block]?.value?.value ?? '').trim() || undefined;

/**
 * The incident modal submitted. What it can refuse inline (an empty description, closing without the cause, the
 * corrective action or the responsible) is decided from the payload; then it is acknowledged with a "recording"
 * view and, after the ack, the role is checked again from the config and the operation records it (a closed
 * incident, a second submission: refused there, shown in the modal).
 */
export async function incidentSubmitted(deps: CommandDeps, args: SubmissionArgs): Promise<void> {
  const meta = readFormMetadata(metadata, args.view.private_metadata);
  const values = submittedValues(args);
  const text = (block: string) => typed(values, block);
  if (!meta) { await refuse(args, { [values.description ? 'description' : 'cause']: 'This form is not an incident of this bot. Nothing was recorded.' }); return; }
  const close = (values.close?.value?.selected_options ?? []).some((o) => o.value === 'close');
  if (!meta.incidentId && !text('description')) { await refuse(args, { description: 'Say what happened.' }); return; }
  if (meta.incidentId) {
    const missing: Record<string, string> = {};
    if (close && !text('cause')) missing.cause = 'Closing needs the cause.';
    if (close && !text('actions')) missing.actions = 'Closing needs the corrective action.';
    if (close && !text('responsible')) missing.responsible = 'Closing needs the responsible.';
    if (!close && !text('cause') && !text('actions') && !text('responsible')) missing.cause = 'Give the cause, the corrective action or the responsible (or close it).';
    if (Object.keys(missing).length) { await refuse(args, missing); return; }
  }
  await acceptThenShow(deps, args, {
    title: 'Incident', working: ':hourglass_flowing_sand: Recording…', task: `incident ${meta.incidentId ?? 'new'} ${meta.client}`, showFailed: 'incident: could not show the outcome',
    outcome: () => recordIncident(deps, args, meta, values, close),
  });
}

/** After the ack: the role checked from the config, then the incident recorded or completed; what the modal says. */
async function recordIncident(deps: CommandDeps, args: SubmissionArgs, meta: Meta, values: SubmittedValues, close: boolean): Promise<string> {
  const { ctx } = deps;
  const { body } = args;
  const text = (block: string) => typed(values, block);
  try {
    const auth = await authorize(ctx, { client: meta.client, userId: body.user.id, role: 'any', action: `record incidents of ${meta.client}` });
    if (!auth.ok) return `:no_entry: ${auth.message}`;
    const who = { actor: body.user.id, actorName: await submitterName(args) };
    if (meta.incidentId) {
      const r = await completeIncident(ctx, { client: meta.client, incidentId: meta.incidentId, cause: text('cause'), correctiveActions: text('actions'), responsible: text('responsible'), close, ...who });
      return `:white_check_mark: Incident #${r.id} of *${r.client}*: ${r.status === 'closed' ? 'closed' : 'cause / corrective action recorded'} (SOP-001 §13.5).`;
    }
    const severity = values.severity?.value?.selected_option?.value;
    const r = await addIncident(ctx, { client: meta.client, description: text('description')!, severity: (severity ?? 'S2') as 'S2', ...who });
    return `:white_check_mark: Incident #${r.id} of *${r.client}* recorded (open). Complete it with \`/backup incident ${r.client} ${r.id}\`.`;
  } catch (err) {
    return `:warning: Not recorded: ${errorMessage(err).slice(0, 500)}`;
  }
}
