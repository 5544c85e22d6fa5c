import { recoveryPointSegments, rpoCompliance } from '../../../src/evidence/report/rpo.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const t0 = Date.parse('2026-01-01T00:00:00Z');
const at = (days: number) => new Date(t0 + days * DAY);
const ok = (days: number, extra: Partial<{ verifiedAt: Date; deletedAt: Date; verified: boolean; result: 'OK' | 'Error' }> = {}) => ({
  takenAt: at(days), result: 'OK' as const, verified: true, ...extra,
});

describe('rpoCompliance', () => {
  test('no verified backup at all: 0 %, the whole window is a breach without a backup', () => {
    const r = rpoCompliance([], 3 * DAY, { from: at(0), to: at(10) });
    expect(r).toMatchObject({ measuredMs: 10 * DAY, metMs: 0, percent: 0, noBackupMs: 10 * DAY, maxAgeMs: null });
    expect(r.breaches).toEqual([{ from: at(0), to: at(10) }]);
  });

  test('daily verified backups against a 2-day RPO: 100 %', () => {
    const backups = Array.from({ length: 11 }, (_, i) => ok(i - 0.5));
    const r = rpoCompliance(backups, 2 * DAY, { from: at(0), to: at(10) });
    expect(r.percent).toBe(100);
    expect(r.breaches).toEqual([]);
    expect(r.maxAgeMs).toBe(DAY);
  });

  test('a 10-day gap against a 3-day RPO: met for 3 of 10 days, breach from day 3 to the next backup', () => {
    const r = rpoCompliance([ok(0), ok(10)], 3 * DAY, { from: at(0), to: at(12) });
    expect(r.metMs).toBe(3 * DAY + 2 * DAY);
    expect(r.percent).toBeCloseTo((5 / 12) * 100, 10);
    expect(r.breaches).toEqual([{ from: at(3), to: at(10) }]);
    expect(r.maxAgeMs).toBe(10 * DAY);
  });

  test('failed, unverified and Error rows never count', () => {
    const r = rpoCompliance([ok(1, { verified: false }), ok(2, { result: 'Error' }), { takenAt: at(3), result: 'Error' as const, verified: true }], 5 * DAY, { from: at(0), to: at(4) });
    expect(r.percent).toBe(0);
    expect(r.noBackupMs).toBe(4 * DAY);
  });

  test('a backup counts from its verification, and is measured from when it was taken', () => {
    // Taken at 0, verified 2 h later, RPO 1 day: no backup for 2 h, then met until day 1.
    const r = rpoCompliance([ok(0, { verifiedAt: new Date(t0 + 2 * HOUR) })], DAY, { from: at(0), to: at(2) });
    expect(r.noBackupMs).toBe(2 * HOUR);
    expect(r.metMs).toBe(DAY - 2 * HOUR);
    expect(r.breaches).toEqual([{ from: at(0), to: new Date(t0 + 2 * HOUR) }, { from: at(1), to: at(2) }]);
  });

  test('a backup deleted by retention stops counting: the older one still kept takes over', () => {
    const segs = recoveryPointSegments([ok(0), ok(5, { deletedAt: at(6) })], { from: at(5), to: at(8) });
    expect(segs).toEqual([{ from: at(5), to: at(6), takenAt: at(5) }, { from: at(6), to: at(8), takenAt: at(0) }]);
    const r = rpoCompliance([ok(0), ok(5, { deletedAt: at(6) })], 3 * DAY, { from: at(5), to: at(8) });
    expect(r.metMs).toBe(DAY);
  });

  test('the last verified backup before the window sets the age at its start', () => {
    const r = rpoCompliance([ok(-2)], 3 * DAY, { from: at(0), to: at(2) });
    expect(r.metMs).toBe(DAY);
    expect(r.breaches).toEqual([{ from: at(1), to: at(2) }]);
  });

  test('an empty window has no percentage; a non-positive RPO is refused', () => {
    expect(rpoCompliance([ok(0)], DAY, { from: at(1), to: at(1) }).percent).toBeNull();
    expect(() => rpoCompliance([], 0, { from: at(0), to: at(1) })).toThrow(/RPO must be a positive number/);
  });

  test('ISO strings work as well as Dates', () => {
    const r = rpoCompliance([{ takenAt: '2026-01-01T00:00:00Z', result: 'OK', verified: true, verifiedAt: null, deletedAt: null }], DAY, { from: '2026-01-01T00:00:00Z', to: '2026-01-03T00:00:00Z' });
    expect(r.percent).toBe(50);
  });
});
