import type { Context } from '../context.js';
import { parseDuration } from '../config/duration.js';
import { type BackupRow } from '../store/backup-register.js';
import { quarterOf, type RestoreTestRow } from '../store/restore-test-register.js';
import { countsAsDone } from './qa-loop.js';

import { restoreTestDue } from './digest.js';

/** One client's status for `/backup status`: the same truth as the digest (same registers, same due rule). */
export interface ClientStatus {
  client: string;
  rpoMs: number;
  rpoText: string;
  lastOk?: BackupRow;
  lastAttempt?: BackupRow;
  lastTest?: RestoreTestRow;
  /** The current quarter (YYYY-Qn) and whether it has a passing restore test (QA-signed, with restoreTest.requireQa). */
  quarter: string;
  doneThisQuarter: boolean;
  /** The next restore test due (SOP 8.3), as the digest computes it; null when no restore-test month is configured. */
  due: { due: Date; quarter: string; overdue: boolean } | null;
  /** This quarter's test passed but QA has not signed it yet (it does not count until then). */
  awaitingQa?: boolean;
  running?: { kind: string; step: string | null };
  /** Its work waiting in the shared work queue (issue 21): which job, how long it has waited, how many are before it. */
  queued?: Array<{ job: string; waitedSeconds: number; ahead: number }>;
}

/** The client's pieces of work among the queue's waiting ones (oldest first; names `<job>:<client>`). */
export function queuedFor(client: string, waiting: Array<{ name: string; waitedSeconds: number }>): NonNullable<ClientStatus['queued']> {
  return waiting.flatMap((w, ahead) => (w.name.endsWith(`:${client}`) ? [{ job: w.name.slice(0, w.name.length - client.length - 1), waitedSeconds: w.waitedSeconds, ahead }] : []));
}

export async function clientStatus(ctx: Context, client: string): Promise<ClientStatus> {
  const c = ctx.client(client);
  const now = ctx.clock.now();
  const tz = ctx.config.timezone;
  const [lastOk] = await ctx.store.backups.list({ client, onlyOk: true, limit: 1 });
  const [lastAttempt] = await ctx.store.backups.list({ client, limit: 1 });
  const [lastTest] = await ctx.store.restoreTests.list({ client, environment: 'Test', limit: 1 });
  const quarter = quarterOf(now, tz);
  const passed = (await ctx.store.restoreTests.list({ client, environment: 'Test', result: 'OK', limit: 20 })).filter((t) => countsAsDone(t, c.restoreTest.requireQa));
  const doneThisQuarter = passed.some((t) => t.quarter === quarter);
  const awaitingQa = !doneThisQuarter && lastTest?.result === 'OK' && lastTest.quarter === quarter && !lastTest.verified_by_qa;
  const running = (await ctx.store.runs.running({ client }))[0];
  return {
    client, rpoMs: parseDuration(c.rpo) ?? 7 * 86_400_000, rpoText: c.rpo, lastOk, lastAttempt, lastTest, quarter, doneThisQuarter, awaitingQa,
    due: restoreTestDue(c.restoreTest.months, ctx.config.schedules.restoreTest, tz, now, passed[0]?.quarter),
    ...(running ? { running: { kind: running.kind, step: running.step } } : {}),
  };
}
