import { escapeXml } from './escape.js';
import { niceTicks, timeTicks } from './scale.js';

/**
 * One small, dependency-free time chart as an SVG string: lines and/or dots per series, horizontal threshold
 * lines (RPO, RTO), shaded bands (breaches) and failure marks (a cross on the time axis, or on the series
 * value when known). Used inline in the HTML report and rasterised to PNG for the Slack digest; all text is
 * escaped. Colours and marks differ in shape as well as colour, so a grey-scale print still tells them apart.
 */

interface ChartPoint { at: Date | number; value: number | null }

interface ChartSeries {
  name: string;
  color: string;
  points: ChartPoint[];
  /** Join the points with a line (a null value breaks it). Default true. */
  line?: boolean;
  /** Draw a dot at each point. Default false. */
  dots?: boolean;
  /** A vertical stem from 0 to each point (lollipop). Default false. */
  stems?: boolean;
  dash?: string;
  /** Value labels above the points. */
  labels?: boolean;
}

export interface TimeChartSpec {
  width: number;
  height: number;
  title?: string;
  /** Keep the title for screen readers (<title>, aria-label) but do not draw it (the page shows a caption). */
  hideTitle?: boolean;
  x: { from: Date | number; to: Date | number; timeZone: string };
  /** `log`: a logarithmic axis (for sizes that differ by orders of magnitude); `ticks` overrides the computed ones. */
  y: { label: string; max?: number; format?: (v: number) => string; log?: boolean; ticks?: number[] };
  series: ChartSeries[];
  thresholds?: Array<{ value: number; label: string; color?: string }>;
  bands?: Array<{ from: Date | number; to: Date | number; color: string }>;
  failures?: Array<{ at: Date | number; value?: number | null; color?: string }>;
  legend?: Array<{ label: string; color: string; mark: 'line' | 'dot' | 'cross' | 'dash' | 'band' }>;
  /** Text shown in the plot when there is nothing to draw. */
  emptyText?: string;
  fontFamily?: string;
  /** An opaque white background (for PNG); the HTML report leaves it transparent. */
  background?: boolean;
}

export const FAILURE_COLOR = '#c0392b';
const AXIS = '#555';
const GRID = '#e3e3e3';
const DEFAULT_FONT = "'DejaVu Sans', 'Liberation Sans', Arial, sans-serif";

const t = (d: Date | number) => (d instanceof Date ? d.getTime() : d);
const r1 = (n: number) => Math.round(n * 10) / 10;

function cross(x: number, y: number, size: number, color: string): string {
  return `<path d="M${r1(x - size)} ${r1(y - size)}L${r1(x + size)} ${r1(y + size)}M${r1(x - size)} ${r1(y + size)}L${r1(x + size)} ${r1(y - size)}" stroke="${color}" stroke-width="2" stroke-linecap="round"/>`;
}

/** Powers of ten (1, 10, 100, …) spanning [lo, hi]. */
function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(Math.max(lo, Number.MIN_VALUE)));
  const b = Math.ceil(Math.log10(Math.max(hi, lo * 10)));
  const ticks: number[] = [];
  for (let k = a; k <= b; k++) ticks.push(10 ** k);
  return ticks;
}

export function timeChartSvg(spec: TimeChartSpec): string {
  const { width, height } = spec;
  const font = spec.fontFamily ?? DEFAULT_FONT;
  const fmt = spec.y.format ?? ((v: number) => String(v));
  const legendRows = spec.legend?.length ? Math.ceil(spec.legend.length / Math.max(1, Math.floor((width - 20) / 170))) : 0;
  const drawTitle = Boolean(spec.title) && !spec.hideTitle;
  const top = (drawTitle ? 26 : 8) + 16;
  const bottom = 24 + legendRows * 16;
  const left = 58;
  const right = 14;
  const pw = Math.max(10, width - left - right);
  const ph = Math.max(10, height - top - bottom);
  const x0 = t(spec.x.from);
  const x1 = Math.max(t(spec.x.to), x0 + 1);
  const values = spec.series.flatMap((s) => s.points.map((p) => p.value)).filter((v): v is number => v !== null && Number.isFinite(v));
  const failureValues = (spec.failures ?? []).map((f) => f.value).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const maxData = Math.max(0, ...values, ...failureValues, ...(spec.thresholds ?? []).map((th) => th.value));
  const positive = [...values, ...failureValues].filter((v) => v > 0);
  const yTicks = spec.y.ticks?.length ? [...spec.y.ticks].sort((a, b) => a - b)
    : spec.y.log ? logTicks(Math.min(...positive, maxData || 1), Math.max(maxData, 1))
      : niceTicks(0, spec.y.max ?? (maxData > 0 ? maxData * 1.08 : 1), Math.max(2, Math.floor(ph / 40)));
  const yMin = yTicks[0]!;
  const yMax = yTicks[yTicks.length - 1]!;
  const sx = (v: number) => left + ((Math.min(Math.max(v, x0), x1) - x0) / (x1 - x0)) * pw;
  const sy = spec.y.log && yMin > 0
    ? (v: number) => (v <= 0 ? top + ph : top + ph - ((Math.log(Math.min(Math.max(v, yMin), yMax)) - Math.log(yMin)) / (Math.log(yMax) - Math.log(yMin) || 1)) * ph)
    : (v: number) => top + ph - ((Math.min(Math.max(v, yMin), yMax) - yMin) / (yMax - yMin || 1)) * ph;

  const out: string[] = [];
  const title = spec.title ? escapeXml(spec.title) : '';
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img"${title ? ` aria-label="${title}"` : ''} font-family="${escapeXml(font)}" font-size="11">`);
  if (title) out.push(`<title>${title}</title>`);
  if (spec.background) out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  if (drawTitle) out.push(`<text x="${left}" y="17" font-size="13" fill="#222">${title}</text>`);
  out.push(`<text x="${left - 6}" y="${top - 9}" text-anchor="end" fill="${AXIS}" font-size="10">${escapeXml(spec.y.label)}</text>`);

  // Bands under everything else.
  for (const b of spec.bands ?? []) {
    const a = sx(t(b.from));
    const z = sx(t(b.to));
    if (z - a > 0.2) out.push(`<rect x="${r1(a)}" y="${top}" width="${r1(z - a)}" height="${ph}" fill="${b.color}" opacity="0.18"/>`);
  }
  // Grid and y axis labels.
  for (const v of yTicks) {
    const y = r1(sy(v));
    out.push(`<line x1="${left}" x2="${left + pw}" y1="${y}" y2="${y}" stroke="${GRID}" stroke-width="1"/>`);
    out.push(`<text x="${left - 6}" y="${y + 3.5}" text-anchor="end" fill="${AXIS}">${escapeXml(fmt(v))}</text>`);
  }
  // x axis.
  const xt = timeTicks(x0, x1, spec.x.timeZone, Math.max(2, Math.floor(pw / 70)));
  out.push(`<line x1="${left}" x2="${left + pw}" y1="${top + ph}" y2="${top + ph}" stroke="${AXIS}" stroke-width="1"/>`);
  for (const tick of xt) {
    const x = r1(sx(tick.at));
    out.push(`<line x1="${x}" x2="${x}" y1="${top + ph}" y2="${top + ph + 4}" stroke="${AXIS}"/>`);
    out.push(`<text x="${x}" y="${top + ph + 15}" text-anchor="middle" fill="${AXIS}">${escapeXml(tick.label)}</text>`);
  }
  // Failures: a faint vertical line and a cross on the axis (or on the value).
  for (const f of spec.failures ?? []) {
    const x = sx(t(f.at));
    const color = f.color ?? FAILURE_COLOR;
    out.push(`<line x1="${r1(x)}" x2="${r1(x)}" y1="${top}" y2="${top + ph}" stroke="${FAILURE_COLOR}" stroke-width="1" stroke-dasharray="2 3" opacity="0.45"/>`);
    const y = typeof f.value === 'number' && Number.isFinite(f.value) ? sy(f.value) : top + ph - 6;
    out.push(cross(x, y, 4, color));
  }
  // Series.
  for (const s of spec.series) {
    const pts = [...s.points].sort((a, b) => t(a.at) - t(b.at));
    if (s.line !== false) {
      let d = '';
      let pen = false;
      for (const p of pts) {
        if (p.value === null || !Number.isFinite(p.value)) { pen = false; continue; }
        d += `${pen ? 'L' : 'M'}${r1(sx(t(p.at)))} ${r1(sy(p.value))}`;
        pen = true;
      }
      if (d) out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8" stroke-linejoin="round"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    }
    for (const p of pts) {
      if (p.value === null || !Number.isFinite(p.value)) continue;
      const x = r1(sx(t(p.at)));
      const y = r1(sy(p.value));
      if (s.stems) out.push(`<line x1="${x}" x2="${x}" y1="${top + ph}" y2="${y}" stroke="${s.color}" stroke-width="3"/>`);
      if (s.dots || s.stems) out.push(`<circle cx="${x}" cy="${y}" r="${s.stems ? 3.5 : 2.2}" fill="${s.color}"/>`);
      if (s.labels) out.push(`<text x="${x}" y="${y - 6}" text-anchor="middle" fill="#222" font-size="10">${escapeXml(fmt(p.value))}</text>`);
    }
  }
  // Thresholds over the data.
  for (const th of spec.thresholds ?? []) {
    const y = r1(sy(th.value));
    const color = th.color ?? FAILURE_COLOR;
    out.push(`<line x1="${left}" x2="${left + pw}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${left + pw - 2}" y="${y - 4}" text-anchor="end" fill="${color}" font-size="10">${escapeXml(th.label)}</text>`);
  }
  if (values.length === 0 && (spec.failures ?? []).length === 0 && spec.emptyText) {
    out.push(`<text x="${left + pw / 2}" y="${top + ph / 2}" text-anchor="middle" fill="#888">${escapeXml(spec.emptyText)}</text>`);
  }
  // Legend below the axis labels.
  if (spec.legend?.length) {
    const perRow = Math.max(1, Math.floor((width - 20) / 170));
    spec.legend.forEach((l, i) => {
      const lx = left + (i % perRow) * 170;
      const ly = top + ph + 30 + Math.floor(i / perRow) * 16;
      if (l.mark === 'cross') out.push(cross(lx + 8, ly - 4, 4, l.color));
      else if (l.mark === 'dot') out.push(`<circle cx="${lx + 8}" cy="${ly - 4}" r="3.5" fill="${l.color}"/>`);
      else if (l.mark === 'band') out.push(`<rect x="${lx}" y="${ly - 9}" width="16" height="10" fill="${l.color}" opacity="0.25"/>`);
      else out.push(`<line x1="${lx}" x2="${lx + 16}" y1="${ly - 4}" y2="${ly - 4}" stroke="${l.color}" stroke-width="2"${l.mark === 'dash' ? ' stroke-dasharray="5 3"' : ''}/>`);
      out.push(`<text x="${lx + 22}" y="${ly}" fill="#333">${escapeXml(l.label.length > 24 ? `${l.label.slice(0, 23)}…` : l.label)}</text>`);
    });
  }
  out.push('</svg>');
  return out.join('');
}
