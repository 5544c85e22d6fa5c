import { zonedParts, formatDateTime } from '../../src/core/time.js';
import { isTimezone } from '../../src/config/cron.js';

/** What Intl says, the reference the UTC shortcut must equal. */
function intlParts(d: Date, timeZone: string) {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '00';
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

describe('zoned calendar parts', () => {
  const instants = [
    new Date('1970-01-01T00:00:00Z'), new Date('2024-02-29T23:59:59Z'), new Date('2026-12-31T23:59:59.999Z'),
    new Date('2027-01-01T00:00:00Z'), new Date('2026-03-29T01:30:00Z'),
    ...Array.from({ length: 200 }, (_, i) => new Date(Date.UTC(2000, 0, 1) + i * 7_919_993_123)),
  ];

  it('UTC (and its aliases) computed without Intl equals what Intl gives, to the second', () => {
    for (const tz of ['UTC', 'Etc/UTC', 'GMT']) {
      for (const d of instants) expect(zonedParts(d, tz)).toEqual(intlParts(d, 'UTC'));
    }
  });

  it('other zones use Intl, the same answer on every call (one cached formatter)', () => {
    for (const tz of ['America/Argentina/Buenos_Aires', 'Europe/Madrid']) {
      for (const d of instants.slice(0, 20)) {
        expect(zonedParts(d, tz)).toEqual(intlParts(d, tz));
        expect(zonedParts(d, tz)).toEqual(intlParts(d, tz));
      }
    }
    expect(formatDateTime(new Date('2026-01-06T03:00:00Z'), 'America/Argentina/Buenos_Aires')).toBe('2026-01-06 00:00 America/Argentina/Buenos_Aires');
    expect(formatDateTime(new Date('2026-01-06T03:00:00Z'))).toBe('2026-01-06 03:00 UTC');
  });

  it('time zone names: UTC accepted at once, known zones through Intl, others refused', () => {
    expect(isTimezone('UTC')).toBe(true);
    expect(isTimezone('Europe/Madrid')).toBe(true);
    expect(isTimezone('Mars/Olympus')).toBe(false);
    expect(isTimezone('')).toBe(false);
  });
});
