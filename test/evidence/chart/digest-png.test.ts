import { PNG } from 'pngjs';
import { digestChartSvg, digestSeriesFromBackups, rasteriseSvg, renderDigestChartPng, type DigestSeries } from '../../../src/evidence/chart/digest-png.js';

/** The Slack digest's PNG: rendered in-process by resvg, decoded here with pngjs and its pixels counted. */

const days = (n: number, end = '2026-03-31') => Array.from({ length: n }, (_, i) => new Date(Date.parse(`${end}T00:00:00Z`) - (n - 1 - i) * 86_400_000).toISOString().slice(0, 10));

function series(): DigestSeries {
  const d = days(30);
  return [
    { client: 'conitrack', days: d.map((date, i) => ({ date, sizeBytes: i === 10 || i === 11 ? null : (120 + i) * 1024 * 1024, failures: i === 10 || i === 11 ? 1 : 0 })) },
    { client: 'laboratorio-norte', days: d.map((date, i) => ({ date, sizeBytes: i % 7 === 0 ? (2.1 + i / 100) * 1024 ** 3 : null, failures: i === 21 ? 1 : 0 })) },
  ];
}

/** Pixels whose colour is within `tol` of the given one (per channel). */
function countColour(png: PNG, hex: string, tol = 40): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (Math.abs(png.data[i]! - r) <= tol && Math.abs(png.data[i + 1]! - g) <= tol && Math.abs(png.data[i + 2]! - b) <= tol) n++;
  }
  return n;
}

function notBackground(png: PNG): number {
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) if (png.data[i]! < 245 || png.data[i + 1]! < 245 || png.data[i + 2]! < 245) n++;
  return n;
}

test('a valid PNG of exactly the size asked, with both clients\' lines, the failures and text drawn', async () => {
  const t0 = performance.now();
  const buf = await renderDigestChartPng(series(), { width: 800, height: 360, lang: 'es' });
  const ms = performance.now() - t0;
  expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const png = PNG.sync.read(buf);
  expect([png.width, png.height]).toEqual([800, 360]);
  expect(notBackground(png)).toBeGreaterThan(800 * 360 * 0.01);
  expect(countColour(png, '#0072B2')).toBeGreaterThan(300); // conitrack's line
  expect(countColour(png, '#E69F00')).toBeGreaterThan(300); // laboratorio-norte's line
  expect(countColour(png, '#C0392B')).toBeGreaterThan(30); // failure crosses
  // The title and labels: dark grey text pixels in the top band where nothing else is drawn.
  let text = 0;
  for (let y = 0; y < 24; y++) for (let x = 0; x < 800; x++) { const i = (y * 800 + x) * 4; if (png.data[i]! < 120) text++; }
  expect(text).toBeGreaterThan(100);
  expect(ms).toBeLessThan(10_000);
});

test('text renders with the bundled font, whatever the host has installed', async () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text x="4" y="28" font-family="DejaVu Sans Subset" font-size="20" fill="#000">Tamaño ✕</text></svg>';
  const png = PNG.sync.read(await rasteriseSvg(svg, 200));
  expect(notBackground(png)).toBeGreaterThan(200);
  // A family the host lacks still falls back to the bundled font (system fonts are not loaded at all).
  const other = PNG.sync.read(await rasteriseSvg(svg.replace('DejaVu Sans Subset', 'Helvetica Neue'), 200));
  expect(notBackground(other)).toBeGreaterThan(200);
});

test('clients whose sizes differ by orders of magnitude share a log axis; similar ones a linear axis in one unit', () => {
  expect(digestChartSvg(series(), { width: 800, height: 360 })).toMatch(/>100 MB<.*>1 GB<.*>10 GB</s);
  const similar = digestChartSvg([series()[0]!], { width: 800, height: 360 });
  expect(similar).toContain('>MB<');
  expect(similar).not.toContain('>1 GB<');
});

test('client names are text in the SVG, escaped', () => {
  const svg = digestChartSvg([{ client: '<b>x</b> & "y"', days: [{ date: '2026-03-01', sizeBytes: 10, failures: 0 }] }], { width: 400, height: 200 });
  expect(svg).toContain('&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;');
  expect(svg).not.toContain('<b>');
});

test('an empty digest (no clients, or no backups) still renders, saying so', async () => {
  const png = PNG.sync.read(await renderDigestChartPng([], { width: 400, height: 200, from: '2026-03-02', to: '2026-03-31' }));
  expect([png.width, png.height]).toEqual([400, 200]);
  expect(digestChartSvg([{ client: 'a', days: [{ date: '2026-03-01', sizeBytes: null, failures: 0 }] }], { width: 400, height: 200 })).toContain('no backups in the period');
});

test('bad input: an error naming what was wrong and what is accepted', async () => {
  await expect(renderDigestChartPng(series(), { width: 50, height: 360 })).rejects.toThrow(/invalid digest chart options: width: .*>=200/);
  await expect(renderDigestChartPng([{ client: 'a', days: [{ date: '1/3/2026', sizeBytes: 1, failures: 0 }] }], { width: 400, height: 200 }))
    .rejects.toThrow('invalid digest series: 0.days.0.date: a day like 2026-03-01');
  await expect(renderDigestChartPng([{ client: 'a', days: [{ date: '2026-03-01', sizeBytes: -1, failures: 0 }] }], { width: 400, height: 200 }))
    .rejects.toThrow(/0\.days\.0\.sizeBytes/);
});

test('digestSeriesFromBackups: per client and day (in the zone), the day\'s last good size and its failures, the last N days', () => {
  const rows = [
    { client: 'b', takenAt: '2026-03-30T02:00:00Z', sizeBytes: '100', result: 'OK' as const },
    { client: 'b', takenAt: '2026-03-30T20:00:00Z', sizeBytes: 200, result: 'OK' as const },
    { client: 'b', takenAt: '2026-03-30T21:00:00Z', sizeBytes: null, result: 'Error' as const },
    { client: 'a', takenAt: new Date('2026-03-31T02:30:00Z'), sizeBytes: 50, result: 'OK' as const },
    { client: 'a', takenAt: '2026-02-01T02:30:00Z', sizeBytes: 999, result: 'OK' as const }, // older than 3 days: left out
  ];
  const utc = digestSeriesFromBackups(rows, { now: new Date('2026-03-31T12:00:00Z'), days: 3 });
  expect(utc).toEqual([
    { client: 'a', days: [{ date: '2026-03-29', sizeBytes: null, failures: 0 }, { date: '2026-03-30', sizeBytes: null, failures: 0 }, { date: '2026-03-31', sizeBytes: 50, failures: 0 }] },
    { client: 'b', days: [{ date: '2026-03-29', sizeBytes: null, failures: 0 }, { date: '2026-03-30', sizeBytes: 200, failures: 1 }, { date: '2026-03-31', sizeBytes: null, failures: 0 }] },
  ]);
  // In Buenos Aires (UTC−3) a's 02:30 UTC backup belongs to the 30th, b's 02:00 UTC one to the 29th.
  const ba = digestSeriesFromBackups(rows, { now: new Date('2026-03-31T12:00:00Z'), days: 3, timeZone: 'America/Argentina/Buenos_Aires' });
  expect(ba.find((s) => s.client === 'a')!.days.map((d) => d.sizeBytes)).toEqual([null, 50, null]);
  expect(ba.find((s) => s.client === 'b')!.days.map((d) => d.sizeBytes)).toEqual([100, 200, null]);
});
