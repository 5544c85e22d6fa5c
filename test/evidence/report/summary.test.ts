import { parseEvidenceReportData } from '../../../src/evidence/report/model.js';
import { quartersBetween, summarizeClient } from '../../../src/evidence/report/summary.js';
import { makeFixture } from './fixture.js';

/** The summary figures, computed from the rows the report shows. */

const DAY = 86_400_000;

test('figures of the fixture quarter, per client', () => {
  const data = parseEvidenceReportData(makeFixture().data);
  const [conitrack, lab] = data.clients.map((c) => summarizeClient(c, data.meta));

  expect(conitrack!.backups).toEqual({ taken: 46, verified: 43, failed: 3, unverified: 0 });
  expect(lab!.backups).toEqual({ taken: 14, verified: 13, failed: 1, unverified: 0 });

  // conitrack (RPO 3 d): verified on Jan 18 03:05 and next on Jan 26 03:05: 5 days over the RPO, out of the quarter (90 days).
  expect(conitrack!.rpo.breaches).toEqual([{ from: new Date('2026-01-21T03:00:00Z'), to: new Date('2026-01-26T03:05:00Z') }]);
  expect(conitrack!.rpo.percent).toBeCloseTo(100 * (1 - (5 * DAY + 5 * 60_000) / (90 * DAY)), 6);
  // laboratorio-norte (RPO 7 d): Feb 22 03:00, then the manual one verified Mar 4 14:30. And every Sunday a weekly
  // backup against a 7-day RPO is late by its 20 minutes of verification: the last *verified* backup is then 7 d 20 min old.
  const long = lab!.rpo.breaches.filter((b) => b.to.getTime() - b.from.getTime() > 3_600_000);
  expect(long).toEqual([{ from: new Date('2026-03-01T03:00:00Z'), to: new Date('2026-03-04T14:30:00Z') }]);
  expect(lab!.rpo.breaches.filter((b) => !long.includes(b)).map((b) => (b.to.getTime() - b.from.getTime()) / 60_000)).toEqual(Array(11).fill(20));
  expect(lab!.rpo.maxAgeMs).toBe(Date.parse('2026-03-04T14:30:00Z') - Date.parse('2026-02-22T03:00:00Z'));

  expect(conitrack!.quarters).toEqual([{ quarter: '2026-Q1', tests: 2, ok: 2, failed: 0, qaSigned: 2, qaSigners: ['María José Pérez'], maxMinutes: 14 }]);
  expect(lab!.quarters).toEqual([{ quarter: '2026-Q1', tests: 2, ok: 1, failed: 1, qaSigned: 1, qaSigners: ['Carlos QA'], maxMinutes: 251 }]);
  expect(lab!.overRto).toBe(1);
  expect(conitrack!.overRto).toBe(0);

  expect(conitrack!.productionRestores.map((p) => [p.id, p.requestedBy, p.decidedBy, p.decidedRole, p.status])).toEqual([
    ['6', 'Juan Operador', 'Sofía Dueña', 'System Owner', 'rolled_back'],
    ['7', 'Juan Operador', 'Sofía Dueña', 'System Owner', 'completed'],
  ]);
  expect(lab!.productionRestores.map((p) => [p.id, p.decision, p.decidedBy])).toEqual([['8', 'rejected', 'Pedro Gerente']]);

  expect(conitrack!.incidents).toEqual({ open: 0, closed: 3, restoreIncidents: 1 });
  expect(lab!.incidents).toEqual({ open: 1, closed: 1, restoreIncidents: 0 });
  expect(conitrack!.brokenRows).toBe(1);
  expect(lab!.brokenRows).toBe(0);
});

test('the period is measured only up to when the report was generated', () => {
  const { data } = makeFixture();
  const d = parseEvidenceReportData({ ...data, meta: { ...data.meta, generatedAt: '2026-02-01T00:00:00.000Z' } });
  const s = summarizeClient(d.clients[0]!, d.meta);
  expect(s.window.until).toEqual(new Date('2026-02-01T00:00:00Z'));
  expect(s.rpo.measuredMs).toBe(31 * DAY);
});

test('every quarter the period touches is listed, those without a test too', () => {
  expect(quartersBetween(new Date('2025-11-15T00:00:00Z'), new Date('2026-04-01T00:00:00Z'), 'UTC')).toEqual(['2025-Q4', '2026-Q1']);
  expect(quartersBetween(new Date('2026-01-01T00:00:00Z'), new Date('2026-04-01T00:00:00Z'), 'UTC')).toEqual(['2026-Q1']);
  // 2026-04-01 01:00 UTC is still March 31 in Buenos Aires.
  expect(quartersBetween(new Date('2026-03-31T12:00:00Z'), new Date('2026-04-01T02:00:00Z'), 'America/Argentina/Buenos_Aires')).toEqual(['2026-Q1']);
  const { data } = makeFixture();
  const d = parseEvidenceReportData({ ...data, meta: { ...data.meta, period: { from: '2025-10-01T00:00:00.000Z', to: '2026-04-01T00:00:00.000Z' } } });
  expect(summarizeClient(d.clients[0]!, d.meta).quarters.map((q) => [q.quarter, q.tests])).toEqual([['2025-Q4', 0], ['2026-Q1', 2]]);
});
