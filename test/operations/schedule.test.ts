import { describe, expect, test } from '@jest/globals';
import { fireInterval, latestFire, upcomingFire } from '../../src/operations/schedule.js';

/**
 * The one cron engine (cron-parser, the library that validated the config): fire instants in the
 * configured zone, across DST changes. Pure functions; the scheduler's timers and the fire claim use them.
 */
const fires = (cron: string, tz: string, from: string, n: number): string[] => {
  const out: string[] = [];
  let t = new Date(from);
  for (let i = 0; i < n; i++) {
    t = upcomingFire(cron, tz, t);
    out.push(t.toISOString());
  }
  return out;
};

describe('upcomingFire across DST changes', () => {
  test('"0 3 * * 0" in Europe/Madrid: Sundays 03:00 local, CET (UTC+1) before the spring change, CEST (UTC+2) after', () => {
    // DST starts Sunday 2026-03-29 at 02:00 CET → 03:00 CEST; 03:00 that day exists and is 01:00Z.
    expect(fires('0 3 * * 0', 'Europe/Madrid', '2026-03-16T00:00:00Z', 3)).toEqual([
      '2026-03-22T02:00:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-04-05T01:00:00.000Z',
    ]);
  });

  test('"0 3 * * 0" in Europe/Madrid across the autumn change (03:00 CEST → 02:00 CET on 2026-10-25)', () => {
    expect(fires('0 3 * * 0', 'Europe/Madrid', '2026-10-12T00:00:00Z', 3)).toEqual([
      '2026-10-18T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
      '2026-11-01T02:00:00.000Z',
    ]);
  });

  test('"0 6 * * 1#1" (first Monday) in America/New_York: 06:00 EST (UTC-5) in winter, EDT (UTC-4) in summer', () => {
    // DST starts 2026-03-08, ends 2026-11-01.
    expect(fires('0 6 * * 1#1', 'America/New_York', '2026-02-15T00:00:00Z', 3)).toEqual([
      '2026-03-02T11:00:00.000Z',
      '2026-04-06T10:00:00.000Z',
      '2026-05-04T10:00:00.000Z',
    ]);
    expect(fires('0 6 * * 1#1', 'America/New_York', '2026-09-15T00:00:00Z', 3)).toEqual([
      '2026-10-05T10:00:00.000Z',
      '2026-11-02T11:00:00.000Z',
      '2026-12-07T11:00:00.000Z',
    ]);
  });

  test('a first Monday is only the first: never the other Mondays of the month', () => {
    const all = fires('0 6 * * 1#1', 'Europe/Madrid', '2026-01-01T00:00:00Z', 12);
    for (const f of all) expect(new Date(f).getUTCDate()).toBeLessThanOrEqual(7);
    expect(new Set(all.map((f) => f.slice(0, 7))).size).toBe(12);
  });

  test('a local time skipped by the spring change fires once that day, moved forward by the lost hour', () => {
    // 02:30 does not exist in Madrid on 2026-03-29 (02:00 → 03:00): it fires at 03:30 CEST = 01:30Z.
    expect(fires('30 2 * * *', 'Europe/Madrid', '2026-03-28T00:00:00Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:30:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  test('a local time repeated by the autumn change fires once, at its first occurrence', () => {
    // 02:30 happens twice in Madrid on 2026-10-25 (00:30Z in CEST, 01:30Z in CET): one fire.
    expect(fires('30 2 * * *', 'Europe/Madrid', '2026-10-24T00:00:00Z', 3)).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  test('day-of-month and day-of-week both set mean either (cron\'s OR), as the config was validated', () => {
    // 2026-03-01 is a Sunday: the 1st, then every Monday.
    expect(fires('0 3 1 * 1', 'UTC', '2026-02-28T12:00:00Z', 3)).toEqual(['2026-03-01T03:00:00.000Z', '2026-03-02T03:00:00.000Z', '2026-03-09T03:00:00.000Z']);
  });
});

describe('the fire claim and the timers agree', () => {
  test('upcomingFire is strictly after now; latestFire at that instant is the same fire', () => {
    const at = new Date('2026-03-29T01:00:00Z');
    expect(upcomingFire('0 3 * * 0', 'Europe/Madrid', at)).toEqual(new Date('2026-04-05T01:00:00Z'));
    expect(upcomingFire('0 3 * * 0', 'Europe/Madrid', new Date(at.getTime() - 1))).toEqual(at);
    expect(latestFire('0 3 * * 0', 'Europe/Madrid', at)).toEqual(at);
    const firstMonday = new Date('2026-11-02T11:00:00Z');
    expect(latestFire('0 6 * * 1#1', 'America/New_York', new Date(firstMonday.getTime() + 200))).toEqual(firstMonday);
  });

  test('the interval of a weekly schedule across the spring change is one week less the lost hour', () => {
    expect(fireInterval('0 3 * * 0', 'Europe/Madrid', new Date('2026-03-29T01:00:00Z'))).toBe(7 * 86_400_000 - 3_600_000);
  });
});
