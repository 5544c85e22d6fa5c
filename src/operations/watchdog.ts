import type { Context } from '../context.js';
import { latestVerifiedBackup, type BackupRow } from '../store/backup-register.js';
import { getJobState } from '../store/job-state.js';
import { lastFinishedRun } from '../store/status.js';
import { openAlert, resolveAlerts, setAlertMessage, type AlertKind, type AlertRow } from '../store/alerts.js';
import { audit } from '../store/audit.js';
import { parseDuration } from '../config/duration.js';
import { clientChannel } from '../slack/notifier.js';
import { fireInterval } from './schedule.js';
import { mentionsFor } from './mentions.js';
import { renderAlertOpened, renderAlertResolved, renderAlertResolvedNotice } from '../slack/render/watchdog.js';

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
export interface WatchdogStatus {
  client: string;
  lastVerified: { id: string; key: string | null; takenAt: Date; ageMs: number } | null;
  lastRun: { id: string; status: string; error: string | null; startedAt: Date } | null;
  /** Since when the age is measured when there is no verified backup (first scheduling of the client). */
  since: Date | null;
  intervalMs: number;
  graceMs: number;
  rpoMs: number;
  stale: boolean;
  failed: boolean;
  rpoBreach: boolean;
}

export interface WatchdogResult { statuses: WatchdogStatus[]; opened: AlertRow[]; resolved: AlertRow[] }

export async function evaluateClient(ctx: Context, client: string, now: Date = ctx.clock.now()): Promise<WatchdogStatus> {
  const c = ctx.client(client);
  const intervalMs = fireInterval(c.schedule, ctx.config.timezone, now);
  const graceMs = parseDuration(ctx.config.schedules.watchdogGrace) ?? 0;
  const rpoMs = parseDuration(c.rpo) ?? Infinity;
  const b: BackupRow | undefined = await latestVerifiedBackup(ctx.pool, client);
  const run = await lastFinishedRun(ctx.pool, client, 'backup');
  const state = b ? undefined : await getJobState(ctx.pool, 'scheduled-backup', client);
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
  const channel = clientChannel(ctx.config, client);
  const tz = ctx.config.timezone;

  const opened: AlertRow[] = [];
  const wants: Array<[AlertKind, boolean]> = [['backup', s.stale || s.failed], ['rpo', s.rpoBreach]];
  const message = renderAlertOpened(s, { schedule: cfg.schedule, rpo: cfg.rpo, mentions: mentionsFor(cfg), timezone: tz, now });
  for (const [kind, wanted] of wants) {
    if (!wanted) continue;
    const row = await openAlert(ctx.pool, { client, kind, message: message.text, at: now, details: { stale: s.stale, failed: s.failed, rpoBreach: s.rpoBreach, lastRun: s.lastRun?.id ?? null, lastVerified: s.lastVerified?.id ?? null } });
    if (row) opened.push(row);
  }
  if (opened.length > 0) {
    // One message for everything that opened in this pass (a stale backup past its RPO is one post).
    const ref = await ctx.notifier.post(channel, message);
    for (const a of opened) {
      if (ref) await setAlertMessage(ctx.pool, a.id, ref.channel, ref.ts);
      await audit(ctx.pool, { actor: 'backup-bot', action: 'alert.opened', client, target: `alert:${a.id}`, details: { kind: a.kind, severity: a.severity } });
      if (ref) { a.slack_channel = ref.channel; a.slack_ts = ref.ts; }
    }
    ctx.logger.warn({ client, kinds: opened.map((a) => a.kind) }, `watchdog: alert opened for ${client}`);
  }

  const healthy: AlertKind[] = wants.filter(([, w]) => !w).map(([k]) => k);
  const resolved = healthy.length ? await resolveAlerts(ctx.pool, client, now, `resolved by backup ${s.lastVerified?.key ?? '?'}`, healthy) : [];
  if (resolved.length > 0) {
    const seen = new Set<string>();
    for (const a of resolved) {
      await audit(ctx.pool, { actor: 'backup-bot', action: 'alert.resolved', client, target: `alert:${a.id}`, details: { kind: a.kind } });
      if (a.slack_channel && a.slack_ts && !seen.has(a.slack_ts)) {
        seen.add(a.slack_ts);
        await ctx.notifier.update({ channel: a.slack_channel, ts: a.slack_ts }, renderAlertResolved(a, s, { timezone: tz, now })).catch((err: unknown) => {
          ctx.logger.warn({ err: String(err) }, 'could not update the alert message');
        });
      }
    }
    await ctx.notifier.post(channel, renderAlertResolvedNotice(client, resolved, s, { timezone: tz, now }));
    ctx.logger.info({ client, kinds: resolved.map((a) => a.kind) }, `watchdog: alert resolved for ${client}`);
  }
  return { status: s, opened, resolved };
}
