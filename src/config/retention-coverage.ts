import { CronExpressionParser } from 'cron-parser';
import type { Config, ClientConfig } from './schema.js';

const DAY = 86_400_000;

/** What a client's scheduled retention keeps, from its schedule and `retention.scheduled`. */
export interface RetentionCoverage {
  /** Median time between two scheduled backups. */
  intervalDays: number;
  /** Scheduled backups kept: the newest `keep` that are at most `days` old. */
  backups: number;
  /** Days of scheduled backups kept. */
  days: number;
  weekly: boolean;
}

/**
 * Scheduled backups are kept while among the newest `keep` AND at most `days` old (core/retention.ts rule 3),
 * so the history kept is min(days, keep × interval) and the count min(keep, days / interval + 1).
 */
export function retentionCoverage(c: Pick<ClientConfig, 'schedule' | 'retention'>, timezone = 'UTC'): RetentionCoverage {
  const it = CronExpressionParser.parse(c.schedule, { currentDate: new Date('2026-01-05T00:00:00Z'), tz: timezone, strict: false });
  const fires: number[] = [];
  for (let i = 0; i < 15; i++) fires.push(it.next().getTime());
  const gaps = fires.slice(1).map((t, i) => t - fires[i]!).sort((a, b) => a - b);
  const intervalDays = gaps[Math.floor(gaps.length / 2)]! / DAY;
  const { days, keep } = c.retention.scheduled;
  return {
    intervalDays,
    backups: Math.min(keep, Math.floor(days / intervalDays) + 1),
    days: Math.min(days, keep * intervalDays),
    weekly: Math.abs(intervalDays - 7) < 0.5,
  };
}

/**
 * Runbook §1: 30 days of daily backups; SOP-001 §4: 26 weekly ones. A retention that keeps fewer is a
 * warning with the numbers (at config load and in `doctor`), not an error: the operator may mean it.
 */
export function retentionWarnings(config: Pick<Config, 'clients' | 'timezone'>): Array<{ client: string; message: string }> {
  const out: Array<{ client: string; message: string }> = [];
  for (const [name, c] of Object.entries(config.clients)) {
    const cov = retentionCoverage(c, config.timezone);
    const { days, keep } = c.retention.scheduled;
    const every = cov.intervalDays >= 1 ? `${round(cov.intervalDays)} day(s)` : `${round(cov.intervalDays * 24)} h`;
    const policy = `retention.scheduled { days: ${days}, keep: ${keep} } with a backup every ${every} (${c.schedule})`;
    if (cov.days < 30) out.push({ client: name, message: `clients.${name}: ${policy} keeps ${round(cov.days)} days of scheduled backups, fewer than the 30 days the runbook asks for (raise keep to ${Math.ceil(30 / cov.intervalDays)} and days to 30 or more)` });
    if (cov.weekly && cov.backups < 26) out.push({ client: name, message: `clients.${name}: ${policy} keeps ${cov.backups} weekly backups, fewer than the 26 SOP-001 §4 asks for (keep: 26, days: 182 or more)` });
  }
  return out;
}

const round = (n: number) => Math.round(n * 10) / 10;
