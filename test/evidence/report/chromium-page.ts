import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { chromiumArgs, findChromium } from '../../../src/evidence/report/chromium.js';

/**
 * Opens one local file in real headless Chromium (Debian's `chromium`) over the DevTools protocol, with the
 * `ws` client the bot already depends on (no Playwright/Puppeteer download): every request is logged
 * (Network) and every request other than the file itself is failed (Fetch), console errors, exceptions and
 * browser log errors (CSP violations, failed loads) are collected, and the page can be evaluated and
 * screenshotted. DevTools listens on 127.0.0.1 only.
 */

interface OpenedPage {
  /** Every URL the page requested (including the file itself). */
  requests: string[];
  /** Requests other than the file, failed by the interceptor before leaving the browser. */
  blocked: string[];
  consoleErrors: string[];
  evaluate<T>(expression: string): Promise<T>;
  screenshot(): Promise<Buffer>;
  close(): Promise<void>;
}

type Message = { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string }; sessionId?: string };

async function waitForFile(path: string, timeoutMs: number): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.includes('\n')) return text;
    if (Date.now() > until) throw new Error(`Chromium did not open DevTools within ${timeoutMs} ms (${path})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Browser {
  /** Opens the file in a new tab; requests to anything else are failed and recorded. */
  open(fileUrl: string, viewport?: { width: number; height: number }): Promise<OpenedPage>;
  close(): Promise<void>;
}

/** Starts one headless Chromium (fresh profile, DevTools on 127.0.0.1, random port). */
export async function launchChromium(): Promise<Browser> {
  const dir = await mkdtemp(join(tmpdir(), 'backup-bot-cdp-'));
  const child = spawn(findChromium(), [...chromiumArgs(join(dir, 'profile')), '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0', 'about:blank'],
    { detached: true, stdio: 'ignore', env: { ...process.env, HOME: dir } });
  const exited = new Promise<void>((r) => { child.once('exit', () => r()); });
  const cleanup = async () => {
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [port, path] = (await waitForFile(join(dir, 'profile', 'DevToolsActivePort'), 60_000)).trim().split('\n');
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    await new Promise<void>((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    let next = 0;
    const pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
    const listeners = new Set<(m: Message) => void>();
    ws.on('message', (raw) => {
      const m = JSON.parse(raw.toString()) as Message;
      if (m.id !== undefined) {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.error) p?.reject(new Error(m.error.message)); else p?.resolve(m.result ?? {});
      } else listeners.forEach((l) => l(m));
    });
    const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string) => new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = ++next;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

    const open = async (fileUrl: string, viewport = { width: 1200, height: 1600 }): Promise<OpenedPage> => {
      const { targetId } = await send('Target.createTarget', { url: 'about:blank' }) as { targetId: string };
      const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true }) as { sessionId: string };
      let listener: (m: Message) => void = () => {};
      const page: OpenedPage = {
        requests: [], blocked: [], consoleErrors: [],
        evaluate: async <T>(expression: string) => {
          const r = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId) as { result: { value: T }; exceptionDetails?: { text: string } };
          if (r.exceptionDetails) throw new Error(`evaluate failed: ${r.exceptionDetails.text}`);
          return r.result.value;
        },
        screenshot: async () => Buffer.from(((await send('Page.captureScreenshot', { format: 'png' }, sessionId)) as { data: string }).data, 'base64'),
        close: async () => {
          listeners.delete(listener);
          await send('Target.closeTarget', { targetId }).catch(() => undefined);
        },
      };
      let loaded: () => void = () => {};
      const load = new Promise<void>((r) => { loaded = r; });
      listener = (m) => {
        if (m.sessionId !== sessionId) return;
        const p = m.params ?? {};
        if (m.method === 'Network.requestWillBeSent') page.requests.push((p.request as { url: string }).url);
        else if (m.method === 'Fetch.requestPaused') {
          const url = (p.request as { url: string }).url;
          if (url === fileUrl) void send('Fetch.continueRequest', { requestId: p.requestId }, sessionId);
          else { page.blocked.push(url); void send('Fetch.failRequest', { requestId: p.requestId, errorReason: 'BlockedByClient' }, sessionId); }
        } else if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert')) {
          page.consoleErrors.push(`console.${String(p.type)}: ${JSON.stringify(p.args)}`);
        } else if (m.method === 'Runtime.exceptionThrown') page.consoleErrors.push(`exception: ${JSON.stringify(p.exceptionDetails)}`);
        else if (m.method === 'Log.entryAdded' && (p.entry as { level: string }).level === 'error') page.consoleErrors.push(`log: ${(p.entry as { text: string }).text}`);
        else if (m.method === 'Page.loadEventFired') loaded();
      };
      listeners.add(listener);
      for (const method of ['Page.enable', 'Runtime.enable', 'Log.enable', 'Network.enable']) await send(method, {}, sessionId);
      await send('Fetch.enable', { patterns: [{ urlPattern: '*' }] }, sessionId);
      await send('Emulation.setDeviceMetricsOverride', { width: viewport.width, height: viewport.height, deviceScaleFactor: 1, mobile: false }, sessionId);
      await send('Page.navigate', { url: fileUrl }, sessionId);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([load, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('page did not load within 60 s')), 60_000); })]);
      } finally {
        clearTimeout(timer);
      }
      // Let late work (fonts, layout, any deferred request) happen before the caller looks.
      await new Promise((r) => setTimeout(r, 300));
      return page;
    };
    return {
      open,
      close: async () => {
        await send('Browser.close').catch(() => undefined);
        ws.terminate();
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
