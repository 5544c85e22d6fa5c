/**
 * "RPO met": the share of a period during which the last verified backup was younger than the RPO.
 *
 * At an instant t the recovery point is the newest backup that, at t, was verified and still kept:
 * result OK, verified, verified (verifiedAt, else takenAt) at or before t, and not yet deleted by
 * retention (deletedAt after t). Its age is t − takenAt (the data since then would be lost), the same
 * measure the watchdog alerts on (src/operations/watchdog.ts: breach when age > RPO). With no such backup
 * the RPO is not met. Pure functions: no clock, no database.
 */

export interface RpoBackup {
  takenAt: Date | string;
  result: 'OK' | 'Error';
  verified: boolean;
  verifiedAt?: Date | string | null;
  deletedAt?: Date | string | null;
}

export interface RpoWindow { from: Date | string; to: Date | string }

export interface RpoCompliance {
  /** Milliseconds measured (to − from, never negative). */
  measuredMs: number;
  /** Milliseconds during which the last verified backup was at most the RPO old. */
  metMs: number;
  /** metMs / measuredMs × 100, or null for an empty window. */
  percent: number | null;
  /** The oldest the last verified backup got within the window (null when there was none at some point: see noBackupMs). */
  maxAgeMs: number | null;
  /** Milliseconds with no verified backup at all. */
  noBackupMs: number;
  /** Intervals in which the RPO was not met, merged, in order. */
  breaches: Array<{ from: Date; to: Date }>;
}

/** One piece of the age curve: between `from` and `to` the recovery point is `takenAt` (null: there is none). */
export interface AgeSegment { from: Date; to: Date; takenAt: Date | null }

const ms = (d: Date | string): number => (d instanceof Date ? d.getTime() : Date.parse(d));

/** The window cut into pieces within which the recovery point does not change. */
export function recoveryPointSegments(backups: RpoBackup[], window: RpoWindow): AgeSegment[] {
  const from = ms(window.from);
  const to = ms(window.to);
  if (!(to > from)) return [];
  const usable = backups
    .filter((b) => b.result === 'OK' && b.verified)
    .map((b) => {
      const taken = ms(b.takenAt);
      const availableFrom = Math.max(taken, b.verifiedAt ? ms(b.verifiedAt) : taken);
      const until = b.deletedAt ? ms(b.deletedAt) : Infinity;
      return { taken, availableFrom, until };
    })
    .filter((b) => Number.isFinite(b.taken) && b.until > b.availableFrom);
  const cuts = new Set<number>([from, to]);
  for (const b of usable) {
    if (b.availableFrom > from && b.availableFrom < to) cuts.add(b.availableFrom);
    if (b.until > from && b.until < to) cuts.add(b.until);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const segments: AgeSegment[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i]!;
    const b = points[i + 1]!;
    let newest: number | null = null;
    for (const u of usable) if (u.availableFrom <= a && u.until > a && (newest === null || u.taken > newest)) newest = u.taken;
    const last = segments[segments.length - 1];
    if (last && (last.takenAt?.getTime() ?? null) === newest) last.to = new Date(b);
    else segments.push({ from: new Date(a), to: new Date(b), takenAt: newest === null ? null : new Date(newest) });
  }
  return segments;
}

export function rpoCompliance(backups: RpoBackup[], rpoMs: number, window: RpoWindow): RpoCompliance {
  if (!(rpoMs > 0)) throw new RangeError(`RPO must be a positive number of milliseconds (got ${rpoMs})`);
  const segments = recoveryPointSegments(backups, window);
  const measuredMs = Math.max(0, ms(window.to) - ms(window.from));
  let metMs = 0;
  let noBackupMs = 0;
  let maxAgeMs: number | null = null;
  const breaches: Array<{ from: Date; to: Date }> = [];
  const breach = (a: number, b: number) => {
    if (b <= a) return;
    const last = breaches[breaches.length - 1];
    if (last && last.to.getTime() >= a) last.to = new Date(Math.max(b, last.to.getTime()));
    else breaches.push({ from: new Date(a), to: new Date(b) });
  };
  for (const s of segments) {
    const a = s.from.getTime();
    const b = s.to.getTime();
    if (s.takenAt === null) {
      noBackupMs += b - a;
      breach(a, b);
      continue;
    }
    const deadline = s.takenAt.getTime() + rpoMs;
    metMs += Math.max(0, Math.min(b, deadline) - a);
    breach(Math.max(a, deadline), b);
    const age = b - s.takenAt.getTime();
    if (maxAgeMs === null || age > maxAgeMs) maxAgeMs = age;
  }
  return { measuredMs, metMs, percent: measuredMs > 0 ? (metMs / measuredMs) * 100 : null, maxAgeMs, noBackupMs, breaches };
}
