import type { Context } from '../context.js';
import type { Config } from '../config/schema.js';

import { quarterOf } from '../store/restore-test-register.js';
import { awaitingQa, countsAsDone } from './qa-loop.js';
import type { FailureCount } from '../store/status.js';
import type { AlertRow } from '../store/alerts.js';

import { parseDuration } from '../config/duration.js';
import { zonedParts } from '../core/time.js';
import type { MessageRef } from './reporter.js';
import type { Digest, DigestClient, DigestMark } from './views.js';
import { upcomingFire } from './schedule.js';
import { checkEvidence } from './check-evidence.js';
import { digestSeriesFromBackups, renderDigestChartPng } from '../evidence/chart/digest-png.js';
import { errorMessage } from '../core/errors.js';

/** The digest's picture (issue 19): backup size per day for the last 30 days, one line per client, failures marked. */
export const DIGEST_CHART = { width: 1000, height: 420, days: 30 } as const;

async function digestChart(ctx: Context): Promise<{ filename: string; title: string; png: Uint8Array }> {
  const now = ctx.clock.now();
  const tz = ctx.config.timezone;
  const clients = Object.keys(ctx.config.clients);
  const since = new Date(now.getTime() - (DIGEST_CHART.days + 1) * 86_400_000);
  const rows = (await ctx.store.backups.list({ includeDeleted: true, since, limit: 1_000_000 }))
    .filter((b) => clients.includes(b.client)).map((b) => ({ client: b.client, takenAt: b.taken_at, sizeBytes: b.size_bytes, result: b.result }));
  const series = digestSeriesFromBackups(rows, { now, days: DIGEST_CHART.days, timeZone: tz, clients });
  const png = await renderDigestChartPng(series, { width: DIGEST_CHART.width, height: DIGEST_CHART.height, lang: ctx.config.locale });
  const day = now.toISOString().slice(0, 10);
  return { filename: `backup-sizes_${day}.png`, title: ctx.config.locale === 'es' ? `Tamaño de los backups, últimos ${DIGEST_CHART.days} días` : `Backup sizes, last ${DIGEST_CHART.days} days`, png };
}

/**
 * The daily digest: one message for all clients, read from the registers (backup_register,
 * restore_test_register), the runs table and the approvals — the same truth as `/backup status`.
 */
const SIZE_HISTORY = 10;
const SPARK = '▁▂▃▄▅▆▇█';

/** Bars from zero to the largest value (a few bytes of difference do not look like a cliff). */
export function sparkline(values: number[]): string {
  if (values.length === 0) return '';
  const max = Math.max(...values);
  return values.map((v) => SPARK[max <= 0 ? 0 : Math.max(0, Math.round((v / max) * (SPARK.length - 1)))]).join('');
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** True when the newest size is less than half the median of the earlier ones (needs 2 earlier sizes). */
export function isSizeDrop(sizesOldestFirst: number[]): boolean {
  if (sizesOldestFirst.length < 3) return false;
  const latest = sizesOldestFirst[sizesOldestFirst.length - 1]!;
  const med = median(sizesOldestFirst.slice(0, -1))!;
  return latest < med / 2;
}

function nextQuarter(q: string): string {
  const [y, n] = q.split('-Q').map(Number) as [number, number];
  return n === 4 ? `${y + 1}-Q1` : `${y}-Q${n + 1}`;
}

/**
 * When the next quarterly restore test is due (SOP 8.3): the first quarter after the last passing
 * test (or the current quarter when there is none) that has a month in `months`; due at the first
 * fire of `cron` in that month. Overdue when that moment has passed.
 */
export function restoreTestDue(months: number[], cron: string, tz: string, now: Date, lastOkQuarter: string | undefined): { due: Date; quarter: string; overdue: boolean } | null {
  let q = lastOkQuarter ? nextQuarter(lastOkQuarter) : quarterOf(now, tz);
  for (let i = 0; i < 8; i++, q = nextQuarter(q)) {
    const [y, n] = q.split('-Q').map(Number) as [number, number];
    const inQuarter = [...new Set(months)].filter((m) => Math.ceil(m / 3) === n).sort((a, b) => a - b);
    const m = inQuarter[0];
    if (m === undefined) continue;
    // First fire of the cron inside month m (in tz): start a day before the month in UTC and walk.
    let t = new Date(Date.UTC(y, m - 1, 1) - 86_400_000);
    for (let k = 0; k < 400; k++) {
      t = upcomingFire(cron, tz, t);
      const p = zonedParts(t, tz);
      if (Number(p.year) > y || (Number(p.year) === y && Number(p.month) > m)) break;
      if (Number(p.year) === y && Number(p.month) === m) return { due: t, quarter: q, overdue: t.getTime() < now.getTime() };
    }
  }
  return null;
}

export async function buildDigest(ctx: Context, input: { clients?: string[] } = {}): Promise<Digest> {
  const now = ctx.clock.now();
  const tz = ctx.config.timezone;
  const clients = input.clients ?? Object.keys(ctx.config.clients);
  const pending = await ctx.store.status.pendingApprovals(now);
  const failures = await ctx.store.status.failures(new Date(now.getTime() - 86_400_000));
  const alerts = await ctx.store.alerts.listOpen();
  const out: DigestClient[] = [];
  for (const client of clients) out.push(await digestClient(ctx.config, ctx, client, now, { pending, failures, alerts }));
  const queue = await ctx.store.queue.summary(new Date(now.getTime() - 86_400_000)).catch(() => undefined);
  return { generatedAt: now.toISOString(), timezone: tz, clients: out, ...(queue ? { queue } : {}) };
}

/** A client's mark: the worst of the problems that apply (critical over warning), and their words in order. */
function markOf(rules: Array<[boolean, DigestMark, string]>): { status: DigestMark; problems: string[] } {
  const hits = rules.filter(([applies]) => applies);
  const status: DigestMark = hits.some(([, m]) => m === 'critical') ? 'critical' : hits.length ? 'warning' : 'ok';
  return { status, problems: hits.map(([, , why]) => why) };
}

/** A client's failed runs of the last 24 h, in all and by kind. */
function failuresOf(mine: FailureCount[]): { failuresByKind: Record<string, number>; failures24h: number } {
  const failuresByKind: Record<string, number> = {};
  for (const f of mine) failuresByKind[f.kind] = (failuresByKind[f.kind] ?? 0) + f.n;
  return { failuresByKind, failures24h: mine.reduce((s, f) => s + f.n, 0) };
}

async function digestClient(config: Config, ctx: Context, client: string, now: Date, shared: { pending: Map<string, number>; failures: FailureCount[]; alerts: AlertRow[] }): Promise<DigestClient> {
  const c = ctx.client(client);
  const tz = config.timezone;
  const b = await ctx.store.backups.latestVerified(client);
  const history = (await ctx.store.backups.list({ client, onlyOk: true, includeDeleted: true, limit: SIZE_HISTORY }))
    .filter((r) => r.size_bytes !== null).reverse();
  const sizes = history.map((r) => Number(r.size_bytes));
  const rpoMs = parseDuration(c.rpo) ?? Infinity;
  const ageMs = b ? now.getTime() - new Date(b.taken_at).getTime() : null;
  const rpoOk = ageMs !== null && ageMs <= rpoMs;

  const tests = await ctx.store.restoreTests.list({ client, environment: 'Test', limit: 50 });
  const last = tests[0];
  const requireQa = c.restoreTest.requireQa;
  const lastOk = tests.find((t) => countsAsDone(t, requireQa));
  const thisQuarter = quarterOf(now, tz);
  const thisQuarterDone = tests.some((t) => countsAsDone(t, requireQa) && t.quarter === thisQuarter);
  const prodRows = await ctx.store.restoreTests.list({ client, environment: 'Prod', result: 'OK', limit: 20 });
  const unsigned = awaitingQa(ctx, client, [...tests, ...prodRows], now);
  const due = restoreTestDue(c.restoreTest.months, config.schedules.restoreTest, tz, now, lastOk?.quarter);

  const { failuresByKind, failures24h } = failuresOf(shared.failures.filter((f) => f.client === client));
  const openAlerts = shared.alerts.filter((a) => a.client === client).length;
  const sizeDrop = isSizeDrop(sizes);

  const qaOverdue = unsigned.filter((u) => u.overdue);
  const { status, problems } = markOf([
    [!b, 'critical', 'no verified backup'],
    [Boolean(b) && !rpoOk, 'critical', `RPO breach (older than ${c.rpo})`],
    [openAlerts > 0, 'warning', `${openAlerts} open alert${openAlerts > 1 ? 's' : ''}`],
    [failures24h > 0, 'warning', `${failures24h} failure${failures24h > 1 ? 's' : ''} in 24 h`],
    [sizeDrop, 'warning', 'backup size dropped by more than half'],
    [Boolean(due?.overdue), 'warning', 'restore test overdue'],
    [qaOverdue.length > 0, 'warning', `${qaOverdue.length} QA signature${qaOverdue.length > 1 ? 's' : ''} overdue`],
  ]);

  return {
    client,
    status,
    problems,
    lastVerified: b ? { id: b.id, key: b.key ?? b.file, takenAt: new Date(b.taken_at).toISOString(), ageMs: ageMs!, sizeBytes: b.size_bytes === null ? null : Number(b.size_bytes) } : null,
    sizes,
    sparkline: sparkline(sizes),
    medianBytes: median(sizes),
    sizeDrop,
    rpo: { rpo: c.rpo, ok: rpoOk },
    restoreTest: {
      last: last ? { id: last.id, testedAt: new Date(last.tested_at).toISOString(), quarter: last.quarter, result: last.result, qaVerified: last.verified_by_qa !== null } : null,
      thisQuarter,
      thisQuarterDone,
      nextDue: due ? due.due.toISOString() : null,
      overdue: due?.overdue ?? false,
      awaitingQa: unsigned.map((u) => ({ id: u.row.id, quarter: u.row.quarter, environment: u.row.environment, testedAt: new Date(u.row.tested_at).toISOString(), overdue: u.overdue })),
    },
    pendingApprovals: shared.pending.get(client) ?? 0,
    failures24h,
    failuresByKind,
    openAlerts,
  };
}

/** Builds the digest and posts it (one message) to the default Slack channel / console; recorded as a `digest` run. */
export async function postDigest(ctx: Context, input: { trigger?: 'schedule' | 'cli' | 'slack' | 'system'; actor?: string; chart?: boolean } = {}): Promise<{ digest: Digest; ref?: MessageRef; runId: string; chart?: boolean }> {
  const run = await ctx.store.runs.start({ kind: 'digest', actor: input.actor ?? 'schedule', trigger: input.trigger ?? 'schedule', instance: ctx.instance, startedAt: ctx.clock.now() });
  try {
    const evidence = await checkEvidence(ctx, { reason: 'digest', actor: input.actor ?? 'schedule' });
    const digest = { ...(await buildDigest(ctx)), evidence: { ok: evidence.ok, summary: evidence.summary } };
    // The picture is a bonus: a chart that cannot be drawn never keeps the digest from being posted.
    const chart = input.chart ? await digestChart(ctx).catch((err: unknown) => { ctx.logger.warn({ err: errorMessage(err) }, 'the digest chart could not be drawn'); return undefined; }) : undefined;
    const ref = await ctx.reporter.report({ kind: 'digest', digest, ...(chart ? { chart } : {}) });
    await ctx.store.runs.finish(run.id, { status: 'ok', at: ctx.clock.now(), details: { clients: digest.clients.map((c) => ({ client: c.client, status: c.status })) } });
    return { digest, ref, runId: run.id, chart: chart !== undefined };
  } catch (err) {
    await ctx.store.runs.finish(run.id, { status: 'failed', error: String((err as Error)?.message ?? err), at: ctx.clock.now() });
    throw err;
  }
}
