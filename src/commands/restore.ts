import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { authorize } from '../operations/authorize.js';
import { RESTORE_CHECKLIST } from '../operations/request-restore.js';
import { errorMessage } from '../core/errors.js';
import { loadingModal, messageModal, restoreRequestModal } from '../notify/slack/render/restore.js';
import type { CommandDeps } from './deps.js';
import { ephemeral } from './reply.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

const RESTORE_USAGE = '*Usage*: `/restore <client>`: asks for a production restore of the client from a verified backup. The System Owner (full) or the IT Manager (partial) approves it in writing; then you start the runbook. Needs the operator role.';

/**
 * `/restore <client>` (operators): acknowledged at once, the request modal opened right after (trigger_id lasts
 * 3 s and works once); then the role is checked and the verified backups loaded, and the modal updated with its
 * hash (a hash_conflict means the person changed it meanwhile: never overwritten).
 */
export async function restoreCommand(deps: CommandDeps, args: Args, ids: { requestView: string }): Promise<void> {
  const { ctx } = deps;
  const { command, ack, client } = args;
  const userId = command.user_id;
  const name = (command.text ?? '').trim();
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) {
    await ack(ephemeral(`:warning: ${name ? `"${name.slice(0, 63)}" is not a client name (lowercase letters, digits, "-" or "_")` : 'which client?'}. Nothing was requested.\n\n${RESTORE_USAGE}`));
    return;
  }
  await ack();
  deps.background.run(`restore request ${name}`, async () => {
    let viewId: string | undefined;
    let hash: string | undefined;
    try {
      const opened = await client.views.open({ trigger_id: command.trigger_id, view: loadingModal(ids.requestView, 'Production restore', ':hourglass_flowing_sand: Loading the verified backups…') as never });
      viewId = opened.view?.id;
      hash = opened.view?.hash;
    } catch (err) {
      ctx.logger.warn({ err: errorMessage(err), client: name }, 'restore: could not open the request modal');
      return;
    }
    const auth = await authorize(ctx, { client: name, userId, role: 'operators', action: `request a production restore of ${name}` });
    let view: Record<string, unknown>;
    if (!auth.ok) view = messageModal('Production restore', `:no_entry: ${auth.message}`);
    else {
      const backups = await ctx.store.backups.list({ client: name, onlyOk: true, verifiedOnly: true, limit: 100 });
      view = backups.length === 0
        ? messageModal('Production restore', `:warning: *${name}* has no verified backup, so nothing can be restored to production. Take one with \`/backup now ${name}\` and verify it first.`)
        : restoreRequestModal({ callbackId: ids.requestView, client: name, backups, checklist: RESTORE_CHECKLIST.filter((c) => c.by === 'requester').map((c) => ({ id: c.id, text: c.text })), timezone: ctx.config.timezone });
    }
    try {
      await client.views.update({ view_id: viewId!, hash, view: view as never });
    } catch (err) {
      ctx.logger.warn({ err: errorMessage(err), client: name }, 'restore: could not update the request modal');
    }
  });
}
