import { queriesOn } from '../src/store/store.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer as createNetServer } from 'node:net';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { testConfig } from './helpers/config.js';
import { testContext, type TestContext } from './helpers/context.js';
import { RecordingNotifier } from './helpers/notifier.js';
import type { Context } from '../src/context.js';
import { startServer, type Server } from '../src/server.js';
import { silentLogger } from '../src/logger.js';
import { validateConfig } from '../src/config/load.js';
import { createMetrics } from '../src/slack/metrics.js';
import { startOpsEndpoints, type OpsEndpoints } from '../src/ops-endpoints.js';
import { startRun, finishRun } from '../src/store/runs.js';
import type { Queryable } from '../src/store/queryable.js';

/**
 * /metrics and /healthz: their own listener (metrics.listen, 127.0.0.1:9464 by default), separate from
 * the Slack request URL, with an optional bearer token, served with or without Slack, answering from
 * cached figures (one query set per 15 s however often scraped).
 */
let state: TestDatabase;
let ctx: TestContext;
const TOKEN = 'metrics-token-0123456789abcdef';

beforeAll(async () => {
  state = await createTestDatabase('bbt_ops');
  ctx = await testContext(testConfig({ stateUrl: state.url }));
  const run = await startRun(ctx.pool, { kind: 'backup', client: 'demo', actor: 'test', trigger: 'cli', instance: ctx.instance });
  await finishRun(ctx.pool, run.id, { status: 'ok' });
});
afterAll(async () => {
  await ctx?.close();
  await state?.drop();
});

const serve = (raw: Record<string, unknown> = {}): Promise<Server> =>
  startServer({ config: testConfig({ stateUrl: state.url, raw }), source: 'test', notes: [] }, { sink: new RecordingNotifier(), logger: silentLogger, handleSignals: false, scheduler: false });

describe('configuration', () => {
  test('metrics.listen defaults to 127.0.0.1:9464 (loopback only); a bad address or a short token is an error naming the key', () => {
    const base = { state: { url: state.url }, storage: { l: { type: 'local', path: '/tmp/x' } }, clients: { demo: { database: { engine: 'postgres', url: state.url }, schedule: '0 3 * * *', storage: ['l'] } } };
    expect(validateConfig(base, 't').metrics).toEqual({ listen: '127.0.0.1:9464' });
    expect(() => validateConfig({ ...base, metrics: { listen: '9464' } }, 't')).toThrow(/metrics\.listen.*HOST:PORT/);
    expect(() => validateConfig({ ...base, metrics: { listen: '127.0.0.1:70000' } }, 't')).toThrow(/metrics\.listen/);
    expect(() => validateConfig({ ...base, metrics: { token: 'short' } }, 't')).toThrow(/metrics\.token.*16 characters/);
    expect(validateConfig({ ...base, metrics: { listen: '[::1]:9464', token: TOKEN } }, 't').metrics).toEqual({ listen: '[::1]:9464', token: TOKEN });
  });
});

describe('serve without Slack', () => {
  test('/healthz and /metrics answer on their own loopback listener; other paths and methods are 404', async () => {
    const server = await serve();
    try {
      expect(server.slack).toBeUndefined();
      expect(server.ops.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${server.ops.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ ok: true, db: true });
      const m = await (await fetch(`${server.ops.url}/metrics`)).text();
      expect(m).toMatch(/backupbot_runs\{kind="backup",result="ok"\} 1/);
      expect((await fetch(`${server.ops.url}/slack/events`, { method: 'POST', body: 'x' })).status).toBe(404);
      expect((await fetch(`${server.ops.url}/metrics`, { method: 'POST', body: 'x' })).status).toBe(404);
      expect((await fetch(`${server.ops.url}/`)).status).toBe(404);
    } finally {
      await server.stop();
    }
  });

  test('with metrics.token: 401 without a token or with a wrong one (no body), 200 with it', async () => {
    const server = await serve({ metrics: { listen: '127.0.0.1:0', token: TOKEN } });
    try {
      for (const path of ['/metrics', '/healthz']) {
        const none = await fetch(`${server.ops.url}${path}`);
        expect(none.status).toBe(401);
        expect(none.headers.get('www-authenticate')).toBe('Bearer');
        expect(await none.text()).toBe('');
        for (const wrong of [`Bearer ${TOKEN.slice(0, -1)}x`, `Bearer ${TOKEN}x`, TOKEN, `Basic ${TOKEN}`, 'Bearer ']) {
          const r = await fetch(`${server.ops.url}${path}`, { headers: { authorization: wrong } });
          expect(r.status).toBe(401);
          expect(await r.text()).toBe('');
        }
        const ok = await fetch(`${server.ops.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(ok.status).toBe(200);
      }
    } finally {
      await server.stop();
    }
  });

  test('an address already in use stops serve with an error naming metrics.listen', async () => {
    const busy = createNetServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      await expect(serve({ metrics: { listen: `127.0.0.1:${port}` } })).rejects.toThrow(`metrics.listen "127.0.0.1:${port}": cannot serve /metrics and /healthz there`);
    } finally {
      busy.close();
    }
  });
});

describe('cached figures', () => {
  test('20 scrapes (sequential and concurrent) cost one query set per 15 s; /healthz one ping per 5 s', async () => {
    let queries = 0;
    let pings = 0;
    const counting: Queryable = {
      query: ((text: string, values?: unknown[]) => {
        if (/SELECT 1/.test(text)) pings++; else queries++;
        return ctx.pool.query(text, values);
      }) as Queryable['query'],
    };
    let now = 1_000_000;
    const metrics = createMetrics(queriesOn(counting), { defaultMetrics: false, now: () => now });
    let ops: OpsEndpoints | undefined;
    try {
      ops = await startOpsEndpoints({ host: '127.0.0.1', port: 0, metrics, store: { ping: async () => { await counting.query('SELECT 1'); } }, logger: silentLogger, now: () => now });
      const scrape = async () => { const r = await fetch(`${ops!.url}/metrics`); expect(r.status).toBe(200); return r.text(); };
      for (let i = 0; i < 10; i++) expect(await scrape()).toMatch(/backupbot_runs\{kind="backup",result="ok"\} 1/);
      await Promise.all(Array.from({ length: 10 }, scrape));
      expect(queries).toBe(2); // one set: runs by kind and result, last backup figures

      // A new run is not seen until the figures are 15 s old.
      const run = await startRun(ctx.pool, { kind: 'backup', client: 'demo', actor: 'test', trigger: 'cli', instance: ctx.instance });
      await finishRun(ctx.pool, run.id, { status: 'ok' });
      now += 14_999;
      expect(await scrape()).toMatch(/result="ok"\} 1\n/);
      expect(queries).toBe(2);
      now += 1;
      expect(await scrape()).toMatch(/result="ok"\} 2\n/);
      expect(queries).toBe(4);

      for (let i = 0; i < 20; i++) expect((await fetch(`${ops.url}/healthz`)).status).toBe(200);
      expect(pings).toBe(1);
      now += 5000;
      await fetch(`${ops.url}/healthz`);
      expect(pings).toBe(2);
    } finally {
      await ops?.close();
    }
  });
});
