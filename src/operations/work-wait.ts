import type { Context } from '../context.js';
import { parseDuration } from '../config/duration.js';

/**
 * workers.maxWait (issue 21): work that has waited in the shared queue longer than that is an S2 alert, one per
 * client (the alerts table keeps one open alert per client and kind, so every replica may check: one posts);
 * resolved when none of that client's work is waiting too long any more.
 */
export interface WaitingWork { name: string; waitedSeconds: number }

export async function checkWorkWaiting(ctx: Context, waiting: WaitingWork[], queued: number): Promise<{ opened: string[]; resolved: string[] }> {
  const maxWait = ctx.config.workers.maxWait;
  const limitS = (parseDuration(maxWait) ?? 3_600_000) / 1000;
  const now = ctx.clock.now();
  const late = new Map<string, WaitingWork>();
  for (const w of waiting) {
    if (w.waitedSeconds <= limitS) continue;
    const client = w.name.includes(':') ? w.name.slice(w.name.indexOf(':') + 1) : '';
    const was = late.get(client);
    if (!was || w.waitedSeconds > was.waitedSeconds) late.set(client, w);
  }
  const opened: string[] = [];
  for (const [client, w] of late) {
    const row = await ctx.store.alerts.open({ client, kind: 'queue_wait', message: `${w.name} waited ${w.waitedSeconds} s in the work queue (maxWait ${maxWait})`, at: now, details: { job: w.name, waitedSeconds: w.waitedSeconds, queued } });
    if (!row) continue;
    opened.push(client);
    await ctx.store.audit.append({ actor: 'backup-bot', action: 'alert.opened', client, target: `alert:${row.id}`, details: { kind: row.kind, severity: row.severity } });
    const waited = w.waitedSeconds >= 120 ? `${Math.round(w.waitedSeconds / 60)} min` : `${w.waitedSeconds} s`;
    const ref = await ctx.reporter.report({
      kind: 'alert.team', client, severity: 'S2', audience: ['operators'],
      title: `${w.name.split(':')[0]} has waited ${waited} in the work queue (workers.maxWait ${maxWait})`,
      detail: `${queued} piece(s) of work are queued. The replicas' slots (workers.maxConcurrent ${ctx.config.workers.maxConcurrent} each) are not enough for the schedule, or the work is held by its database server's limit (workers.perDatabaseHost): add a replica, raise the limits, or spread the schedules.`,
    });
    if (ref) await ctx.store.alerts.setMessage(row.id, ref.channel, ref.ts);
  }
  const resolved: string[] = [];
  for (const a of (await ctx.store.alerts.listOpen()).filter((x) => x.kind === 'queue_wait' && !late.has(x.client))) {
    for (const r of await ctx.store.alerts.resolve(a.client, now, 'its work is no longer waiting in the queue', ['queue_wait'])) {
      resolved.push(r.client);
      await ctx.store.audit.append({ actor: 'backup-bot', action: 'alert.resolved', client: r.client, target: `alert:${r.id}`, details: { kind: r.kind } });
    }
  }
  return { opened, resolved };
}
