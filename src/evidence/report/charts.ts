import { formatDuration } from '../../config/duration.js';
import { byteUnit } from '../chart/scale.js';
import { FAILURE_COLOR, timeChartSvg } from '../chart/svg-chart.js';
import type { ClientEvidence, EvidenceReportData } from './model.js';
import { recoveryPointSegments } from './rpo.js';
import type { ClientSummary } from './summary.js';
import type { labels as labelsOf } from './labels.js';

/** The three charts of a client's part of the report, as inline SVG strings. */

type L = ReturnType<typeof labelsOf>;
const BLUE = '#0072B2';
const ORANGE = '#E69F00';
const WIDTH = 720;

const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 1 : 0));

export function sizeAndDurationCharts(c: ClientEvidence, meta: EvidenceReportData['meta'], L: L): string[] {
  const x = { from: Date.parse(meta.period.from), to: Date.parse(meta.period.to), timeZone: meta.timezone };
  const ok = c.backups.filter((b) => b.result === 'OK');
  const failed = c.backups.filter((b) => b.result === 'Error');
  const { unit, divisor } = byteUnit(Math.max(0, ...ok.map((b) => b.sizeBytes ?? 0)));
  const size = timeChartSvg({
    width: WIDTH, height: 190, title: L.chartSize, x, y: { label: unit, format: num }, emptyText: L.noData,
    series: [{ name: L.chartSize, color: BLUE, dots: true, points: ok.map((b) => ({ at: Date.parse(b.takenAt), value: b.sizeBytes === null ? null : b.sizeBytes / divisor })) }],
    failures: failed.map((b) => ({ at: Date.parse(b.takenAt), value: b.sizeBytes === null ? null : b.sizeBytes / divisor })),
    legend: [{ label: L.chartSize, color: BLUE, mark: 'line' }, { label: L.failure, color: FAILURE_COLOR, mark: 'cross' }],
  });
  const secs = c.backups.map((b) => b.durationSeconds).filter((s): s is number => s !== null);
  const inMinutes = Math.max(0, ...secs) >= 120;
  const div = inMinutes ? 60 : 1;
  const duration = timeChartSvg({
    width: WIDTH, height: 170, title: L.chartDuration, x, y: { label: inMinutes ? L.minutes : L.seconds, format: num }, emptyText: L.noData,
    series: [{ name: L.chartDuration, color: ORANGE, dots: true, points: ok.map((b) => ({ at: Date.parse(b.takenAt), value: b.durationSeconds === null ? null : b.durationSeconds / div })) }],
    failures: failed.map((b) => ({ at: Date.parse(b.takenAt), value: b.durationSeconds === null ? null : b.durationSeconds / div })),
  });
  return [size, duration];
}

export function ageChart(c: ClientEvidence, s: ClientSummary, meta: EvidenceReportData['meta'], L: L): string {
  const unitMs = c.rpoMs <= 72 * 3_600_000 ? 3_600_000 : 86_400_000;
  const prior = c.lastVerifiedBeforePeriod ? [{ ...c.lastVerifiedBeforePeriod, result: 'OK' as const, verified: true }] : [];
  const segments = recoveryPointSegments([...prior, ...c.backups], { from: s.window.from, to: s.window.until });
  const points: Array<{ at: number; value: number | null }> = [];
  for (const seg of segments) {
    if (seg.takenAt === null) { points.push({ at: seg.from.getTime(), value: null }); continue; }
    const taken = seg.takenAt.getTime();
    points.push({ at: seg.from.getTime(), value: (seg.from.getTime() - taken) / unitMs }, { at: seg.to.getTime(), value: (seg.to.getTime() - taken) / unitMs });
  }
  const rpoLabel = `RPO ${formatDuration(c.rpoMs)}`;
  return timeChartSvg({
    width: WIDTH, height: 200, title: L.chartAge, hideTitle: true,
    x: { from: Date.parse(meta.period.from), to: Date.parse(meta.period.to), timeZone: meta.timezone },
    y: { label: unitMs === 3_600_000 ? L.hours : L.days, format: num }, emptyText: L.noData,
    series: [{ name: L.age, color: BLUE, points }],
    thresholds: [{ value: c.rpoMs / unitMs, label: rpoLabel }],
    bands: s.rpo.breaches.map((b) => ({ from: b.from, to: b.to, color: FAILURE_COLOR })),
    legend: [{ label: L.age, color: BLUE, mark: 'line' }, { label: rpoLabel, color: FAILURE_COLOR, mark: 'dash' }, { label: L.rpoBreach, color: FAILURE_COLOR, mark: 'band' }],
  });
}

export function rtoChart(c: ClientEvidence, meta: EvidenceReportData['meta'], L: L): string {
  const pts = (env: 'Test' | 'Prod') => c.restoreTests.filter((t) => t.environment === env).map((t) => ({ at: Date.parse(t.testedAt), value: t.restoreMinutes }));
  const rtoLabel = `RTO ${formatDuration(c.rtoMs)}`;
  return timeChartSvg({
    width: WIDTH, height: 190, title: L.chartRto, hideTitle: true,
    x: { from: Date.parse(meta.period.from), to: Date.parse(meta.period.to), timeZone: meta.timezone },
    y: { label: L.minutes, format: num }, emptyText: L.noData,
    series: [
      { name: L.restoreTest, color: BLUE, line: false, stems: true, labels: true, points: pts('Test') },
      { name: L.productionRestore, color: ORANGE, line: false, stems: true, labels: true, points: pts('Prod') },
    ],
    failures: c.restoreTests.filter((t) => t.result === 'Fail').map((t) => ({ at: Date.parse(t.testedAt), value: t.restoreMinutes })),
    thresholds: [{ value: c.rtoMs / 60_000, label: rtoLabel }],
    legend: [
      { label: L.restoreTest, color: BLUE, mark: 'dot' }, { label: L.productionRestore, color: ORANGE, mark: 'dot' },
      { label: rtoLabel, color: FAILURE_COLOR, mark: 'dash' }, { label: L.failure, color: FAILURE_COLOR, mark: 'cross' },
    ],
  });
}
