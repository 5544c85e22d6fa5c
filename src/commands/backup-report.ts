import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { authorize } from '../operations/authorize.js';
import { makeEvidencePack } from '../operations/evidence-report.js';
import { previousQuarter, quarterPeriod } from '../operations/evidence-period.js';
import { errorMessage } from '../core/errors.js';
import { formatDate } from '../core/time.js';
import type { CommandDeps } from './deps.js';
import { ackThenAnswer, ephemeral } from './reply.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

const cliCommand = (client: string, p: { from: Date; to: Date }, tz: string) =>
  `backup-bot evidence report --client ${client} --from ${formatDate(p.from, tz)} --to ${formatDate(new Date(p.to.getTime() - 1), tz)}`;

/**
 * `/backup report <client> [quarter]`: the signed evidence report of a quarter (default: the last complete one)
 * as a PDF posted to the channel the command was typed in (files upload v2: files.getUploadURLExternal +
 * files.completeUploadExternal). Any role on the client (operators, QA, IT Managers, System Owners); the
 * role is read from the config, and a refusal is audited.
 */
export async function backupReport(deps: CommandDeps, args: Args, client: string, quarter: string | undefined): Promise<void> {
  const { ctx } = deps;
  const { command } = args;
  await ackThenAnswer(deps, args, `evidence report ${client}`, async (answer) => {
    const auth = await authorize(ctx, { client, userId: command.user_id, role: 'any', action: `get the evidence report of ${client}` });
    if (!auth.ok) return ephemeral(auth.message);
    const tz = ctx.config.timezone;
    const period = quarterPeriod(quarter ?? previousQuarter(ctx.clock.now(), ctx.config.timezone), ctx.config.timezone);
    if (period.from.getTime() >= ctx.clock.now().getTime()) return ephemeral(`:warning: ${period.label} has not started yet: there is nothing to report. Nothing was done.`);
    await answer(ephemeral(`:page_facing_up: Making the signed evidence report of *${client}* for ${period.label} (registers verified first); the PDF will be posted here in a minute…`));
    const dir = await mkdtemp(join(tmpdir(), 'backup-bot-report-'));
    try {
      const r = await makeEvidencePack(ctx, { period, client, lang: ctx.config.locale, outDir: dir, actor: command.user_id, trigger: 'slack' });
      const integrity = r.evidence.ok ? ':white_check_mark: every record verifies' : `:x: ${r.brokenRows} record(s) do not verify (marked in the report; an S1 alert was raised)`;
      await args.client.filesUploadV2({
        channel_id: command.channel_id, file: await readFile(r.files.pdf), filename: `evidence-report_${client}_${period.label}.pdf`,
        title: `${client}: evidence report ${period.label}`,
        initial_comment: `Evidence report of *${client}* for ${period.label}, asked for by <@${command.user_id}>. ${integrity}. report.html sha256 \`${r.reportSha256}\`, signed with key \`${r.keyId}\`; the signed HTML and evidence.zip: \`${cliCommand(client, period, tz)}\`.`,
      });
      return undefined;
    } catch (err) {
      const e = err as { data?: { error?: string } };
      ctx.logger.error({ client, channel: command.channel_id, err: e.data?.error ?? errorMessage(err) }, 'the evidence report could not be posted');
      const hint = e.data?.error === 'not_in_channel' || e.data?.error === 'channel_not_found' ? ' Invite the bot to this channel (/invite @backup-bot) and try again.' : '';
      return ephemeral(`:x: The evidence report of *${client}* could not be posted: ${e.data?.error ?? errorMessage(err)}.${hint} On the bot's host: \`backup-bot evidence report --client ${client}\`.`);
    } finally {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  });
}
