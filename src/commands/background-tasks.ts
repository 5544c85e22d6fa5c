import type { Context } from '../context.js';
import { errorMessage } from '../core/errors.js';

/**
 * Work started after ack() (a backup, a restore test). Tracked so that a stop waits for it and tests
 * can wait until it is done; a failure is logged, never an unhandled rejection.
 */
export class BackgroundTasks {
  private readonly tasks = new Set<Promise<void>>();
  private readonly controller = new AbortController();
  constructor(private readonly ctx: Pick<Context, 'logger'>) {}

  /** Aborted by cancel() (the bot stopping past its shutdown timeout): the operations started here take it. */
  get signal(): AbortSignal { return this.controller.signal; }

  /** Cancels the work still running: its operations stop (children killed, containers removed, runs interrupted). */
  cancel(reason = 'cancelled: the bot is stopping'): void {
    if (!this.controller.signal.aborted) this.controller.abort(new Error(reason));
  }

  run(name: string, fn: () => Promise<void>): void {
    const p: Promise<void> = fn()
      .catch((err: unknown) => { this.ctx.logger.error({ task: name, err: errorMessage(err) }, 'background task failed'); })
      .finally(() => { this.tasks.delete(p); });
    this.tasks.add(p);
  }

  get size(): number { return this.tasks.size; }

  /** Resolves when every task started so far (and any they start) has finished, or after `timeoutMs`. */
  async idle(timeoutMs = 10 * 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.tasks.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.tasks]), new Promise((r) => { timer = setTimeout(r, left); })]);
      clearTimeout(timer);
    }
    return true;
  }
}
