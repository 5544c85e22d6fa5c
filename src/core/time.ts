/** Calendar parts of an instant in a time zone. */
export function zonedParts(d: Date, timeZone: string): { year: string; month: string; day: string; hour: string; minute: string; second: string } {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '00';
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

export function formatDate(d: Date, timeZone = 'UTC'): string {
  const p = zonedParts(d, timeZone);
  return `${p.year}-${p.month}-${p.day}`;
}

export function formatTime(d: Date, timeZone = 'UTC'): string {
  const p = zonedParts(d, timeZone);
  return `${p.hour}:${p.minute}`;
}

/** `2026-01-06 03:00 UTC` */
export function formatDateTime(d: Date, timeZone = 'UTC'): string {
  return `${formatDate(d, timeZone)} ${formatTime(d, timeZone)} ${timeZone}`;
}

export function formatBytes(n: number | string | null | undefined): string {
  const v = Number(n ?? 0);
  if (!Number.isFinite(v) || v < 1024) return `${v} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let x = v / 1024;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) { x /= 1024; i++; }
  return `${x.toFixed(x < 10 ? 2 : 1)} ${units[i]}`;
}

/** Injectable clock: tests pass a fake one. */
export interface Clock { now(): Date }
export const systemClock: Clock = { now: () => new Date() };
