import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import type { Store } from './store/store.js';
import type { BotMetrics } from './slack/metrics.js';
import { errorMessage } from './core/errors.js';

/** The database ping behind /healthz is reused for this long (a scrape storm costs one query per period). */
const HEALTH_TTL_MS = 5000;
/** A ping that has not answered by then counts as "db: false" (a health check answers in time). */
const PING_TIMEOUT_MS = 2000;

export interface OpsEndpointsOptions {
  host: string;
  port: number;
  /** When set, both endpoints require `Authorization: Bearer <token>` (compared in constant time). */
  token?: string;
  metrics: BotMetrics;
  store: Pick<Store, 'ping'>;
  /** The Slack side of the health answer, when Slack is configured. */
  slack?: () => { mode: 'http' | 'socket'; connected: boolean } | undefined;
  logger: Logger;
  now?: () => number;
}

export interface OpsEndpoints {
  /** http://HOST:PORT actually listened on. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The private operational endpoints, on their own listener (metrics.listen, 127.0.0.1:9464 by default),
 * apart from the Slack request URL: GET /metrics (Prometheus) and GET /healthz (200 when the state
 * database answers and, with Slack in Socket Mode, the socket is connected; else 503). Served whether or
 * not Slack is configured. Both answer from cached state: /metrics reads the registers at most once per
 * 15 s (createMetrics), /healthz pings the database at most once per HEALTH_TTL_MS.
 */
export async function startOpsEndpoints(o: OpsEndpointsOptions): Promise<OpsEndpoints> {
  const now = o.now ?? Date.now;
  const log = o.logger.child({ component: 'ops-endpoints' });
  const expected = o.token === undefined ? undefined : digest(`Bearer ${o.token}`);
  let ping: { at: number; ok: Promise<boolean> } | undefined;
  const dbOk = (): Promise<boolean> => {
    if (!ping || now() - ping.at >= HEALTH_TTL_MS) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((r) => { timer = setTimeout(() => r(false), PING_TIMEOUT_MS); });
      ping = { at: now(), ok: Promise.race([o.store.ping().then(() => true, () => false), late]).finally(() => clearTimeout(timer)) };
    }
    return ping.ok;
  };

  const authorized = (req: IncomingMessage): boolean => {
    if (!expected) return true;
    const given = req.headers.authorization;
    // Equal-length digests: the comparison takes the same time whatever was sent.
    return typeof given === 'string' && timingSafeEqual(digest(given), expected);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const known = path === '/metrics' || path === '/healthz';
    if (!known || (req.method !== 'GET' && req.method !== 'HEAD')) { res.writeHead(404).end(); return; }
    if (!authorized(req)) {
      log.warn({ path, ip: req.socket.remoteAddress }, `refused ${path}: missing or wrong bearer token (401)`);
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
      return;
    }
    if (path === '/metrics') {
      const m = await o.metrics.render();
      res.writeHead(200, { 'content-type': m.contentType }).end(m.body);
      return;
    }
    const db = await dbOk();
    const slack = o.slack?.();
    const ok = db && (slack === undefined || slack.connected);
    const body = { ok, ...(slack ? { mode: slack.mode } : {}), db, ...(slack?.mode === 'socket' ? { socketConnected: slack.connected } : {}) };
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      log.error({ err: errorMessage(err), url: req.url }, 'operational endpoint failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
