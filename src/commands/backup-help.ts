import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { Context } from '../context.js';
import { ROLE_LABEL, rolesOf } from '../operations/authorize.js';
import type { CommandDeps } from './deps.js';
import { ephemeral } from './reply.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

export const BACKUP_USAGE = [
  '*Usage*',
  '• `/backup now <client>`: take a backup now (operators)',
  '• `/backup status [client]`: last backup and its age against the RPO, last restore test and when the next is due',
  '• `/backup list <client>`: the newest backups with their verification status',
  '• `/backup log <client>`: the backup and restore-test registers (SOP sections 11 and 12) as CSV files',
  '• `/restore-test <client> [backup]`: restore a backup in a throwaway staging container and verify it (operators)',
  '• `/backup help`: this message',
].join('\n');

/** The clients the user may act on, with their roles. */
export async function clientsLine(ctx: Context, userId: string): Promise<string> {
  const lines: string[] = [];
  for (const name of Object.keys(ctx.config.clients)) {
    const roles = await rolesOf(ctx, name, userId);
    if (roles.length) lines.push(`• *${name}*: ${roles.map((r) => ROLE_LABEL[r]).join(', ')}`);
  }
  return lines.length
    ? `*Clients you may act on*\n${lines.join('\n')}`
    : `You have no role on any client yet (configured: ${Object.keys(ctx.config.clients).join(', ')}). Ask an administrator to add your Slack user ID (${userId}) to \`clients.<name>.roles\`.`;
}

/** `/backup help`, and any unknown or malformed `/backup` text: usage and the user's clients; nothing runs. */
export async function backupHelp(deps: CommandDeps, args: Args, problem?: string): Promise<void> {
  const head = problem ? `:warning: I did not understand that: ${problem}. Nothing was run.\n\n` : '';
  const text = `${head}${BACKUP_USAGE}\n\n${await clientsLine(deps.ctx, args.command.user_id)}`;
  await args.ack(ephemeral(text));
}
