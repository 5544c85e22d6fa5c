import { UserError } from '../core/errors.js';
import { zonedParts } from '../core/time.js';

/**
 * The period an evidence report covers, [from, to), in the configured time zone: a quarter ("2026-Q1"), a
 * month ("2026-03"), days (--from / --to, both inclusive), or by default the last complete quarter.
 */
export interface ReportPeriod { from: Date; to: Date; label: string }

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const QUARTER_RE = /^(\d{4})-Q([1-4])$/i;
const MONTH_RE = /^(\d{4})-(\d{2})$/;

/** The instant of local midnight of y-m-d in `tz` (months and days may overflow: Date.UTC normalises them). */
function zonedMidnight(y: number, m: number, d: number, tz: string): Date {
  const wall = Date.UTC(y, m - 1, d);
  let t = wall;
  // Two rounds settle the offset (also across a DST change at midnight).
  for (let i = 0; i < 3; i++) {
    const p = zonedParts(new Date(t), tz);
    const seen = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour) % 24, Number(p.minute), Number(p.second));
    const next = t + (wall - seen);
    if (next === t) break;
    t = next;
  }
  return new Date(t);
}

function day(text: string, what: string): { y: number; m: number; d: number } {
  const m = DAY_RE.exec(text);
  const bad = () => new UserError(`${what} "${text.slice(0, 40)}" is not a date (accepted: YYYY-MM-DD, e.g. 2026-01-01)`);
  if (!m) throw bad();
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) throw bad();
  return { y, m: mo, d };
}

export function quarterPeriod(quarter: string, tz: string): ReportPeriod {
  const m = QUARTER_RE.exec(quarter);
  if (!m) throw new UserError(`"${quarter.slice(0, 40)}" is not a quarter (accepted: YYYY-QN, e.g. 2026-Q1)`);
  const y = Number(m[1]);
  const q = Number(m[2]);
  return { from: zonedMidnight(y, (q - 1) * 3 + 1, 1, tz), to: zonedMidnight(y, q * 3 + 1, 1, tz), label: `${y}-Q${q}` };
}

export function monthPeriod(month: string, tz: string): ReportPeriod {
  const m = MONTH_RE.exec(month);
  const mo = m ? Number(m[2]) : 0;
  if (!m || mo < 1 || mo > 12) throw new UserError(`"${month.slice(0, 40)}" is not a month (accepted: YYYY-MM, e.g. 2026-03)`);
  return { from: zonedMidnight(Number(m[1]), mo, 1, tz), to: zonedMidnight(Number(m[1]), mo + 1, 1, tz), label: `${m[1]}-${m[2]}` };
}

/** The quarter before the one `now` falls in (in tz). */
export function previousQuarter(now: Date, tz: string): string {
  const p = zonedParts(now, tz);
  const q = Math.ceil(Number(p.month) / 3);
  return q === 1 ? `${Number(p.year) - 1}-Q4` : `${p.year}-Q${q - 1}`;
}

/** The month before the one `now` falls in (in tz), as YYYY-MM. */
export function previousMonth(now: Date, tz: string): string {
  const p = zonedParts(now, tz);
  const m = Number(p.month);
  return m === 1 ? `${Number(p.year) - 1}-12` : `${p.year}-${String(m - 1).padStart(2, '0')}`;
}

/**
 * The period of a quarter, a month, or `--from` / `--to` (days, both inclusive); with none, the last complete
 * quarter. With only --from, up to today (inclusive); with only --to, from the start of that day's quarter.
 * Refused when from is after to.
 */
export function reportPeriod(o: { from?: string; to?: string; quarter?: string; month?: string }, now: Date, tz: string): ReportPeriod {
  if (o.quarter) return quarterPeriod(o.quarter, tz);
  if (o.month) return monthPeriod(o.month, tz);
  if (!o.from && !o.to) return quarterPeriod(previousQuarter(now, tz), tz);
  const today = zonedParts(now, tz);
  const f = o.from ? day(o.from, '--from') : undefined;
  const t = o.to ? day(o.to, '--to') : { y: Number(today.year), m: Number(today.month), d: Number(today.day) };
  const start = f ?? { y: t.y, m: Math.floor((t.m - 1) / 3) * 3 + 1, d: 1 };
  const from = zonedMidnight(start.y, start.m, start.d, tz);
  const to = zonedMidnight(t.y, t.m, t.d + 1, tz);
  if (from.getTime() >= to.getTime()) throw new UserError(`--from ${o.from} is after --to ${o.to ?? '(today)'}: the period would be empty`);
  const iso = (x: { y: number; m: number; d: number }) => `${x.y}-${String(x.m).padStart(2, '0')}-${String(x.d).padStart(2, '0')}`;
  return { from, to, label: `${iso(start)} – ${iso(t)}` };
}
