import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { action, globals, printJson, printLine, withContext } from './command-frame.js';
import { UserError } from '../core/errors.js';
import { formatBytes } from '../core/time.js';
import { BACKUP_TYPES, type BackupType } from '../store/backup-register.js';
import { runBackup } from '../operations/backup.js';
import { formatDuration } from '../config/duration.js';

export function osUser(): string {
  try { return userInfo().username; } catch { return process.env.USER ?? 'cli'; }
}

/** `backup-bot backup <client> [--type …] [--wait] [--json]`: exit 0 only when the backup is verified. */
export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .description('take a backup of a client now (dump, store in every destination, read the primary copy back)')
    .argument('<client>')
    .option('--type <type>', `backup type: ${BACKUP_TYPES.join(' | ')}`, 'manual')
    .option('--wait', 'wait for a backup of this client that is already running (default: refuse)')
    .action(action(async (client: string, opts: { type: string; wait?: boolean }, cmd: Command) => {
      if (!BACKUP_TYPES.includes(opts.type as BackupType)) throw new UserError(`unknown backup type "${opts.type.slice(0, 40)}" (accepted: ${BACKUP_TYPES.join(', ')})`);
      const json = globals(cmd).json;
      return withContext(cmd, async (ctx) => {
        const o = await runBackup(ctx, { client, type: opts.type as BackupType, actor: osUser(), trigger: 'cli', wait: opts.wait ?? false });
        const b = o.backup;
        if (json) {
          printJson({
            ok: o.ok, verified: o.verified, client, type: b?.type, file: b?.file, key: b?.key, sizeBytes: b?.size_bytes != null ? Number(b.size_bytes) : null,
            sha256: b?.sha256, tables: b?.tables_counted, durationMs: o.durationMs, destinations: o.locations, run: o.run.id, backupId: b?.id,
            ...(o.error ? { error: o.error } : {}), ...(o.hint ? { hint: o.hint } : {}),
          });
        } else {
          printLine(`${o.ok && o.verified ? 'OK' : 'FAILED'}  backup of ${client} (${b?.type ?? opts.type})`);
          printLine(`  file:         ${b?.file ?? '-'}`);
          printLine(`  size:         ${b?.size_bytes != null ? formatBytes(b.size_bytes) : '-'}`);
          printLine(`  sha256:       ${b?.sha256 ?? '-'}`);
          printLine(`  tables:       ${b?.tables_counted ?? '-'}`);
          printLine(`  duration:     ${formatDuration(o.durationMs)}`);
          for (const l of o.locations) printLine(`  destination:  ${l.destination} ${l.ok ? 'ok' : `FAILED${l.error ? `: ${l.error}` : ''}`}`);
          printLine(`  verified:     ${o.verified ? 'yes' : 'no'}`);
          if (o.error) printLine(`  error:        ${o.error}`);
          if (o.hint) printLine(`  first check:  ${o.hint}`);
        }
        return o.ok && o.verified ? 0 : 1;
      }, { client });
    }));
}
