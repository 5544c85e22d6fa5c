import { runProgram } from '../run-program.js';
import { redactSecrets } from '../redact.js';

export interface HookResult { ok: boolean; detail: string }

/** Runs a maintenance command (`[program, ...args]`, never a shell) and reports how it went. */
export async function runHook(command: string[], timeoutMs = 5 * 60_000): Promise<HookResult> {
  const [program, ...args] = command;
  try {
    const r = await runProgram(program!, args, { timeoutMs });
    if (r.code === 0) return { ok: true, detail: 'ok' };
    const err = redactSecrets(r.stderr.trim() || r.stdout.trim()).split('\n').slice(-2).join(' / ').slice(0, 300);
    return { ok: false, detail: `${program} ${r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`}${err ? `: ${err}` : ''}` };
  } catch (err) {
    return { ok: false, detail: `${program} could not be started: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
}

/**
 * `maintenance.on` before `fn`, `maintenance.off` after it — always, also when `on` or `fn` fails.
 * A failing `on` fails the backup (the application may be writing); a failing `off` is reported in
 * `offResult` (the application may still be in maintenance mode), it does not undo a good backup.
 */
export async function withMaintenance<T>(hooks: { on: string[]; off: string[] } | undefined, fn: () => Promise<T>, report: (r: { on?: HookResult; off?: HookResult }) => void): Promise<T> {
  if (!hooks) return fn();
  let on: HookResult | undefined;
  try {
    on = await runHook(hooks.on);
    report({ on });
    if (!on.ok) throw new Error(`maintenance on failed: ${on.detail}`);
    return await fn();
  } finally {
    const off = await runHook(hooks.off);
    report({ on, off });
  }
}
