import type { Command } from 'commander';
import { action, globals, printJson, printLine, withContext } from './command-frame.js';
import { formatBytes, formatDateTime } from '../core/time.js';
import { copyStatusText, listStoredBackupsDetailed } from '../operations/list-backups.js';

/** `backup-bot list <client> [--json]`: stored backups, newest first, with their register status. */
export function registerListCommand(program: Command): void {
  program
    .command('list')
    .description('list stored backups of a client (newest first) with their register status')
    .argument('<client>')
    .action(action(async (client: string, _opts: unknown, cmd: Command) => {
      const json = globals(cmd).json;
      return withContext(cmd, async (ctx) => {
        const r = await listStoredBackupsDetailed(ctx, client);
        if (json) {
          printJson({ ok: r.errors.length === 0, client, backups: r.backups, errors: r.errors });
        } else {
          if (r.backups.length === 0) printLine(`no stored backups for ${client}`);
          for (const b of r.backups) {
            const status = b.missing ? 'MISSING' : !b.registered ? 'unregistered' : b.verified ? 'verified' : b.result === 'Error' ? 'error' : 'not verified';
            printLine([
              b.takenAt ? formatDateTime(b.takenAt, ctx.config.timezone) : '-', b.file, b.type ?? '-', b.sizeBytes != null ? formatBytes(b.sizeBytes) : '-',
              `${b.tables ?? '-'} tables`, status, b.copies.map(copyStatusText).join(', ') || '-',
            ].join('  '));
          }
          for (const e of r.errors) printLine(`cannot list ${e.destination}: ${e.error}`);
        }
        return r.errors.length ? 1 : 0;
      }, { client });
    }));
}
