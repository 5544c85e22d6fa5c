import { CronExpressionParser } from 'cron-parser';

/**
 * Schedule arithmetic for the jobs, with cron-parser (the library that validated the config): the
 * scheduler's timers, the fire claim, catch-up and the watchdog's interval all read a cron here, in
 * config.timezone, so there is one reading of it (nth weekday `1#1`, `L`, day-of-month OR
 * day-of-week). Fires are absolute instants: across a DST change a time that does not exist that day
 * (spring forward) fires once, moved forward by the lost hour (02:30 → 03:30), and a time that happens
 * twice (fall back) fires once, at its first occurrence (test/operations/schedule.test.ts).
 */

/** The latest fire of `expr` at or before `now` (1 s tolerance for a timer that fires a hair early). */
export function latestFire(expr: string, tz: string, now: Date): Date {
  return CronExpressionParser.parse(expr, { tz, currentDate: new Date(now.getTime() + 1000) }).prev().toDate();
}

/** The next fire strictly after `now`. */
export function upcomingFire(expr: string, tz: string, now: Date): Date {
  return CronExpressionParser.parse(expr, { tz, currentDate: now }).next().toDate();
}

/** The schedule's interval: the time between its two latest fires (a weekly cron → 7 days). */
export function fireInterval(expr: string, tz: string, now: Date): number {
  const it = CronExpressionParser.parse(expr, { tz, currentDate: new Date(now.getTime() + 1000) });
  const a = it.prev().getTime();
  const b = it.prev().getTime();
  return a - b;
}
