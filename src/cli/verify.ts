import type { Command } from 'commander';
import { action, globals, printJson, printLine, withContext } from './command-frame.js';
import { verifyBackup } from '../operations/verify-backup.js';
import { osUser } from './backup.js';

/** `backup-bot verify <client> [--backup KEY] [--destination NAME] [--json]`: every copy (or one); exit 0 only if every check passed. */
export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description('read back and verify a stored backup (default: the newest)')
    .argument('<client>')
    .option('--backup <key>', 'the backup key or file name (see `backup-bot list`)')
    .option('--destination <name>', 'read only this destination (default: every destination that holds the backup, the primary first)')
    .action(action(async (client: string, opts: { backup?: string; destination?: string }, cmd: Command) => {
      const json = globals(cmd).json;
      return withContext(cmd, async (ctx) => {
        const r = await verifyBackup(ctx, { client, backupKey: opts.backup, destination: opts.destination, actor: osUser(), trigger: 'cli' });
        if (json) printJson({ ok: r.ok, client, key: r.backup.key, file: r.backup.file, checks: r.checks, copies: r.copies.map((c) => ({ destination: c.destination, ok: c.ok, ...(c.error ? { error: c.error } : {}) })), run: r.run.id, ...(r.error ? { error: r.error } : {}) });
        else {
          printLine(`${r.ok ? 'OK' : 'FAILED'}  ${r.backup.key}`);
          for (const copy of r.copies) {
            printLine(`  ${copy.destination}: ${copy.ok ? 'OK' : 'FAILED'}`);
            for (const c of copy.checks) printLine(`    ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}`);
          }
        }
        return r.ok ? 0 : 1;
      }, { client });
    }));
}
