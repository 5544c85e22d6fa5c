import type { Command } from 'commander';
import { action, globals, printJson, printLine, withContext } from './command-frame.js';
import { checkEvidence } from '../operations/check-evidence.js';
import { osUser } from './backup.js';

/**
 * `backup-bot evidence verify [--json]`: every hash chain, signature and signed head recomputed; exit 0 with a
 * one-line summary when all holds (and the current heads are signed), exit 1 naming each broken record.
 */
export function registerEvidenceCommand(program: Command): void {
  const evidence = program.command('evidence').description('the evidence registers: verify their hash chains and signatures');
  evidence
    .command('verify')
    .description('verify every hash chain, decision signature and signed chain head; exit 1 naming each broken record')
    .action(action(async (_opts: unknown, cmd: Command) => withContext(cmd, async (ctx) => {
      const r = await checkEvidence(ctx, { reason: 'verify', actor: osUser() });
      if (globals(cmd).json) printJson(r);
      else {
        printLine(r.summary);
        for (const b of r.broken) printLine(`  ${b.register} ${b.id}: ${b.what} — ${b.detail}`);
      }
      return r.ok ? 0 : 1;
    })));
}
