import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { action, globals, printJson, printLine, withContext } from './command-frame.js';
import { UserError } from '../core/errors.js';
import { formatBytes } from '../core/time.js';
import { BACKUP_TYPES, type BackupType } from '../store/backup-register.js';
import { runBackup } from '../operations/backup.js';
import { frontDoorContext, waitForWorkAhead } from '../operations/front-door-limits.js';
import { preChangeReason, ticketRef } from '../commands/parse.js';
import { formatDuration } from '../config/duration.js';

export function osUser(): string {
  try { return userInfo().username; } catch { return process.env.USER ?? 'cli'; }
}

/** The waiting states and the --now warning: stderr, so that --json keeps stdout clean JSON. */
export function sayOnStderr(line: string): void {
  process.stderr.write(`backup-bot: ${line}\n`);
}

/**
 * `backup-bot backup <client> [--type …] [--wait | --now] [--json]`: exit 0 only when the backup is verified.
 * It goes through the limits of the shared work (work queue, workers.perDatabaseHost) and says on stderr what it
 * waits for; --now bypasses them (warning, audit entry, run details), never the client's own lock.
 */
export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .description('take a backup of a client now (dump, store in every destination, read the primary copy back)')
    .argument('<client>')
    .option('--type <type>', `backup type: ${BACKUP_TYPES.join(' | ')}`, 'manual')
    .option('--wait', 'wait for a backup of this client that is already running (default: refuse)')
    .option('--now', 'do not wait for the work queue or workers.perDatabaseHost (prints a warning; audited); a running backup of this client is still refused')
    .option('--ticket <ticket>', 'pre-change: the ticket of the update, migration or change it precedes (required with --type pre-change)')
    .option('--reason <text>', 'pre-change: why it is taken (required with --type pre-change)')
    .action(action(async (client: string, opts: { type: string; wait?: boolean; now?: boolean; ticket?: string; reason?: string }, cmd: Command) => {
      if (opts.now && opts.wait) throw new UserError('--now and --wait do not go together: --now starts at once or not at all (a running backup of the client is refused), --wait waits for it. Usage: backup-bot backup <client> [--type T] [--wait | --now] [--json]; nothing was started');
      if (!BACKUP_TYPES.includes(opts.type as BackupType)) throw new UserError(`unknown backup type "${opts.type.slice(0, 40)}" (accepted: ${BACKUP_TYPES.join(', ')})`);
      if (opts.type === 'pre-change') {
        const t = ticketRef.safeParse(opts.ticket ?? '');
        if (!opts.ticket) throw new UserError('--type pre-change needs --ticket T (the change it precedes) and --reason R (SOP-001 §7.1); nothing was started');
        if (!t.success) throw new UserError(`--ticket ${JSON.stringify(opts.ticket.slice(0, 64))}: ${t.error.issues[0]?.message}; nothing was started`);
        const r = preChangeReason.safeParse(opts.reason ?? '');
        if (!r.success) throw new UserError(`--reason: ${opts.reason === undefined ? 'missing (why the backup is taken)' : r.error.issues[0]?.message}; nothing was started`);
      } else if (opts.ticket || opts.reason) throw new UserError('--ticket and --reason go with --type pre-change; nothing was started');
      const json = globals(cmd).json;
      return withContext(cmd, async (ctx) => {
        const limits = { mode: opts.now ? 'now' as const : 'wait' as const, actor: osUser(), say: sayOnStderr };
        const limited = frontDoorContext(ctx, client, limits);
        await waitForWorkAhead(ctx, client, limits, limited.record, 'db');
        const o = await runBackup(limited.ctx, {
          client, type: opts.type as BackupType, actor: osUser(), trigger: 'cli', wait: opts.wait ?? false, details: { limits: limited.record },
          ...(opts.ticket ? { ticket: opts.ticket, reason: opts.reason!.trim() } : {}),
        });
        const b = o.backup;
        if (json) {
          printJson({
            ok: o.ok, verified: o.verified, client, type: b?.type, file: b?.file, key: b?.key, sizeBytes: b?.size_bytes != null ? Number(b.size_bytes) : null,
            sha256: b?.sha256, tables: b?.tables_counted, durationMs: o.durationMs, ticket: b?.ticket ?? null, reason: b?.reason ?? null, destinations: o.locations, run: o.run.id, backupId: b?.id,
            ...(o.error ? { error: o.error } : {}), ...(o.hint ? { hint: o.hint } : {}),
          });
        } else {
          printLine(`${o.ok && o.verified ? 'OK' : 'FAILED'}  backup of ${client} (${b?.type ?? opts.type})`);
          printLine(`  file:         ${b?.file ?? '-'}`);
          if (b?.ticket) printLine(`  ticket:       ${b.ticket} (${b.reason ?? ''})`);
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
