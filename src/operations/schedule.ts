import { CronExpressionParser } from 'cron-parser';

/**
 * Schedule arithmetic for the jobs, with cron-parser (the library that validated the config), so
 * that "when is this due", catch-up and the watchdog's interval all agree on one reading of a cron.
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

/**
 * The cron handed to bree. bree validates with cron-validate and schedules with `later`, which
 * rejects `1#1` (nth weekday) and `L`, and reads "day-of-month AND day-of-week" where cron means OR.
 * For such expressions bree gets a superset (every matching weekday, or every day) and the worker
 * runs only when cron-parser says the fire is new (claimFire), so the real schedule is still the config's.
 */
export function breeCron(expr: string): string {
  const f = expr.trim().split(/\s+/);
  if (f.length !== 5) return expr;
  let [min, hour, dom, mon, dow] = f as [string, string, string, string, string];
  const wild = (x: string) => x === '*' || x === '?';
  if (/[#L]/i.test(dow)) dow = dow.replace(/#\d+/g, '').replace(/(\d)L/gi, '$1');
  if (/[LW]/i.test(dom)) dom = '*';
  if (!wild(dom) && !wild(dow)) { dom = '*'; dow = '*'; }
  return [min, hour, dom === '?' ? '*' : dom, mon, dow === '?' ? '*' : dow].join(' ');
}
