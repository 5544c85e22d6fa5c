const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'Etc/Universal', 'Etc/Zulu', 'Universal', 'Zulu', 'Etc/GMT', 'GMT']);
const formatters = new Map<string, Intl.DateTimeFormat>();
const two = (n: number) => String(n).padStart(2, '0');

/**
 * Calendar parts of an instant in a time zone. UTC (the SOP's default) is computed directly: the first
 * Intl.DateTimeFormat of a process costs ~30 ms of ICU start-up, paid by every CLI command otherwise.
 * Other zones use one cached formatter each.
 */
export function zonedParts(d: Date, timeZone: string): { year: string; month: string; day: string; hour: string; minute: string; second: string } {
  if (UTC_NAMES.has(timeZone)) {
    return {
      year: String(d.getUTCFullYear()).padStart(4, '0'), month: two(d.getUTCMonth() + 1), day: two(d.getUTCDate()),
      hour: two(d.getUTCHours()), minute: two(d.getUTCMinutes()), second: two(d.getUTCSeconds()),
    };
  }
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  const parts = f.formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '00';
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** Whether `tz` is a time zone name the runtime knows (UTC without starting ICU). */
export function isUtcName(tz: string): boolean {
  return UTC_NAMES.has(tz);
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
