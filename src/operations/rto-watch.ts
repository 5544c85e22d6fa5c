import type { Context } from '../context.js';
import { parseDuration } from '../config/duration.js';
import { errorMessage } from '../core/errors.js';

/** A running watch; `stop()` when the runbook ends (completed, rolled back or failed). */
export interface RtoWatch { stop(): void; /** How many alerts it posted (0, 1 or 2). */ readonly fired: number }

export interface RtoWatchInput { client: string; approvalId: string; /** Date.now() when the restore started. */ startedAt: number }

/**
 * SOP 5.3: a production restore still running at the client's RTO posts an S1 alert naming the System Owners
 * and IT Managers, and again at twice the RTO (the system is down longer than the business accepted). Real
 * elapsed time (the restore's wall clock), not the context clock. Each alert is audited.
 */
export function watchRto(ctx: Context, input: RtoWatchInput): RtoWatch {
  const cfg = ctx.client(input.client);
  const rtoMs = parseDuration(cfg.rto) ?? 4 * 3_600_000;
  let fired = 0;
  const timers = [1, 2].map((n) => {
    const t = setTimeout(() => { void alert(n); }, Math.max(0, input.startedAt + n * rtoMs - Date.now()));
    t.unref();
    return t;
  });
  const alert = async (n: number) => {
    fired++;
    const elapsedMin = Math.round((Date.now() - input.startedAt) / 60_000 * 10) / 10;
    const title = `Production restore of ${input.client} still running at ${n === 1 ? 'the' : 'twice the'} RTO`;
    const detail = `request #${input.approvalId} has been running for ${elapsedMin} min (RTO ${cfg.rto}); the system is still unavailable. Follow the runbook message; decide now whether to keep going or roll back.`;
    try {
      await ctx.store.audit.append({ actor: 'backup-bot', action: 'restore.rto_exceeded', client: input.client, target: `approval:${input.approvalId}`, reason: title, details: { times: n, elapsedMs: Date.now() - input.startedAt, rto: cfg.rto } });
      await ctx.reporter.report({ kind: 'alert.team', client: input.client, severity: 'S1', title, detail, audience: ['systemOwners', 'itManagers'] });
    } catch (err) {
      ctx.logger.error({ client: input.client, approval: input.approvalId, err: errorMessage(err) }, 'could not post the RTO alert');
    }
  };
  return {
    stop: () => { for (const t of timers) clearTimeout(t); },
    get fired() { return fired; },
  };
}
