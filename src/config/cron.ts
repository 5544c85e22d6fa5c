import { CronExpressionParser } from 'cron-parser';
import { isUtcName } from '../core/time.js';

/** True when `expr` is a 5-field cron expression (minute hour day month weekday). */
export function isCronExpression(expr: string): boolean {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return false;
  try {
    CronExpressionParser.parse(expr, { strict: false });
    return true;
  } catch {
    return false;
  }
}

export function isTimezone(tz: string): boolean {
  if (isUtcName(tz)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The last time `expr` fired at or before `now`, in timezone `tz`. */
export function previousFire(expr: string, tz: string, now: Date): Date {
  const it = CronExpressionParser.parse(expr, { tz, currentDate: new Date(now.getTime() + 1000) });
  return it.prev().toDate();
}

/** The next time `expr` fires strictly after `now`, in timezone `tz`. */
export function nextFire(expr: string, tz: string, now: Date): Date {
  const it = CronExpressionParser.parse(expr, { tz, currentDate: now });
  return it.next().toDate();
}
