import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, HTTPReceiverDeferredRequestError, SocketModeReceiver, type AnyMiddlewareArgs, type Middleware } from '@slack/bolt';
import type { Context } from '../context.js';
import { errorMessage } from '../core/errors.js';
import { parseDuration } from '../config/duration.js';
import { boltLogger } from '../notify/slack/bolt-logger.js';
import { createMetrics, type BotMetrics } from './metrics.js';
import { verifySlackSignature } from './verify-request.js';
import { SLACK_RETRY, type SlackWebSink } from '../notify/slack/web-sink.js';
import { cachedUsergroupDirectory, setUsergroupDirectory } from '../operations/authorize.js';
import { BackgroundTasks, type CommandDeps } from '../commands/deps.js';
import { register as registerCommands } from '../commands/index.js';
import { register as registerApprovals } from '../approvals/index.js';

/** The Slack request URL path (manifest.yml: https://YOUR-HOST/slack/events). */
export const SLACK_EVENTS_PATH = '/slack/events';
const BODY_LIMIT = 1024 * 1024;
const DEDUPE_TTL_MS = 15 * 60_000;

export interface SlackAppOptions {
  /** Overrides slack.port (tests: 0 for a free port). */
  port?: number;
  /** Interface to listen on (default all interfaces; tests: 127.0.0.1). */
  host?: string;
  /** The sink messages go through (its failures are counted in /metrics). */
  sink?: SlackWebSink;
}

export interface SlackApp {
  app: App;
  mode: 'http' | 'socket';
  /** The HTTP port actually listened on (requests in HTTP mode, /healthz and /metrics in both). */
  port: number;
  metrics: BotMetrics;
  background: BackgroundTasks;
  stop(): Promise<void>;
}

/** The key that identifies one delivery from Slack, so retries and replays act once. */
function deliveryKey(body: Record<string, unknown>): string | undefined {
  if (typeof body.event_id === 'string') return `event:${body.event_id}`;
  if (typeof body.trigger_id === 'string') return `trigger:${body.trigger_id}`;
  const actions = body.actions as Array<{ action_ts?: string; action_id?: string }> | undefined;
  const user = (body.user as { id?: string } | undefined)?.id;
  if (Array.isArray(actions) && actions[0]?.action_ts) return `action:${user}:${actions[0].action_id}:${actions[0].action_ts}`;
  return undefined;
}

/**
 * Drops a delivery already handled (Slack's X-Slack-Retry-Num / Socket Mode retry_attempt, or a
 * replay of the same signed request): it is acknowledged and nothing runs again.
 */
function dedupeMiddleware(ctx: Context, metrics: BotMetrics): Middleware<AnyMiddlewareArgs> {
  const seen = new Map<string, number>();
  return async (args) => {
    const a = args as unknown as { body: Record<string, unknown>; ack?: () => Promise<void>; next: () => Promise<void>; context: { retryNum?: number; retryReason?: string } };
    const key = deliveryKey(a.body);
    const now = Date.now();
    for (const [k, at] of seen) if (now - at > DEDUPE_TTL_MS) seen.delete(k); else break;
    if (key && seen.has(key)) {
      metrics.slackDuplicates.inc();
      ctx.logger.warn({ key, retryNum: a.context.retryNum, retryReason: a.context.retryReason }, 'Slack retry/replay of a request already handled: acknowledged, not run again');
      if (a.ack) await a.ack();
      return;
    }
    if (key) seen.set(key, now);
    if (a.context.retryNum) ctx.logger.info({ key, retryNum: a.context.retryNum, retryReason: a.context.retryReason }, 'Slack retry of a request not seen before: handling it');
    await a.next();
  };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) return 'too-large';
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, body?: string, type = 'application/json'): void {
  if (res.headersSent) return;
  res.writeHead(status, body === undefined ? {} : { 'content-type': type });
  res.end(body);
}

/**
 * Builds and starts the Bolt app. HTTP mode (no slack.appToken): one node:http server on slack.port
 * serves POST /slack/events (signature and timestamp checked here on the raw bytes, then handed to
 * Bolt's HTTPReceiver), GET /healthz and GET /metrics. Socket Mode (slack.appToken): Bolt's
 * SocketModeReceiver, and the same server for /healthz and /metrics only.
 */
export async function startSlackApp(ctx: Context, opts: SlackAppOptions = {}): Promise<SlackApp> {
  const slack = ctx.config.slack;
  if (!slack) throw new Error('startSlackApp needs config.slack');
  const log = ctx.logger.child({ component: 'slack' });
  const logger = boltLogger(log);
  const metrics = createMetrics(ctx.store);
  if (opts.sink) opts.sink.onFailure = (method) => metrics.slackFailures.inc({ method });
  const mode: 'http' | 'socket' = slack.appToken ? 'socket' : 'http';
  const clientOptions = { slackApiUrl: slack.apiUrl, retryConfig: SLACK_RETRY, timeout: 20_000 };

  const httpReceiver = mode === 'http'
    ? new HTTPReceiver({ signingSecret: slack.signingSecret, endpoints: [SLACK_EVENTS_PATH], logger, processBeforeResponse: false, unhandledRequestTimeoutMillis: 3001 })
    : undefined;
  const socketReceiver = mode === 'socket'
    ? new SocketModeReceiver({ appToken: slack.appToken!, logger, installerOptions: { clientOptions: { slackApiUrl: slack.apiUrl } } })
    : undefined;
  const app = new App({ token: slack.botToken, receiver: (httpReceiver ?? socketReceiver)!, logger, clientOptions });
  app.error(async (err) => { log.error({ err: errorMessage(err) }, 'Slack listener error'); });

  const background = new BackgroundTasks(ctx);
  const deps: CommandDeps = { ctx, background };
  setUsergroupDirectory(ctx, cachedUsergroupDirectory(async (group) => (await app.client.usergroups.users.list({ usergroup: group })).users ?? []));
  app.use(dedupeMiddleware(ctx, metrics));
  registerCommands(app, deps);
  registerApprovals(app, deps);

  let socketConnected = false;
  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      log.error({ err: errorMessage(err), url: req.url }, 'HTTP request failed');
      reply(res, 500);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const method = (req.method ?? 'GET').toUpperCase();
    if (method === 'GET' && path === '/healthz') {
      let db = true;
      try { await ctx.store.ping(); } catch { db = false; }
      const ok = db && (mode === 'http' || socketConnected);
      reply(res, ok ? 200 : 503, JSON.stringify({ ok, mode, db, ...(mode === 'socket' ? { socketConnected } : {}) }));
      return;
    }
    if (method === 'GET' && path === '/metrics') {
      const m = await metrics.render();
      reply(res, 200, m.body, m.contentType);
      return;
    }
    if (httpReceiver && method === 'POST' && path === SLACK_EVENTS_PATH) {
      const raw = await readBody(req, BODY_LIMIT);
      if (raw === 'too-large') { reply(res, 413); return; }
      if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') && raw.toString() === 'ssl_check=1') { reply(res, 200); return; }
      const v = verifySlackSignature({ signingSecret: slack!.signingSecret, rawBody: raw, signature: req.headers['x-slack-signature'], timestamp: req.headers['x-slack-request-timestamp'] });
      if (!v.ok) {
        metrics.slackRejected.inc({ reason: v.reason.split(' (')[0]! });
        log.warn({ reason: v.reason, ip: req.socket.remoteAddress }, 'refused a request that is not verifiably from Slack (401)');
        reply(res, 401);
        return;
      }
      // Bolt reads the already-buffered body (and checks the signature again).
      (req as IncomingMessage & { rawBody?: Buffer }).rawBody = raw;
      try {
        httpReceiver.requestListener(req, res);
      } catch (err) {
        if (err instanceof HTTPReceiverDeferredRequestError) { reply(res, 404); return; }
        throw err;
      }
      return;
    }
    reply(res, 404);
  }

  const port = opts.port ?? slack.port;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, opts.host, () => { server.off('error', reject); resolve(); });
  });
  const actualPort = (server.address() as AddressInfo).port;

  if (socketReceiver) {
    socketReceiver.client.on('connected', () => { socketConnected = true; });
    socketReceiver.client.on('disconnected', () => { socketConnected = false; });
    socketReceiver.client.on('reconnecting', () => { log.info('Socket Mode reconnecting (normal: Slack refreshes the connection regularly)'); });
    try {
      await app.start();
      socketConnected = true;
    } catch (err) {
      server.close();
      throw err;
    }
  }
  log.info({ mode, port: actualPort }, mode === 'http' ? `Slack app listening on port ${actualPort} (${SLACK_EVENTS_PATH}, /healthz, /metrics)` : `Slack app connected in Socket Mode; /healthz and /metrics on port ${actualPort}`);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (socketReceiver) await app.stop().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'Socket Mode disconnect failed'));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => { server.closeAllConnections(); }, 2000).unref();
      });
      const waitMs = parseDuration(ctx.config.schedules.shutdownTimeout) ?? 600_000;
      if (background.size > 0) log.info({ tasks: background.size }, 'waiting for work started from Slack to finish');
      if (!(await background.idle(waitMs))) log.warn('work started from Slack did not finish before the shutdown timeout');
      setUsergroupDirectory(ctx, undefined);
    })();
    return stopping;
  };

  return { app, mode, port: actualPort, metrics, background, stop };
}
