import { zonedParts } from '../../core/time.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Round numbers for a linear axis from 0 (or min) to at least max: 1, 2, 2.5 or 5 × 10^k apart. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max <= min) max = min + (min === 0 ? 1 : Math.abs(min));
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let v = start; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Milliseconds to add to a UTC instant to read the wall clock of `timeZone` at that instant. */
function zoneOffset(t: number, timeZone: string): number {
  const p = zonedParts(new Date(t), timeZone);
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) - Math.floor(t / 1000) * 1000;
}

/** The instant of a wall-clock time in a zone (month may overflow: Date.UTC normalises it). */
function zonedInstant(year: number, month: number, day: number, hour: number, timeZone: string): number {
  const guess = Date.UTC(year, month - 1, day, hour);
  const first = guess - zoneOffset(guess, timeZone);
  return guess - zoneOffset(first, timeZone);
}

export interface TimeTick { at: number; label: string }

type Step = { unit: 'hour' | 'day' | 'month'; n: number; approx: number };
const STEPS: Step[] = [
  { unit: 'hour', n: 1, approx: HOUR }, { unit: 'hour', n: 3, approx: 3 * HOUR }, { unit: 'hour', n: 6, approx: 6 * HOUR },
  { unit: 'hour', n: 12, approx: 12 * HOUR }, { unit: 'day', n: 1, approx: DAY }, { unit: 'day', n: 2, approx: 2 * DAY },
  { unit: 'day', n: 7, approx: 7 * DAY }, { unit: 'day', n: 14, approx: 14 * DAY }, { unit: 'month', n: 1, approx: 30.4 * DAY },
  { unit: 'month', n: 3, approx: 91 * DAY }, { unit: 'month', n: 6, approx: 182 * DAY }, { unit: 'month', n: 12, approx: 365 * DAY },
];

/** Ticks at round wall-clock times of `timeZone` (hours, midnights, first days of months), at most about `maxTicks`. */
export function timeTicks(from: number, to: number, timeZone: string, maxTicks = 8): TimeTick[] {
  if (!(to > from)) return [];
  const step = STEPS.find((s) => (to - from) / s.approx <= maxTicks) ?? STEPS[STEPS.length - 1]!;
  const p = zonedParts(new Date(from), timeZone);
  let y = Number(p.year);
  let m = Number(p.month);
  let d = Number(p.day);
  let h = step.unit === 'hour' ? Math.floor(Number(p.hour) / step.n) * step.n : 0;
  if (step.unit === 'month') { d = 1; m = Math.floor((m - 1) / step.n) * step.n + 1; }
  const ticks: TimeTick[] = [];
  for (let guard = 0; guard < 500; guard++) {
    const at = zonedInstant(y, m, d, h, timeZone);
    if (at > to) break;
    if (at >= from) {
      const q = zonedParts(new Date(at), timeZone);
      const label = step.unit === 'hour' ? `${q.month}-${q.day} ${q.hour}h` : step.unit === 'day' ? `${q.month}-${q.day}` : `${q.year}-${q.month}`;
      ticks.push({ at, label });
    }
    if (step.unit === 'hour') h += step.n;
    else if (step.unit === 'day') d += step.n;
    else m += step.n;
    // Normalise through Date.UTC so that day 32 or month 13 roll over.
    const n = new Date(Date.UTC(y, m - 1, d, h));
    y = n.getUTCFullYear(); m = n.getUTCMonth() + 1; d = n.getUTCDate(); h = n.getUTCHours();
  }
  return ticks;
}

/** Unit for an axis of byte sizes, chosen from its largest value (1024-based, as formatBytes). */
export function byteUnit(maxBytes: number): { unit: string; divisor: number } {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = Math.max(0, maxBytes);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return { unit: units[i]!, divisor: 1024 ** i };
}
