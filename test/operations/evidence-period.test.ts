import { monthPeriod, previousMonth, previousQuarter, quarterPeriod, reportPeriod } from '../../src/operations/evidence-period.js';

/** The period of an evidence report, in the configured time zone: quarters, months, day ranges, the default. */

const iso = (p: { from: Date; to: Date }) => [p.from.toISOString(), p.to.toISOString()];

test('a quarter and a month start at local midnight (UTC and Buenos Aires, −03:00)', () => {
  expect(iso(quarterPeriod('2026-Q1', 'UTC'))).toEqual(['2026-01-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z']);
  expect(iso(quarterPeriod('2026-q4', 'America/Argentina/Buenos_Aires'))).toEqual(['2026-10-01T03:00:00.000Z', '2027-01-01T03:00:00.000Z']);
  expect(quarterPeriod('2026-q4', 'UTC').label).toBe('2026-Q4');
  expect(iso(monthPeriod('2026-12', 'UTC'))).toEqual(['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
});

test('across a DST change the period still starts at local midnight (Europe/Madrid: +01:00 in March, +02:00 in April)', () => {
  expect(iso(monthPeriod('2026-03', 'Europe/Madrid'))).toEqual(['2026-02-28T23:00:00.000Z', '2026-03-31T22:00:00.000Z']);
});

test('the default is the last complete quarter; the previous month wraps the year', () => {
  expect(previousQuarter(new Date('2026-01-15T12:00:00Z'), 'UTC')).toBe('2025-Q4');
  expect(previousQuarter(new Date('2026-05-01T00:00:00Z'), 'UTC')).toBe('2026-Q1');
  // 00:30 UTC on April 1st is still March 31st in Buenos Aires: the last complete quarter there is 2025-Q4.
  expect(previousQuarter(new Date('2026-04-01T00:30:00Z'), 'America/Argentina/Buenos_Aires')).toBe('2025-Q4');
  expect(previousMonth(new Date('2026-01-01T07:00:00Z'), 'UTC')).toBe('2025-12');
  expect(reportPeriod({}, new Date('2026-05-20T10:00:00Z'), 'UTC')).toMatchObject({ label: '2026-Q1' });
});

test('--from / --to are days, both inclusive; one alone is completed sensibly', () => {
  const now = new Date('2026-05-20T10:00:00Z');
  expect(iso(reportPeriod({ from: '2026-02-01', to: '2026-02-28' }, now, 'UTC'))).toEqual(['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z']);
  expect(iso(reportPeriod({ from: '2026-05-01' }, now, 'UTC'))).toEqual(['2026-05-01T00:00:00.000Z', '2026-05-21T00:00:00.000Z']);
  expect(iso(reportPeriod({ to: '2026-05-10' }, now, 'UTC'))).toEqual(['2026-04-01T00:00:00.000Z', '2026-05-11T00:00:00.000Z']);
});

test('malformed input is refused with what is accepted', () => {
  const now = new Date('2026-05-20T10:00:00Z');
  expect(() => reportPeriod({ from: '2026-02-30' }, now, 'UTC')).toThrow('--from "2026-02-30" is not a date (accepted: YYYY-MM-DD, e.g. 2026-01-01)');
  expect(() => reportPeriod({ to: '20260210' }, now, 'UTC')).toThrow('--to "20260210" is not a date');
  expect(() => reportPeriod({ from: '2026-03-02', to: '2026-03-01' }, now, 'UTC')).toThrow('--from 2026-03-02 is after --to 2026-03-01');
  expect(() => quarterPeriod('2026-Q5', 'UTC')).toThrow('is not a quarter (accepted: YYYY-QN, e.g. 2026-Q1)');
  expect(() => monthPeriod('2026-13', 'UTC')).toThrow('is not a month (accepted: YYYY-MM');
});
