import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, HTTPReceiverDeferredRequestError, SocketModeReceiver, type AnyMiddlewareArgs, type Authorize, type Middleware } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import type { Context } from '../context.js';
import type { Logger } from '../logger.js';
import { errorMessage } from '../core/errors.js';
import { parseDuration } from '../config/duration.js';
import { boltLogger } from '../notify/slack/bolt-logger.js';
import type { BotMetrics } from './metrics.js';
import { futureTimestamp, refusalReason } from './verify-request.js';
import { SLACK_RETRY } from '../notify/slack/web-sink.js';
import { cachedUsergroupDirectory, setUsergroupDirectory } from '../operations/authorize.js';
import type { CommandDeps, RequestQueue } from '../commands/deps.js';
import { BackgroundTasks } from '../commands/background-tasks.js';
import { register as registerCommands } from '../commands/index.js';
import { register as registerApprovals } from '../approvals/index.js';

/** How long cancelled work started from Slack gets to clean up and end (as a cancelled scheduled job). */
const CANCELLED_WORK_GRACE_MS = 5000;

/** The Slack request URL path (manifest.yml: https://YOUR-HOST/slack/events). */
export const SLACK_EVENTS_PATH = '/slack/events';
const BODY_LIMIT = 1024 * 1024;
/** Deliveries are remembered this long (Slack retries within minutes; a signed request is stale after 5). */
const DELIVERY_TTL_MS = 24 * 3_600_000;
const PRUNE_EVERY_MS = 3_600_000;
/** How long recording a delivery may hold up its acknowledgement (Slack waits 3 s): past it, the delivery is handled. */
const RECORD_BUDGET_MS = 1500;

export interface SlackAppOptions {
  /** The process's metrics (served by the operational endpoints): refusals, retries, Web API failures. */
  metrics: BotMetrics;
  /** Overrides slack.port (tests: 0 for a free port). */
  port?: number;
  /** Interface to listen on (default all interfaces; tests: 127.0.0.1). */
  host?: string;
  /** The shared work queue (`/backup now` waits in it), once serve has started it. */
  queue?: () => RequestQueue | undefined;
}

export interface SlackApp {
  app: App;
  mode: 'http' | 'socket';
  /** HTTP mode: the port of the Slack request URL (POST /slack/events); none in Socket Mode. */
  port?: number;
  background: BackgroundTasks;
  /** For /healthz: HTTP mode is up while it listens; Socket Mode while its WebSocket is connected. */
  health(): { mode: 'http' | 'socket'; connected: boolean };
  stop(): Promise<void>;
}

const digest = (v: unknown) => createHash('sha256').update(JSON.stringify(v ?? null)).digest('hex').slice(0, 32);

/**
 * The key of one delivery from Slack, the same in every copy of it (Slack's retry, a replay of the
 * signed request): the event_id of an event, action_ts + action_id + user of a button click, the view
 * id and hash of a submission (with its trigger_id and values, so a corrected resubmission of the same
 * view is a new delivery), the trigger_id of a slash command or shortcut.
 */
export function deliveryKey(body: Record<string, unknown>): string | undefined {
  if (typeof body.event_id === 'string') return `event:${body.event_id}`;
  const user = (body.user as { id?: string } | undefined)?.id ?? '';
  const action = (body.actions as Array<{ action_ts?: string; action_id?: string }> | undefined)?.[0];
  if (body.type === 'block_actions' && action?.action_ts) return `action:${action.action_ts}:${action.action_id}:${user}`;
  const view = body.view as { id?: string; hash?: string; state?: unknown } | undefined;
  if ((body.type === 'view_submission' || body.type === 'view_closed') && view?.id) return `view:${body.type}:${view.id}:${view.hash ?? ''}:${digest([body.trigger_id, user, view.state])}`;
  if (typeof body.trigger_id === 'string') return `trigger:${body.trigger_id}`;
  return undefined;
}

/**
 * Runs a delivery once across replicas and restarts: its key is recorded in the state database
 * (slack_deliveries) and only the copy whose INSERT lands runs; a retry or replay is acknowledged (so
 * Slack stops retrying) and nothing runs again. Keys older than a day are pruned, at most hourly.
 */
function dedupeMiddleware(ctx: Context, log: Logger, metrics: BotMetrics): Middleware<AnyMiddlewareArgs> {
  let prunedAt = 0;
  return async (args) => {
    const a = args as unknown as { body: Record<string, unknown>; ack?: () => Promise<void>; next: () => Promise<void>; context: { retryNum?: number; retryReason?: string } };
    const key = deliveryKey(a.body);
    if (!key) return a.next();
    const { retryNum, retryReason } = a.context;
    const at = ctx.clock.now();
    let fresh = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), RECORD_BUDGET_MS); });
      const r = await Promise.race([ctx.store.deliveries.record({ key, retryNum, retryReason, instance: ctx.instance.id, at }), late]);
      if (r === 'late') log.error({ key }, `recording a Slack delivery took over ${RECORD_BUDGET_MS} ms (state database slow?): handling it`);
      else fresh = r;
    } catch (err) {
      log.error({ key, err: errorMessage(err) }, 'could not record a Slack delivery (state database unreachable?): handling it');
    } finally {
      clearTimeout(timer);
    }
    if (at.getTime() - prunedAt > PRUNE_EVERY_MS) {
      prunedAt = at.getTime();
      void ctx.store.deliveries.prune(new Date(at.getTime() - DELIVERY_TTL_MS)).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not prune old Slack deliveries'));
    }
    if (!fresh) {
      metrics.slackDuplicates.inc();
      log.warn({ key, retryNum, retryReason }, 'Slack retry/replay of a request already handled: acknowledged, not run again');
      if (a.ack) await a.ack();
      return;
    }
    if (retryNum) log.info({ key, retryNum, retryReason }, 'Slack retry of a request not seen before: handling it');
    await a.next();
  };
}

/**
 * Bolt's authorization for a single bot token without its start-up `auth.test` in the way: given only a
 * token, Bolt calls auth.test when the app is built and every request awaits that call, so the first
 * requests after a start wait on Slack before they can be acknowledged, and an auth.test that failed (Slack
 * down at start) fails every request until the next restart. Here each request gets the token at once; the
 * bot's own IDs (only needed to ignore the bot's own events) are learnt in the background and asked again
 * after a failure.
 */
function botTokenAuthorization(token: string, client: WebClient, log: Logger): Authorize<boolean> {
  let ids: { botId?: string; botUserId?: string } = {};
  let asking: Promise<void> | undefined;
  const learn = () => {
    asking ??= client.auth.test({ token })
      .then((r) => { ids = { ...(r.bot_id ? { botId: r.bot_id } : {}), ...(r.user_id ? { botUserId: r.user_id } : {}) }; })
      .catch((err: unknown) => { log.warn({ err: errorMessage(err) }, 'Slack auth.test failed (asked again with the next request)'); asking = undefined; });
  };
  learn();
  return async () => {
    if (!ids.botUserId) learn();
    return { botToken: token, ...ids };
  };
}

/**
 * The Slack request URL: Bolt's HTTPReceiver (its signature check, body limit, ssl_check, url_verification,
 * ack timing) behind one check of ours on the header, before the body is read: a timestamp more than 5
 * minutes in the future is refused (Bolt refuses only old ones). Every refusal is 401 with no body,
 * logged and counted; other paths are 404.
 */
function slackRequestListener(receiver: HTTPReceiver, refused: (reason: string, req: IncomingMessage) => void): RequestListener {
  return (req, res) => {
    const future = futureTimestamp(req.headers['x-slack-request-timestamp']);
    if (future) {
      refused(future, req);
      res.writeHead(401).end();
      req.resume();
      return;
    }
    res.once('finish', () => { if (res.statusCode === 401) refused(refusalReason(req.headers), req); });
    try {
      receiver.requestListener(req, res);
    } catch (err) {
      res.writeHead(err instanceof HTTPReceiverDeferredRequestError ? 404 : 500).end();
    }
  };
}

/** Builds and starts the Bolt app: HTTP (POST /slack/events on slack.port) or, with slack.appToken, Socket Mode. */
export async function startSlackApp(ctx: Context, opts: SlackAppOptions): Promise<SlackApp> {
  const slack = ctx.config.slack;
  if (!slack) throw new Error('startSlackApp needs config.slack');
  const { metrics } = opts;
  const log = ctx.logger.child({ component: 'slack' });
  const logger = boltLogger(log);
  const receiver = slack.appToken
    ? new SocketModeReceiver({ appToken: slack.appToken, logger, installerOptions: { clientOptions: { slackApiUrl: slack.apiUrl } } })
    : new HTTPReceiver({ signingSecret: slack.signingSecret, endpoints: [SLACK_EVENTS_PATH], bodyLimit: BODY_LIMIT, logger, processBeforeResponse: false, unhandledRequestTimeoutMillis: 3001 });
  const mode = receiver instanceof HTTPReceiver ? 'http' : 'socket';
  const clientOptions = { slackApiUrl: slack.apiUrl, retryConfig: SLACK_RETRY, timeout: 20_000 };
  const client = new WebClient(slack.botToken, { ...clientOptions, logger });
  const app = new App({ authorize: botTokenAuthorization(slack.botToken, client, log), receiver, logger, clientOptions });
  app.error(async (err) => { log.error({ err: errorMessage(err) }, 'Slack listener error'); });
  const background = new BackgroundTasks(ctx);
  const deps: CommandDeps = { ctx, background, ...(opts.queue ? { queue: opts.queue } : {}) };
  setUsergroupDirectory(ctx, cachedUsergroupDirectory(async (group) => (await client.usergroups.users.list({ usergroup: group })).users ?? []));
  app.use(dedupeMiddleware(ctx, log, metrics));
  registerCommands(app, deps);
  registerApprovals(app, deps);

  let server: Server | undefined;
  let connected = false;
  if (receiver instanceof HTTPReceiver) {
    server = createServer(slackRequestListener(receiver, (reason, req) => {
      metrics.slackRejected.inc({ reason: reason.split(' (')[0]! });
      log.warn({ reason, ip: req.socket.remoteAddress }, 'refused a request that is not verifiably from Slack (401)');
    }));
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject).listen(opts.port ?? slack.port, opts.host, () => { server!.off('error', reject); resolve(); });
    });
  } else {
    receiver.client.on('connected', () => { connected = true; });
    receiver.client.on('disconnected', () => { connected = false; });
    receiver.client.on('reconnecting', () => { log.info('Socket Mode reconnecting (normal: Slack refreshes the connection regularly)'); });
    await app.start();
    connected = true;
  }
  const port = server ? (server.address() as AddressInfo).port : undefined;
  log.info({ mode, port }, server ? `Slack app listening on port ${port} (${SLACK_EVENTS_PATH})` : 'Slack app connected in Socket Mode');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (server) {
        await new Promise<void>((resolve) => {
          server!.close(() => resolve());
          server!.closeIdleConnections();
          setTimeout(() => { server!.closeAllConnections(); }, 2000).unref();
        });
      } else {
        await app.stop().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'Socket Mode disconnect failed'));
      }
      const waitMs = parseDuration(ctx.config.schedules.shutdownTimeout) ?? 600_000;
      if (background.size > 0) log.info({ tasks: background.size }, 'waiting for work started from Slack to finish');
      if (!(await background.idle(waitMs))) {
        // Cancel means cancel: the operations stop, clean up after themselves and end interrupted.
        log.warn({ tasks: background.size }, 'work started from Slack did not finish before the shutdown timeout: cancelling it');
        background.cancel();
        if (!(await background.idle(CANCELLED_WORK_GRACE_MS))) log.warn('cancelled work started from Slack did not end within the grace time');
      }
      setUsergroupDirectory(ctx, undefined);
    })();
    return stopping;
  };

  return { app, mode, port, background, health: () => ({ mode, connected: server ? server.listening : connected }), stop };
}
