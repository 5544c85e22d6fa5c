import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderAsync } from '@resvg/resvg-js';
import { z } from 'zod';
import { OperationError } from '../../core/errors.js';
import { formatDate } from '../../core/time.js';
import { byteUnit } from './scale.js';
import { FAILURE_COLOR, timeChartSvg } from './svg-chart.js';

/**
 * The daily digest's picture (issue 19): backup size per day for the last 30 days, one line per client,
 * failures marked. Rendered in-process: a hand-written SVG (./svg-chart.ts) rasterised by resvg
 * (@resvg/resvg-js, a prebuilt native binary shipped inside the npm package), off the event loop.
 * Text uses the bundled font ./fonts/DejaVuSansSubset.ttf only, so the PNG looks the same on a host
 * without any fonts installed (a slim container) and system fonts are not scanned (~130 ms).
 */

const CHART_FONT_FAMILY = 'DejaVu Sans Subset';
const FONT_FILE = fileURLToPath(new URL('./fonts/DejaVuSansSubset.ttf', import.meta.url));

/** Line colours (Okabe–Ito, without its red: red marks failures). After these, lines repeat dashed. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#000000', '#8C6D31', '#7F7F7F'];

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day like 2026-03-01');
const digestSeriesSchema = z.array(z.strictObject({
  client: z.string().min(1),
  days: z.array(z.strictObject({
    date: day,
    /** Size of the day's last successful backup; null when there was none. */
    sizeBytes: z.number().nonnegative().nullable(),
    /** Failed backups that day. */
    failures: z.number().int().nonnegative().default(0),
  })),
}));
export type DigestSeries = z.input<typeof digestSeriesSchema>;

const optionsSchema = z.strictObject({
  width: z.number().int().min(200).max(4000),
  height: z.number().int().min(120).max(4000),
  lang: z.enum(['es', 'en']).default('en'),
  title: z.string().optional(),
  /** First and last day shown (default: the days present in the series). */
  from: day.optional(),
  to: day.optional(),
});
export type DigestChartOptions = z.input<typeof optionsSchema>;

const TEXT = {
  es: { title: 'Tamaño del backup por día (últimos 30 días)', failure: 'falla', empty: 'sin backups en el período' },
  en: { title: 'Backup size per day (last 30 days)', failure: 'failure', empty: 'no backups in the period' },
} as const;

const dayStart = (d: string) => Date.parse(`${d}T00:00:00Z`);

function invalid(what: string, error: z.ZodError): never {
  throw new OperationError(`invalid ${what}: ${error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
}

/** 1, 10 and 100 of each 1024-based unit, from the one at or below lo to the one at or above hi. */
function byteLogTicks(lo: number, hi: number): number[] {
  const all: number[] = [];
  for (let u = 0; u <= 4; u++) for (const m of [1, 10, 100]) all.push(m * 1024 ** u);
  const first = [...all].reverse().find((v) => v <= lo) ?? all[0]!;
  const last = all.find((v) => v >= hi) ?? all[all.length - 1]!;
  return all.filter((v) => v >= first && v <= last);
}

function shortBytes(v: number): string {
  const { unit, divisor } = byteUnit(v);
  const n = v / divisor;
  return `${Number.isInteger(n) ? n : n.toFixed(1)} ${unit}`;
}

/** The chart as SVG (what the PNG is rasterised from). */
export function digestChartSvg(input: DigestSeries, options: DigestChartOptions): string {
  const s = digestSeriesSchema.safeParse(input);
  if (!s.success) invalid('digest series', s.error);
  const o = optionsSchema.safeParse(options);
  if (!o.success) invalid('digest chart options', o.error);
  const series = s.data;
  const opts = o.data;
  const text = TEXT[opts.lang];
  const allDays = series.flatMap((c) => c.days.map((d) => d.date)).sort();
  const first = opts.from ?? allDays[0] ?? formatDate(new Date());
  const last = opts.to ?? allDays[allDays.length - 1] ?? first;
  const from = dayStart(first);
  const to = dayStart(last) + 86_400_000;
  const sizes = series.flatMap((c) => c.days.map((d) => d.sizeBytes)).filter((v): v is number => v !== null && v > 0);
  const maxBytes = Math.max(0, ...sizes);
  // Clients whose backups differ by orders of magnitude share a logarithmic axis, so the small ones do not lie flat on 0.
  const log = sizes.length > 0 && maxBytes / Math.min(...sizes) > 10;
  const { unit, divisor } = log ? { unit: '', divisor: 1 } : byteUnit(maxBytes);
  const scaled = (v: number | null) => (v === null ? null : v / divisor);
  const failures: Array<{ at: number; value: number | null; color: string }> = [];
  const lines = series.map((c, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const days = [...c.days].sort((a, b) => a.date.localeCompare(b.date));
    let lastValue: number | null = null;
    for (const d of days) {
      const value = scaled(d.sizeBytes);
      if (value !== null) lastValue = value;
      if (d.failures > 0) failures.push({ at: dayStart(d.date) + 43_200_000, value: value ?? lastValue, color: FAILURE_COLOR });
    }
    return {
      name: c.client, color, dots: true, dash: i >= PALETTE.length ? '6 3' : undefined,
      // Days without a backup are skipped, not drawn as a gap: the line joins the days that have one.
      points: days.filter((d) => d.sizeBytes !== null).map((d) => ({ at: dayStart(d.date) + 43_200_000, value: scaled(d.sizeBytes) })),
    };
  });
  return timeChartSvg({
    width: opts.width, height: opts.height, background: true, fontFamily: CHART_FONT_FAMILY,
    title: opts.title ?? text.title,
    x: { from, to, timeZone: 'UTC' },
    y: log
      ? { label: '', log: true, ticks: byteLogTicks(Math.min(...sizes), maxBytes), format: shortBytes }
      : { label: unit, format: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)) },
    series: lines, failures, emptyText: text.empty,
    legend: [...lines.map((l) => ({ label: l.name, color: l.color, mark: l.dash ? 'dash' as const : 'line' as const })), { label: text.failure, color: FAILURE_COLOR, mark: 'cross' as const }],
  });
}

/** Rasterises an SVG made by this module to PNG with the bundled font (no browser, no system fonts). */
export async function rasteriseSvg(svg: string, width: number): Promise<Buffer> {
  if (!existsSync(FONT_FILE)) {
    throw new OperationError(`the chart font ${FONT_FILE} is missing: the build must copy src/evidence/chart/fonts next to the compiled chart code`);
  }
  const image = await renderAsync(svg, {
    fitTo: { mode: 'width', value: width },
    background: '#ffffff',
    font: { fontFiles: [FONT_FILE], loadSystemFonts: false, defaultFontFamily: CHART_FONT_FAMILY, sansSerifFamily: CHART_FONT_FAMILY },
  });
  return image.asPng();
}

/** The digest chart as a PNG of exactly width × height pixels. */
export async function renderDigestChartPng(series: DigestSeries, options: DigestChartOptions): Promise<Buffer> {
  return rasteriseSvg(digestChartSvg(series, options), options.width);
}

/**
 * The digest series from backup-register rows: per client and day (in `timeZone`) of the `days` days up to
 * `now`, the size of the day's last successful backup and the number of failed ones.
 */
export function digestSeriesFromBackups(
  rows: Array<{ client: string; takenAt: Date | string; sizeBytes: number | string | null; result: 'OK' | 'Error' }>,
  o: { now: Date; days?: number; timeZone?: string; clients?: string[] },
): DigestSeries {
  const n = o.days ?? 30;
  const tz = o.timeZone ?? 'UTC';
  const today = formatDate(o.now, tz);
  const dates: string[] = [];
  for (let i = n - 1; i >= 0; i--) dates.push(formatDate(new Date(dayStart(today) - i * 86_400_000), 'UTC'));
  const wanted = new Set(dates);
  const clients = o.clients ?? [...new Set(rows.map((r) => r.client))].sort();
  return clients.map((client) => {
    const byDay = new Map<string, { size: number | null; sizeAt: number; failures: number }>();
    for (const r of rows) {
      if (r.client !== client) continue;
      const at = r.takenAt instanceof Date ? r.takenAt : new Date(r.takenAt);
      const d = formatDate(at, tz);
      if (!wanted.has(d)) continue;
      const e = byDay.get(d) ?? { size: null, sizeAt: -Infinity, failures: 0 };
      if (r.result === 'Error') e.failures++;
      else if (r.sizeBytes !== null && at.getTime() >= e.sizeAt) { e.size = Number(r.sizeBytes); e.sizeAt = at.getTime(); }
      byDay.set(d, e);
    }
    return { client, days: dates.map((date) => ({ date, sizeBytes: byDay.get(date)?.size ?? null, failures: byDay.get(date)?.failures ?? 0 })) };
  });
}
