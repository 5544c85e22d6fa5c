/** Durations in config are written like `7d`, `4h`, `30m`, `90s`, `1w` or combinations (`1d12h`). */
const UNIT_MS: Record<string, number> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
const DURATION_RE = /^(?:\d+(?:\.\d+)?[wdhms])+$/;

export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (!DURATION_RE.test(t)) return undefined;
  let total = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)([wdhms])/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total > 0 ? total : undefined;
}

/** Human form of a duration in ms: `3d 4h`, `12m`, `45s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'never';
  const neg = ms < 0;
  let rest = Math.abs(Math.round(ms / 1000));
  const parts: string[] = [];
  for (const [unit, secs] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / secs);
    if (n > 0 || (unit === 's' && parts.length === 0)) parts.push(`${n}${unit}`);
    rest -= n * secs;
    if (parts.length === 2) break;
  }
  return (neg ? '-' : '') + parts.join(' ');
}
