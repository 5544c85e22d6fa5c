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
