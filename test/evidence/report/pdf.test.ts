import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findChromium } from '../../../src/evidence/report/chromium.js';
import { renderReportHtml } from '../../../src/evidence/report/html.js';
import { renderReportPdf } from '../../../src/evidence/report/pdf.js';
import { BROKEN_REASON, XSS_OBSERVATION, XSS_REASON, makeFixture } from './fixture.js';

/** report.pdf made by headless Chromium, read back with poppler's pdftotext (-raw: the order Chromium drew the text, row by row) and pdfinfo. */

const run = promisify(execFile);
let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'report-pdf-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const squash = (s: string) => s.replace(/\s+/g, '');
const leftoverProfiles = async () => (await readdir(tmpdir())).filter((n) => n.startsWith('backup-bot-pdf-'));

test('the PDF holds every register row, the escaped text literally, the broken row, on a sane number of A4 pages', async () => {
  const { data } = makeFixture();
  const out = join(dir, 'report.pdf');
  const { bytes } = await renderReportPdf(renderReportHtml(data, { lang: 'es' }), out);
  expect((await stat(out)).size).toBe(bytes);
  expect((await readFile(out)).subarray(0, 5).toString('latin1')).toBe('%PDF-');

  const text = squash((await run('pdftotext', ['-raw', '-enc', 'UTF-8', out, '-'], { maxBuffer: 50_000_000 })).stdout);
  for (const c of data.clients) {
    for (const b of c.backups) if (b.file) expect(text).toContain(squash(b.file));
    for (const t of c.restoreTests) expect(text).toContain(squash(t.backupUsed!));
    for (const a of c.approvals) expect(text).toContain(squash(a.reason));
    for (const i of c.incidents) expect(text).toContain(squash(i.description));
  }
  for (const s of ['§11 Registro de Backups', '§12 Registro de Pruebas de Restore', '§13.5 Historial de Incidentes de Restore', 'Verificado Por (QA)',
    XSS_REASON, XSS_OBSERVATION, `roto: ${BROKEN_REASON}`, 'openssl pkeyutl -verify -pubin -inkey signing-key.pem -rawin -in report.html -sigfile report.html.sig']) {
    expect(text).toContain(squash(s));
  }
  // Page numbers from the @page margin boxes.
  expect(text).toMatch(/Página1de\d+/);

  const info = (await run('pdfinfo', ['-l', '999', out])).stdout;
  const pages = Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]);
  expect(pages).toBeGreaterThanOrEqual(8);
  expect(pages).toBeLessThanOrEqual(30);
  const sizes = [...info.matchAll(/^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts/gm)].map((m) => [Math.round(Number(m[1])), Math.round(Number(m[2]))].join('x'));
  expect(sizes).toHaveLength(pages);
  // A4 (595 × 842 pt), summary pages portrait and register pages landscape.
  expect(new Set(sizes)).toEqual(new Set(['595x842', '842x595']));
  expect(await leftoverProfiles()).toEqual([]);
});

test('no Chromium: a clear error saying it is needed and how to install it, and no PDF', async () => {
  const out = join(dir, 'missing.pdf');
  await expect(renderReportPdf('<p>x</p>', out, { chromiumPath: '/nonexistent/chromium' }))
    .rejects.toThrow(/the PDF report needs headless Chromium, and \/nonexistent\/chromium \(chromiumPath\) is not an executable file\. Install it: on Debian\/Ubuntu `apt-get install chromium`/);
  expect(() => findChromium(undefined, { PATH: '/nonexistent' }, []))
    .toThrow(/none was found \(looked for chromium, chromium-browser, google-chrome-stable, google-chrome on PATH\)\. Install it: on Debian\/Ubuntu `apt-get install chromium`/);
  await expect(stat(out)).rejects.toThrow(/ENOENT/);
});

test('Chromium that does not finish in time is killed with its helpers; nothing is left under the final name', async () => {
  const out = join(dir, 'slow.pdf');
  await expect(renderReportPdf('<p>x</p>', out, { timeoutMs: 50 })).rejects.toThrow(/Chromium did not finish the PDF within 0 s/);
  await expect(stat(out)).rejects.toThrow(/ENOENT/);
  expect((await readdir(dir)).filter((n) => n.startsWith('slow.pdf'))).toEqual([]);
  expect(await leftoverProfiles()).toEqual([]);
  const ps = (await run('ps', ['-eo', 'args'])).stdout;
  expect(ps).not.toMatch(/backup-bot-pdf-/);
});

test('a cancelled render stops Chromium and reports the cancellation', async () => {
  const ac = new AbortController();
  const p = renderReportPdf('<p>x</p>', join(dir, 'cancelled.pdf'), { signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  await expect(p).rejects.toThrow('PDF rendering was cancelled');
  await expect(stat(join(dir, 'cancelled.pdf'))).rejects.toThrow(/ENOENT/);
});
