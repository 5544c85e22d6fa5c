import type { Command } from 'commander';
import { action, globals, printJson, printLine, withContext } from './command-frame.js';
import { runRestoreTest } from '../operations/restore-test.js';
import { frontDoorContext, waitForWorkAhead } from '../operations/front-door-limits.js';
import { sayOnStderr } from './backup.js';
import { userInfo } from 'node:os';
import { formatDuration } from '../config/duration.js';

function osUser(): string {
  try { return userInfo().username; } catch { return process.env.USER ?? 'cli'; }
}

/**
 * `backup-bot restore-test <client> [--backup KEY] [--json]`: restores a stored backup (default the
 * newest verified) into a throwaway Docker container, verifies it and records it (SOP-001 §12).
 * Exit 0 only when the test passed; 1 when it ran and failed; 2 for bad input or a test already running.
 * It waits for the work queue and restoreTest.maxConcurrent (saying so on stderr); --now bypasses them.
 */
export function registerRestoreTestCommand(program: Command): void {
  program
    .command('restore-test')
    .description('restore a backup into a throwaway Docker container and verify it')
    .argument('<client>')
    .option('--backup <key>', 'the backup to test (key or file name; default the newest verified)')
    .option('--now', 'do not wait for the work queue or restoreTest.maxConcurrent (prints a warning; audited); a running restore test of this client is still refused')
    .action(action(async (client: string, opts: { backup?: string; now?: boolean }, cmd: Command) => {
      const json = globals(cmd).json;
      return withContext(cmd, async (ctx) => {
        const actor = osUser();
        const limits = { mode: opts.now ? 'now' as const : 'wait' as const, actor, say: sayOnStderr };
        const limited = frontDoorContext(ctx, client, limits);
        await waitForWorkAhead(ctx, client, limits, limited.record, 'docker');
        // The run's details get what the limits did (the run row is written after the slot was asked for).
        let noted: Promise<void> | undefined;
        const onProgress = (_step: string, run: { id: string }) => {
          noted ??= ctx.store.runs.mergeDetails(run.id, { limits: limited.record }).catch(() => {});
        };
        const out = await runRestoreTest(limited.ctx, { client, ...(opts.backup !== undefined ? { backupKey: opts.backup } : {}), actor, actorName: actor, trigger: 'cli', notify: true, onProgress });
        await noted;
        if (json) {
          printJson({
            ok: out.ok, client, run: out.run.id, backup: out.backup.file, failedStep: out.failedStep ?? null, error: out.error ?? null,
            restoreMinutes: out.register?.restore_minutes != null ? Number(out.register.restore_minutes) : null,
            checks: out.checks, register: out.register ? { id: out.register.id, quarter: out.register.quarter, result: out.register.result, recordsVerified: out.register.records_verified } : null,
            timingsMs: Object.fromEntries(Object.entries(out.timings).map(([k, v]) => [k, Math.round(v ?? 0)])),
          });
        } else {
          printLine(`${out.ok ? 'ok  ' : 'FAIL'}  restore test of ${client} from ${out.backup.file}: ${out.ok ? 'passed' : `failed at step ${out.failedStep}: ${out.error}`}`);
          for (const c of out.checks) printLine(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}${c.detail ? `: ${c.detail}` : ''}`);
          if (out.restoreMs !== undefined) printLine(`  restore time ${formatDuration(out.restoreMs)}, whole test ${formatDuration(out.timings.totalMs)}`);
          printLine(`  run ${out.run.id}${out.register ? `, register row ${out.register.id} (${out.register.quarter})` : ''}`);
        }
        return out.ok ? 0 : 1;
      }, { client });
    }));
}
