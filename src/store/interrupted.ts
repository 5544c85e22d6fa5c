import type { Pool } from './db.js';
import { instanceIsGone } from './instance.js';
import { audit } from './audit.js';
import { markInstanceRunsInterrupted, markRunsInterrupted, runningRuns, type Run, type RunKind } from './runs.js';

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
    await auditInterrupted(pool, rows);
    reaped.push(...rows);
  }
  return reaped;
}

/**
 * The dead runs of one client, marked `interrupted` and audited: a `running` run is dead when the process that
 * owns it is gone (its instance lock can be taken; a killed process's connection released it). A run that
 * recorded no owner counts as dead only when its kind is in `ownedKinds`: the caller holds the client's lock of
 * that kind, which proves nobody runs it. Runs of live processes (this one, other replicas) are left alone.
 */
export async function reapClientRuns(pool: Pool, client: string, at: Date = new Date(), opts: { ownedKinds?: RunKind[] } = {}): Promise<Run[]> {
  const running = await runningRuns(pool, { client });
  if (running.length === 0) return [];
  const gone = new Map<number, boolean>();
  const dead: string[] = [];
  for (const r of running) {
    if (r.instance === null) {
      if (opts.ownedKinds?.includes(r.kind)) dead.push(r.id);
      continue;
    }
    if (!gone.has(r.instance)) gone.set(r.instance, await instanceIsGone(pool, r.instance));
    if (gone.get(r.instance)) dead.push(r.id);
  }
  const rows = await markRunsInterrupted(pool, dead, at);
  await auditInterrupted(pool, rows);
  return rows;
}

async function auditInterrupted(pool: Pool, rows: Run[]): Promise<void> {
  for (const r of rows) {
    await audit(pool, { actor: 'backup-bot', action: 'run.interrupted', client: r.client, target: `run:${r.id}`, details: { kind: r.kind, lastStep: r.step } });
  }
}
