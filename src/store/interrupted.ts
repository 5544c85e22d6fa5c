import type { Pool } from './db.js';
import { instanceIsGone } from './instance.js';
import { audit } from './audit.js';
import { markInstanceRunsInterrupted, runningRuns, type Run } from './runs.js';

/**
 * At start: every `running` run whose owning process is gone (its instance lock is free) is marked
 * `interrupted` and audited. Runs of live replicas are left alone.
 */
export async function reapInterruptedRuns(pool: Pool, at: Date = new Date()): Promise<Run[]> {
  const running = await runningRuns(pool);
  const instances = [...new Set(running.map((r) => r.instance))];
  const reaped: Run[] = [];
  for (const inst of instances) {
    if (inst !== null && !(await instanceIsGone(pool, inst))) continue;
    const rows = await markInstanceRunsInterrupted(pool, inst, at);
    for (const r of rows) {
      await audit(pool, { actor: 'backup-bot', action: 'run.interrupted', client: r.client, target: `run:${r.id}`, details: { kind: r.kind, lastStep: r.step } });
    }
    reaped.push(...rows);
  }
  return reaped;
}
