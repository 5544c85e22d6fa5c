import { z } from 'zod';
import { decideRestore } from '../operations/decide-restore.js';
import type { CommandDeps } from '../commands/deps.js';
import { acceptThenShow, readFormMetadata, refuse, submittedValues, submitterName, type SubmissionArgs } from './submission-frame.js';

/** The private_metadata of the approval and rejection modals. */
export const decisionMetadata = z.object({ approvalId: z.string().regex(/^\d{1,18}$/), client: z.string().max(63) });

/**
 * The signed approval. What the modal must refuse inline (a mistyped client name, the statement not ticked) is
 * decided from the payload and private_metadata alone; then the submission is acknowledged with a "signing"
 * view, and decideRestore re-checks every rule from the state database and signs; the modal shows the outcome.
 */
export async function approvalSubmitted(deps: CommandDeps, args: SubmissionArgs): Promise<void> {
  const { ctx } = deps;
  const { body } = args;
  const meta = readFormMetadata(decisionMetadata, args.view.private_metadata);
  if (!meta) { await refuse(args, { confirm_client: 'This form is not a restore approval of this bot. Nothing was signed.' }); return; }
  const values = submittedValues(args);
  const typedClient = values.confirm_client?.value?.value ?? '';
  const ticked = (values.statement?.value?.selected_options ?? []).some((o) => o.value === 'signed');
  if (typedClient.trim() !== meta.client) {
    await refuse(args, { confirm_client: `To approve, type the client's name exactly: "${meta.client}". Nothing was signed.` });
    return;
  }
  if (!ticked) { await refuse(args, { statement: 'To approve, tick the statement to sign it. Nothing was signed.' }); return; }
  await acceptThenShow(deps, args, {
    title: 'Approve restore', working: ':hourglass_flowing_sand: Signing…', task: `approve ${meta.approvalId}`, showFailed: 'approve restore: could not show the outcome',
    outcome: async () => {
      const name = await submitterName(args);
      const r = await decideRestore(ctx, { approvalId: meta.approvalId, client: meta.client, userId: body.user.id, userName: name, meaning: 'approved', typedClient, statementTicked: ticked });
      return r.ok
        ? `:white_check_mark: You approved restore #${r.approval.id} of *${r.approval.client}*. Your signature is recorded; the requester can now start it.`
        : `:no_entry: Not signed: ${r.message}`;
    },
  });
}
