import type { Command } from 'commander';
import { action, globals, printJson, printLine, withContext } from './command-frame.js';
import { grantRuntimeRole } from '../store/privileges.js';
import { createPool } from '../store/db.js';
import { installWorkQueue } from '../store/work-queue.js';
import { UserError } from '../core/errors.js';

/**
 * `backup-bot db grant <runtime-role>`: run as the owner (state.ownerUrl, else state.url), gives the runtime role
 * INSERT and SELECT on the evidence and what it needs on the state tables, nothing more.
 */
export function registerDbCommand(program: Command): void {
  const db = program.command('db').description('the state database: roles and privileges');
  db
    .command('grant')
    .description('grant a runtime role what the bot needs: INSERT and SELECT only on the evidence (audit log, registers, signatures)')
    .argument('<runtime-role>')
    .action(action(async (role: string, _opts: unknown, cmd: Command) => withContext(cmd, async (ctx) => {
      const ownerUrl = ctx.config.state.ownerUrl ?? ctx.config.state.url;
      const pool = createPool(ownerUrl, { max: 1 });
      try {
        // The shared work queue's schema is installed by the owner, so that the runtime role can be granted its use.
        await installWorkQueue(ownerUrl);
        const statements = await grantRuntimeRole(pool, role).catch((err: Error) => {
          if (/not a role name/.test(err.message)) throw new UserError(err.message);
          throw err;
        });
        if (globals(cmd).json) printJson({ ok: true, role, statements });
        else {
          printLine(`granted ${role} the runtime privileges (${statements.length} statements); it may only INSERT and SELECT on the evidence`);
          for (const s of statements) printLine(`  ${s}`);
        }
      } finally {
        await pool.end();
      }
      return 0;
    })));
}
