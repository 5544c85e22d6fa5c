import type { Context } from '../context.js';
import { type BackupRow } from '../store/backup-register.js';

import { type AlertKind, type AlertRow } from '../store/alerts.js';

import { parseDuration } from '../config/duration.js';
import { fireInterval } from './schedule.js';
import type { WatchdogStatus } from './views.js';

/**
 * The watchdog (SOP: "alert S2 when the log stops updating or shows errors"). For each client:
 *  - stale: the last verified OK backup is older than the schedule's interval (time between its two
 *    latest fires) plus schedules.watchdogGrace — or, with no verified backup at all, that long since
 *    the bot started scheduling the client;
 *  - failed: the last finished backup run failed or was interrupted;
 *  - RPO breach: the last verified backup is older than the client's RPO (called out separately).
 * An incident opens one alert row per (client, kind) — `backup` (stale/failed) and `rpo` — and posts
 * once; when a good backup arrives the rows are resolved, the alert message is updated and a
 * "resolved" message is posted.
 */
export interface WatchdogResult { statuses: WatchdogStatus[]; opened: AlertRow[]; resolved: AlertRow[] }

export async function evaluateClient(ctx: Context, client: string, now: Date = ctx.clock.now()): Promise<WatchdogStatus> {
  const c = ctx.client(client);
  const intervalMs = fireInterval(c.schedule, ctx.config.timezone, now);
  const graceMs = parseDuration(ctx.config.schedules.watchdogGrace) ?? 0;
  const rpoMs = parseDuration(c.rpo) ?? Infinity;
  const b: BackupRow | undefined = await ctx.store.backups.latestVerified(client);
  const run = await ctx.store.status.lastFinishedRun(client, 'backup');
  const state = b ? undefined : await ctx.store.jobs.getState('scheduled-backup', client);
  const ref = b ? new Date(b.taken_at) : state ? new Date(state.since) : null;
  const age = ref ? now.getTime() - ref.getTime() : 0;
  return {
    client,
    lastVerified: b ? { id: b.id, key: b.key ?? b.file, takenAt: new Date(b.taken_at), ageMs: age } : null,
    lastRun: run ? { id: run.id, status: run.status, error: run.error, startedAt: new Date(run.started_at) } : null,
    since: b ? null : ref,
    intervalMs, graceMs, rpoMs,
    stale: ref !== null && age > intervalMs + graceMs,
    failed: run !== undefined && (run.status === 'failed' || run.status === 'interrupted'),
    rpoBreach: ref !== null && age > rpoMs,
  };
}

export async function runWatchdog(ctx: Context, input: { clients?: string[] } = {}): Promise<WatchdogResult> {
  const clients = input.clients ?? Object.keys(ctx.config.clients);
  const out: WatchdogResult = { statuses: [], opened: [], resolved: [] };
  for (const client of clients) {
    const r = await checkClient(ctx, client);
    out.statuses.push(r.status);
    out.opened.push(...r.opened);
    out.resolved.push(...r.resolved);
  }
  return out;
}

/** One client: open what is newly wrong (posting once), resolve what is right again. */
export async function checkClient(ctx: Context, client: string): Promise<{ status: WatchdogStatus; opened: AlertRow[]; resolved: AlertRow[] }> {
  const now = ctx.clock.now();
  const s = await evaluateClient(ctx, client, now);
  const cfg = ctx.client(client);

  const opened: AlertRow[] = [];
  const wants: Array<[AlertKind, boolean]> = [['backup', s.stale || s.failed], ['rpo', s.rpoBreach]];
  const opening = { kind: 'alert.watchdog_opened' as const, client, status: s, schedule: cfg.schedule, rpo: cfg.rpo, audience: ['operators' as const] };
  for (const [kind, wanted] of wants) {
    if (!wanted) continue;
    const row = await ctx.store.alerts.open({ client, kind, message: alertSummary(s), at: now, details: { stale: s.stale, failed: s.failed, rpoBreach: s.rpoBreach, lastRun: s.lastRun?.id ?? null, lastVerified: s.lastVerified?.id ?? null } });
    if (row) opened.push(row);
  }
  if (opened.length > 0) {
    // One message for everything that opened in this pass (a stale backup past its RPO is one post).
    const ref = await ctx.reporter.report({ ...opening, incidentIds: opened.map((a) => a.incident_id).filter((i): i is string => Boolean(i)) });
    for (const a of opened) {
      if (ref) await ctx.store.alerts.setMessage(a.id, ref.channel, ref.ts);
      await ctx.store.audit.append({ actor: 'backup-bot', action: 'alert.opened', client, target: `alert:${a.id}`, details: { kind: a.kind, severity: a.severity } });
      if (ref) { a.slack_channel = ref.channel; a.slack_ts = ref.ts; }
    }
    ctx.logger.warn({ client, kinds: opened.map((a) => a.kind) }, `watchdog: alert opened for ${client}`);
  }

  const healthy: AlertKind[] = wants.filter(([, w]) => !w).map(([k]) => k);
  const resolved = healthy.length ? await ctx.store.alerts.resolve(client, now, `resolved by backup ${s.lastVerified?.key ?? '?'}`, healthy) : [];
  if (resolved.length > 0) {
    const seen = new Set<string>();
    for (const a of resolved) {
      await ctx.store.audit.append({ actor: 'backup-bot', action: 'alert.resolved', client, target: `alert:${a.id}`, details: { kind: a.kind } });
      if (a.slack_channel && a.slack_ts && !seen.has(a.slack_ts)) {
        seen.add(a.slack_ts);
        await ctx.reporter.report({ kind: 'alert.watchdog_resolved', client, alert: a, status: s, now }, { channel: a.slack_channel, ts: a.slack_ts });
      }
    }
    await ctx.reporter.report({ kind: 'alert.watchdog_resolved_notice', client, resolved, status: s, now });
    ctx.logger.info({ client, kinds: resolved.map((a) => a.kind) }, `watchdog: alert resolved for ${client}`);
  }
  return { status: s, opened, resolved };
}

/** The alert row's own text (the register of alerts; the message people see is rendered by the reporter). */
function alertSummary(s: WatchdogStatus): string {
  const what = [s.failed ? 'the last backup run failed' : '', s.stale ? 'no recent verified backup' : '', s.rpoBreach ? 'RPO breach' : ''].filter(Boolean).join('; ');
  return `S2 — backups of ${s.client} need attention: ${what}`;
}
