/** @needs slow */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { renderReportHtml } from '../../../src/evidence/report/html.js';
import { launchChromium, type Browser } from './chromium-page.js';
import { BROKEN_BACKUP_ID, BROKEN_REASON, XSS_AUDIT_REASON, XSS_OBSERVATION, XSS_REASON, makeFixture } from './fixture.js';

/** The report as a browser shows it: real headless Chromium (Debian's chromium), over the DevTools protocol. */

let dir: string;
let browser: Browser;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'report-chromium-'));
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

async function open(name: string, html: string) {
  const path = join(dir, name);
  await writeFile(path, html);
  const url = pathToFileURL(path).href;
  return { url, page: await browser.open(url) };
}

const CLIENT_SECTIONS = ['client', 'summary', 'charts', 'backups', 'restore-tests', 'incidents', 'approvals', 'audit'];

describe.each(['es', 'en'] as const)('report.html (%s) in headless Chromium', (lang) => {
  test('not blank, every section present, no console error, no request but the file itself', async () => {
    const { data } = makeFixture();
    const { url, page } = await open(`report-${lang}.html`, renderReportHtml(data, { lang }));
    try {
      expect(page.consoleErrors).toEqual([]);
      expect(page.blocked).toEqual([]);
      expect(page.requests.length).toBeGreaterThan(0);
      expect(page.requests.every((u) => u === url)).toBe(true);

      const sections = await page.evaluate<string[]>(`[...document.querySelectorAll('[data-section]')].map((e) => e.dataset.section + '|' + (e.closest('[data-client]')?.dataset.client ?? ''))`);
      for (const client of ['conitrack', 'laboratorio-norte']) for (const s of CLIENT_SECTIONS) expect(sections).toContain(`${s}|${client}`);
      for (const s of ['cover', 'contents', 'general-audit', 'integrity', 'signature']) expect(sections).toContain(`${s}|`);
      // Four inline SVG charts per client, each drawn (has paths or circles).
      const charts = await page.evaluate<number[]>(`[...document.querySelectorAll('[data-section=charts]')].map((s) => [...s.querySelectorAll('svg')].filter((g) => g.querySelector('path, circle') && g.getBoundingClientRect().height > 50).length)`);
      expect(charts).toEqual([4, 4]);
      // Every backup row is a table row: 46 + 14.
      expect(await page.evaluate<number>(`document.querySelectorAll('tr[data-row^="backup:"]').length`)).toBe(data.clients.reduce((n, c) => n + c.backups.length, 0));

      const png = PNG.sync.read(await page.screenshot());
      expect([png.width, png.height]).toEqual([1200, 1600]);
      let ink = 0;
      const colours = new Set<number>();
      for (let i = 0; i < png.data.length; i += 4) {
        const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
        if (r < 200 || g < 200 || b < 200) ink++;
        colours.add((r << 16) | (g << 8) | b);
      }
      expect(ink / (png.width * png.height)).toBeGreaterThan(0.01);
      expect(colours.size).toBeGreaterThan(20);
    } finally {
      await page.close();
    }
  });
});

test('typed text shows literally: no script, image, link or element of its own, nothing ran', async () => {
  const { data } = makeFixture();
  const { page } = await open('escaping.html', renderReportHtml(data, { lang: 'es' }));
  try {
    expect(await page.evaluate<number>(`document.querySelectorAll('script, img, iframe, object, embed, a[href^="http"], #injected').length`)).toBe(0);
    expect(await page.evaluate<unknown>('window.__pwned ?? null')).toBeNull();
    const text = (sel: string) => page.evaluate<string>(`document.querySelector(${JSON.stringify(sel)}).textContent`);
    expect(await text('[data-row="approval:8"]')).toContain(XSS_REASON);
    expect(await text('[data-row="restore-test:303"]')).toContain(XSS_OBSERVATION);
    expect(await text('[data-row="audit:5002"]')).toContain(XSS_AUDIT_REASON);
    // Only the SVG charts are elements inside the charts; the register cells hold no elements but the ones the report makes.
    expect(await page.evaluate<string[]>(`[...document.querySelectorAll('[data-row="approval:8"] *')].map((e) => e.tagName.toLowerCase()).filter((t) => !['td', 'br', 'span'].includes(t))`)).toEqual([]);
    expect(page.consoleErrors).toEqual([]);
  } finally {
    await page.close();
  }
});

test('the edited row shows as broken, with why; the others as intact', async () => {
  const { data } = makeFixture();
  const { page } = await open('broken.html', renderReportHtml(data, { lang: 'es' }));
  try {
    const broken = await page.evaluate<{ cls: string; status: string }>(`(() => { const r = document.querySelector('[data-row="backup:${BROKEN_BACKUP_ID}"]'); return { cls: r.className, status: r.lastElementChild.textContent }; })()`);
    expect(broken.cls).toBe('broken');
    expect(broken.status).toBe(`✕ roto: ${BROKEN_REASON}`);
    const statuses = await page.evaluate<string[]>(`[...document.querySelectorAll('tr[data-row]')].filter((r) => r.dataset.row !== 'backup:${BROKEN_BACKUP_ID}').map((r) => r.lastElementChild.textContent)`);
    expect(new Set(statuses)).toEqual(new Set(['✓ intacto']));
    expect(await page.evaluate<string>(`document.querySelector('[data-integrity]').dataset.integrity`)).toBe('broken');
  } finally {
    await page.close();
  }
});

// The checks above can fail: a request and a blocked load are seen.
test('control: a page that loads something is caught by the interceptor, and the report\'s CSP reports it', async () => {
  const plain = await open('control-plain.html', '<!DOCTYPE html><html><body><p>x</p><img src="http://127.0.0.1:9/pixel.png"></body></html>');
  try {
    expect(plain.page.blocked).toEqual(['http://127.0.0.1:9/pixel.png']);
    expect(plain.page.requests).toContain('http://127.0.0.1:9/pixel.png');
  } finally {
    await plain.page.close();
  }
  const { data } = makeFixture();
  const tampered = renderReportHtml(data, { lang: 'es' }).replace('</main>', '<img src="http://127.0.0.1:9/pixel.png"></main>');
  const csp = await open('control-csp.html', tampered);
  try {
    expect(csp.page.consoleErrors.join('\n')).toMatch(/Content Security Policy/);
    expect(csp.page.blocked).toEqual([]);
  } finally {
    await csp.page.close();
  }
});
