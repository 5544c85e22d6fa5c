import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { authorize } from '../operations/authorize.js';
import { exportRegister } from '../operations/export-register.js';
import { formatDate } from '../core/time.js';
import { errorMessage } from '../core/errors.js';
import type { CommandDeps } from './deps.js';
import { ackThenAnswer, ephemeral } from './reply.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/**
 * `/backup log <client>`: the SOP-001 section 11 (backups), section 12 (restore tests) and section 13.5 (incidents)
 * registers as three CSV files posted to the channel the command was typed in (any role on the client).
 */
export async function backupLog(deps: CommandDeps, args: Args, client: string): Promise<void> {
  const { ctx } = deps;
  const { command } = args;
  await ackThenAnswer(deps, args, `registers ${client}`, async (answer) => {
    const auth = await authorize(ctx, { client, userId: command.user_id, role: 'any', action: `export the registers of ${client}` });
    if (!auth.ok) return ephemeral(auth.message);
    await answer(ephemeral(`:page_facing_up: Posting the registers of *${client}* (SOP sections 11, 12 and 13.5) here as CSV files…`));
    const tz = ctx.config.timezone;
    const day = formatDate(ctx.clock.now(), tz);
    try {
      const backups = await exportRegister(ctx, { register: 'backups', client, format: 'csv', timezone: tz });
      const tests = await exportRegister(ctx, { register: 'restore-tests', client, format: 'csv', timezone: tz });
      const incidents = await exportRegister(ctx, { register: 'incidents', client, format: 'csv', timezone: tz });
      for (const f of [
        { filename: `${client}_registro-backups_${day}.csv`, title: `${client}: Registro de Backups (SOP-001 §11)`, content: backups },
        { filename: `${client}_registro-pruebas-restore_${day}.csv`, title: `${client}: Registro de Pruebas de Restore (SOP-001 §12)`, content: tests },
        { filename: `${client}_historial-incidentes_${day}.csv`, title: `${client}: Historial de Incidentes (SOP-001 §13.5)`, content: incidents },
      ]) {
        await args.client.filesUploadV2({ channel_id: command.channel_id, filename: f.filename, title: f.title, content: f.content });
      }
    } catch (err) {
      const e = err as { data?: { error?: string } };
      ctx.logger.error({ client, channel: command.channel_id, err: e.data?.error ?? errorMessage(err) }, 'posting the registers failed');
      const hint = e.data?.error === 'not_in_channel' || e.data?.error === 'channel_not_found' ? ' Invite the bot to this channel (/invite @backup-bot) and try again.' : '';
      return ephemeral(`:x: The registers of *${client}* could not be posted: ${e.data?.error ?? errorMessage(err)}.${hint} You can also export them with \`backup-bot register backups --client ${client}\`, \`backup-bot register restore-tests --client ${client}\` and \`backup-bot register incidents --client ${client}\`.`);
    }
  });
}
