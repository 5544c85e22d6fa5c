import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';

import { qaVerifyRestoreTest } from '../operations/qa-verify.js';
import { formatDateTime } from '../core/time.js';
import { errorMessage } from '../core/errors.js';
import type { CommandDeps } from '../commands/deps.js';
import { registerId } from '../commands/parse.js';
import { ephemeral, userName } from '../commands/reply.js';

type Args = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/**
 * The "QA verified" button on a restore-test result: fills "Verificado Por (QA)" in the section 12
 * register (the operation re-renders the result message). The button's value is only a row id:
 * the row, its client and the clicker's QA role are read from the config and the state database, and the update is conditional (a second click or a
 * replayed request changes nothing).
 */
export async function qaVerified(deps: CommandDeps, args: Args): Promise<void> {
  const { ctx } = deps;
  await args.ack();
  const userId = args.body.user.id;
  const reply = (text: string) => args.respond({ ...ephemeral(text), replace_original: false }).catch((err: unknown) => {
    ctx.logger.warn({ err: errorMessage(err) }, 'could not answer the QA button through response_url');
  });
  const id = registerId.safeParse(args.action.value ?? '');
  if (!id.success) { await reply(':warning: This button does not refer to a restore test. Nothing was signed.'); return; }
  deps.background.run(`qa verify ${id.data}`, async () => {
    const name = await userName(args.client, userId, args.body.user.name);
    const r = await qaVerifyRestoreTest(ctx, { registerId: id.data, userId, userName: name });
    if (!r.ok) { await reply(`:warning: Not signed: ${r.reason}`); return; }
    const at = r.row.verified_by_qa_at ? formatDateTime(new Date(r.row.verified_by_qa_at), ctx.config.timezone) : '';
    await reply(`:white_check_mark: You verified the restore test of *${r.row.client}* (${r.row.quarter}, register entry ${r.row.id}) as QA at ${at}.`);
  });
  // qaVerifyRestoreTest re-renders the result message itself ("Verificado por (QA)" instead of the button).
}
