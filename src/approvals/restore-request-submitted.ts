import { z } from 'zod';
import { requestRestore } from '../operations/request-restore.js';
import { errorMessage } from '../core/errors.js';
import type { CommandDeps } from '../commands/deps.js';
import { acceptThenShow, readFormMetadata, refuse, submittedValues, submitterName, type SubmissionArgs } from './submission-frame.js';

const metadata = z.object({ client: z.string().max(63) });

/**
 * Submission of the request modal: validated at the edge, then requestRestore checks everything again on
 * the server (operator role, verified backup, checklist, foreign keys) and posts the request with its buttons.
 */
export async function restoreRequestSubmitted(deps: CommandDeps, args: SubmissionArgs): Promise<void> {
  const { ctx } = deps;
  const { body } = args;
  const values = submittedValues(args);
  const meta = readFormMetadata(metadata, args.view.private_metadata);
  const backupId = values.backup?.value?.selected_option?.value ?? '';
  const reason = (values.reason?.value?.value ?? '').trim();
  const errors: Record<string, string> = {};
  if (!meta) errors.reason = 'This form is not a restore request of this bot.';
  if (!backupId) errors.backup = 'Choose the backup to restore.';
  if (!reason) errors.reason = 'A reason is required (SOP-001 13.3).';
  const scope = values.scope?.value?.selected_option?.value === 'partial' ? 'partial' : 'full';
  const tables = (values.tables?.value?.value ?? '').split(/[\s,]+/).map((t) => t.trim()).filter(Boolean);
  if (scope === 'partial' && tables.length === 0) errors.tables = 'A partial restore needs the tables (comma-separated).';
  if (scope === 'full' && tables.length > 0) errors.tables = 'Tables are only for a partial restore; clear this field or choose "Chosen tables".';
  if (!meta || Object.keys(errors).length) { await refuse(args, errors); return; }
  const userId = body.user.id;
  await acceptThenShow(deps, args, {
    title: 'Production restore', working: ':hourglass_flowing_sand: Checking the request…', task: `restore request ${meta.client}`, showFailed: 'restore: could not update the request modal',
    outcome: async () => {
      const name = await submitterName(args);
      const planned = values.planned?.value?.selected_date_time;
      try {
        const r = await requestRestore(ctx, {
          client: meta.client, backupId, scope, tables, reason, ticket: values.ticket?.value?.value ?? undefined,
          ...(planned ? { plannedStart: new Date(planned * 1000) } : {}),
          checklist: (values.checklist?.value?.selected_options ?? []).map((o) => o.value), requestedBy: userId, requestedByName: name, trigger: 'slack',
        });
        return r.ok
          ? `:white_check_mark: Request #${r.approval.id} is posted in <#${r.approval.slack_channel ?? ''}> and waits for the written approval until ${r.approval.expires_at.toISOString()}.`
          : `:warning: Not requested: ${r.message}`;
      } catch (err) {
        return `:x: The request could not be stored: ${errorMessage(err).slice(0, 500)}`;
      }
    },
  });
}
