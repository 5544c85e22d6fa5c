import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { yourClients } from '../operations/authorize.js';
import type { CommandDeps } from './deps.js';
import { ackThenAnswer, ephemeral } from './reply.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

const BACKUP_USAGE = [
  '*Usage*',
  '• `/backup now <client>`: take a backup now (operators)',
  '• `/backup now <client> pre-change <ticket> <reason…>`: the backup SOP-001 §7.1 requires before an update, a migration or a critical change (operators)',
  '• `/backup status [client]`: last backup and its age against the RPO, last restore test and when the next is due',
  '• `/backup list <client>`: the newest backups with their verification status',
  '• `/backup log <client>`: the backup, restore-test and incident registers (SOP sections 11, 12 and 13.5) as CSV files',
  '• `/backup report <client> [quarter]`: the signed evidence report (PDF) of a quarter, default the last one, posted here',
  '• `/backup incident <client> [number]`: record an incident, or its cause, corrective action and close (SOP §13.5)',
  '• `/restore-test <client> [backup]`: restore a backup in a throwaway staging container and verify it (operators)',
  '• `/restore <client>`: ask for a production restore, approved in writing by the System Owner (operators)',
  '• `/backup help`: this message',
].join('\n');

/** `/backup help`, and any unknown or malformed `/backup` text: usage and the user's own clients; nothing runs. */
export async function backupHelp(deps: CommandDeps, args: Args, problem?: string): Promise<void> {
  await ackThenAnswer(deps, args, 'backup help', async () => {
    const head = problem ? `:warning: I did not understand that: ${problem}. Nothing was run.\n\n` : '';
    return ephemeral(`${head}${BACKUP_USAGE}\n\n${await yourClients(deps.ctx, args.command.user_id)}`);
  });
}
