import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OperationError } from '../../core/errors.js';
import { makeOwnedTempDir, removeOwnedTempDir, removeStaleOwnedTempDirs } from '../../core/owned-temp-dir.js';
import { chromiumArgs, findChromium, killChromiumUsing } from './chromium.js';

/**
 * report.pdf from report.html with headless Chromium's own print-to-PDF: the PDF is the HTML as a browser
 * prints it (same CSS, @page sizes and margin boxes, inline SVG as vectors, text selectable), with no second
 * layout to keep in step. Chromium runs from a fresh temporary profile, is spawned with an argument array,
 * loads only the local file, and is killed (with its child processes) on timeout or abort. The PDF appears
 * under outPath only once complete. Its temporary directory (`$TMPDIR/backup-bot-pdf-<host>-<pid>-XXXXXX`) goes in
 * a `finally`; one left by a render whose process was killed (SIGKILL runs no `finally`) is removed, with the
 * Chromium still using it, by the next render.
 */

const TEMP_PREFIX = 'backup-bot-pdf-';

export interface RenderPdfOptions {
  /** Absolute path of a Chrome/Chromium binary (default: found by findChromium). */
  chromiumPath?: string;
  /** Default 120 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const NOISE = /dbus|Fontconfig|sandbox|GPU|gpu_|viz_|zygote|crashpad|ALSA|Gtk|UPower|object_proxy/i;

export async function renderReportPdf(html: string, outPath: string, opts: RenderPdfOptions = {}): Promise<{ bytes: number; ms: number }> {
  const started = Date.now();
  const chromium = findChromium(opts.chromiumPath);
  await removeStaleOwnedTempDirs(tmpdir(), TEMP_PREFIX, { beforeRemove: killChromiumUsing });
  const dir = await makeOwnedTempDir(tmpdir(), TEMP_PREFIX);
  const htmlPath = join(dir, 'report.html');
  const pdfPath = join(dir, 'report.pdf');
  let pgid: number | undefined;
  try {
    await writeFile(htmlPath, html, 'utf8');
    const args = [...chromiumArgs(join(dir, 'profile')), '--no-pdf-header-footer', '--print-to-pdf-no-header', `--print-to-pdf=${pdfPath}`, pathToFileURL(htmlPath).href];
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_CACHE_HOME: join(dir, 'cache'), TMPDIR: dir, LANG: 'C.UTF-8' };
    const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; timedOut: boolean; aborted: boolean }>((resolve, reject) => {
      const child = spawn(chromium, args, { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true, shell: false });
      pgid = child.pid;
      let stderr = '';
      let timedOut = false;
      let aborted = false;
      child.stderr.on('data', (c: Buffer) => { if (stderr.length < 200_000) stderr += c.toString('utf8'); });
      const killGroup = () => { if (pgid) { try { process.kill(-pgid, 'SIGKILL'); } catch { /* already gone */ } } };
      const timer = setTimeout(() => { timedOut = true; killGroup(); }, opts.timeoutMs ?? 120_000);
      const onAbort = () => { aborted = true; killGroup(); };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.signal?.aborted) onAbort();
      child.on('error', (err) => { clearTimeout(timer); opts.signal?.removeEventListener('abort', onAbort); reject(err); });
      child.on('close', (code, signal) => { clearTimeout(timer); opts.signal?.removeEventListener('abort', onAbort); resolve({ code, signal, stderr, timedOut, aborted }); });
    }).catch((err: NodeJS.ErrnoException) => {
      throw new OperationError(`could not start Chromium (${chromium}) for the PDF report: ${err.message}`, { cause: err });
    });
    const why = result.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !NOISE.test(l)).slice(-5).join(' | ');
    if (result.aborted) throw new OperationError('PDF rendering was cancelled');
    if (result.timedOut) throw new OperationError(`Chromium did not finish the PDF within ${Math.round((opts.timeoutMs ?? 120_000) / 1000)} s${why ? `: ${why}` : ''}`);
    const made = await stat(pdfPath).catch(() => undefined);
    if (result.code !== 0 || !made || made.size === 0) {
      throw new OperationError(`Chromium (${chromium}) did not write the PDF (exit ${result.code ?? result.signal})${why ? `: ${why}` : ''}`);
    }
    const head = Buffer.alloc(5);
    const fh = await open(pdfPath, 'r');
    try { await fh.read(head, 0, 5, 0); } finally { await fh.close(); }
    if (head.toString('latin1') !== '%PDF-') throw new OperationError(`Chromium wrote ${pdfPath} but it is not a PDF`);
    const tmp = `${outPath}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await copyFile(pdfPath, tmp);
      await rename(tmp, outPath);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new OperationError(`could not write ${outPath}: ${(err as Error).message}`, { cause: err });
    }
    return { bytes: made.size, ms: Date.now() - started };
  } finally {
    // Chromium's helper processes share its process group: none outlives the render.
    if (pgid) { try { process.kill(-pgid, 'SIGKILL'); } catch { /* all gone */ } }
    await removeOwnedTempDir(dir);
  }
}
