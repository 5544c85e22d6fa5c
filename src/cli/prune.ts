import type { Command } from 'commander';
import { action, globals, printJson, printLine, withContext } from './command-frame.js';
import { osUser } from './backup.js';
import { formatDateTime } from '../core/time.js';
import { prune } from '../operations/prune.js';
import type { BackupRow } from '../store/backup-register.js';

/** `backup-bot prune <client> [--dry-run] [--json]`: one line per backup kept/deleted with the rule; exit 0 when the run is ok. */
export function registerPruneCommand(program: Command): void {
  program
    .command('prune')
    .description('apply the retention policy: delete expired backups from every destination (audited)')
    .argument('<client>')
    .option('--dry-run', 'show what would be deleted and why; change nothing')
    .action(action(async (client: string, opts: { dryRun?: boolean }, cmd: Command) => {
      const json = globals(cmd).json;
      return withContext(cmd, async (ctx) => {
        const r = await prune(ctx, { client, dryRun: opts.dryRun ?? false, actor: osUser(), trigger: 'cli' });
        const tz = ctx.config.timezone;
        const ok = r.run.status === 'ok';
        const locked = new Map(r.locked.map((l) => [l.row.id, l]));
        const failed = new Map(r.errors.filter((e) => e.backup).map((e) => [e.backup!.id, e.message]));
        const deletedIds = new Set(r.deleted.map((b) => b.id));
        const inUse = new Set(r.inUse.map((b) => b.id));
        const name = (b: BackupRow) => b.file ?? b.key ?? `#${b.id}`;
        const lines = [
          ...r.plan.delete.map((d) => {
            const b = d.row;
            if (deletedIds.has(b.id)) return { action: r.dryRun ? 'would delete' : 'deleted', b, reason: d.reason };
            if (locked.has(b.id)) return { action: 'kept (locked)', b, reason: `${d.reason}; ${locked.get(b.id)!.reason}` };
            if (inUse.has(b.id)) return { action: 'kept (in use)', b, reason: `${d.reason}; being read by a running restore test or production restore` };
            return { action: 'delete failed', b, reason: `${d.reason}; ${failed.get(b.id) ?? 'see errors'}` };
          }),
          ...r.plan.keep.map((k) => ({ action: 'kept', b: k.row, reason: k.reason })),
        ].sort((x, y) => new Date(y.b.taken_at).getTime() - new Date(x.b.taken_at).getTime());
        if (json) {
          printJson({
            ok, dryRun: r.dryRun, client, run: r.run.id, status: r.run.status,
            backups: lines.map((l) => ({ action: l.action, id: l.b.id, file: l.b.file, key: l.b.key, type: l.b.type, takenAt: l.b.taken_at, result: l.b.result, verified: l.b.verified, reason: l.reason })),
            deleted: r.deleted.length, kept: r.kept.length, locked: r.locked.length, inUse: r.inUse.length, partialsRemoved: r.partialsRemoved,
            errors: r.errors.map((e) => ({ backup: e.backup?.key ?? e.backup?.id ?? null, destination: e.destination ?? null, message: e.message })),
          });
        } else {
          printLine(`${r.dryRun ? 'DRY RUN: nothing changed. ' : ''}prune of ${client}: ${r.deleted.length} ${r.dryRun ? 'would be deleted' : 'deleted'}, ${r.kept.length} kept${r.locked.length ? ` (${r.locked.length} locked)` : ''}${r.inUse.length ? ` (${r.inUse.length} in use by a restore, deleted by a later prune)` : ''}${r.dryRun ? '' : `, ${r.partialsRemoved} leftover partial(s) removed`}`);
          for (const l of lines) printLine(`${l.action.padEnd(13)} ${name(l.b)}  ${l.b.type}  ${formatDateTime(new Date(l.b.taken_at), tz)}  ${l.b.result}${l.b.verified ? ' verified' : ''}: ${l.reason}`);
          for (const e of r.errors.filter((x) => !x.backup)) printLine(`error         ${e.destination ?? ''}: ${e.message}`);
          if (!ok) printLine(`FAILED: ${r.run.error ?? 'see the errors above'}`);
        }
        return ok ? 0 : 1;
      }, { client });
    }));
}
