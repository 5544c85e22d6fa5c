import type { LoadedConfig } from './config/load.js';
import { createContext, type Context, type ContextOptions } from './context.js';
import { reapInterruptedRuns } from './store/interrupted.js';
// --- production restores (issue 7) ---
import { markRestoresInterrupted } from './operations/restore.js';
// --- end production restores ---
import { prepareDemoDatabase } from './operations/demo-database.js';
import { clientChannel } from './slack/notifier.js';
import { formatDateTime } from './core/time.js';
import { errorMessage } from './core/errors.js';
// --- restore tests (issue 6) ---
import { cleanupOrphans } from './core/staging/orphans.js';
import { stateIdOf } from './core/staging/labels.js';
import { dockerFromConfig } from './core/staging/docker.js';
import { getRun } from './store/runs.js';
// --- end restore tests ---
// --- Slack app (issue 4) ---
import { SlackNotifier } from './slack/slack-notifier.js';
import { startSlackApp, type SlackApp } from './slack/app.js';
import { createLogger } from './logger.js';
// --- end Slack app ---
// --- scheduled jobs (issue 5) ---
import { createScheduler, type Scheduler, type SchedulerOptions } from './scheduler.js';
// --- end scheduled jobs ---

export interface Server {
  ctx: Context;
  /** Resolves when the server has stopped (SIGTERM/SIGINT or stop()). */
  stopped: Promise<void>;
  stop(reason?: string): Promise<void>;
  /** The Slack app when config.slack is set (issue 4). */
  slack?: SlackApp;
  /** The bree scheduler (issue 5), unless disabled with `scheduler: false`. */
  scheduler?: Scheduler;
}

export interface ServerOptions extends ContextOptions {
  /** Install SIGTERM/SIGINT handlers (default true). */
  handleSignals?: boolean;
  /** Slack app (issue 4): overrides slack.port (tests: 0) and the interface it listens on. */
  slackPort?: number;
  slackHost?: string;
  /** Scheduled jobs (issue 5): options, or false to run without them (default on). */
  scheduler?: SchedulerOptions | false;
}

/**
 * `backup-bot serve`: builds the context, marks runs left `running` by a crashed process as
 * interrupted and reports them, prepares the quickstart's demo database, then starts the front doors
 * (Slack app, scheduler) and waits for a stop signal.
 */
export async function startServer(loaded: LoadedConfig, opts: ServerOptions = {}): Promise<Server> {
  const defaults = loaded.source === 'embedded defaults';
  if (defaults) {
    for (const [name, c] of Object.entries(loaded.config.clients)) {
      if (c.database.engine === 'postgres' && (await prepareDemoDatabase(c.database.url))) {
        process.stdout.write(`backup-bot: created the demo database for client "${name}" with sample data\n`);
      }
    }
  }
  // --- Slack app (issue 4): with Slack configured, operations post through the Slack Web API ---
  const slackCfg = loaded.config.slack;
  const logger = opts.logger ?? createLogger();
  const notifier = opts.notifier ?? (slackCfg ? new SlackNotifier({ token: slackCfg.botToken, apiUrl: slackCfg.apiUrl, logger }) : undefined);
  // --- end Slack app ---
  const ctx = await createContext(loaded.config, { createDatabase: defaults, ...opts, logger, ...(notifier ? { notifier } : {}) });
  const log = ctx.logger;

  const interrupted = await reapInterruptedRuns(ctx.pool, ctx.clock.now());
  for (const r of interrupted) {
    const text = `:warning: A ${r.kind.replace('_', ' ')} run${r.client ? ` of ${r.client}` : ''} started ${formatDateTime(r.started_at, ctx.config.timezone)} was interrupted (the bot stopped during step "${r.step ?? '?'}"). Run ${r.id} is marked interrupted.`;
    log.warn({ run: r.id, kind: r.kind, client: r.client }, 'run interrupted by a previous stop');
    await ctx.notifier.post(clientChannel(ctx.config, r.client ?? ''), { text }).catch(() => undefined);
  }
  // --- production restores (issue 7): a runbook that died with the bot is shown interrupted with its last step; nothing is dropped ---
  for (const a of await markRestoresInterrupted(ctx).catch((err) => { log.error({ err: errorMessage(err) }, 'could not mark interrupted restores'); return []; })) {
    log.warn({ approval: a.id, client: a.client, lastStep: a.last_step, oldDatabase: a.old_database }, 'production restore interrupted by a previous stop');
  }
  // --- end production restores ---
  // --- restore tests (issue 6): remove staging containers/networks left by a killed bot (labelled, run not running) ---
  void Promise.resolve().then(() => cleanupOrphans(dockerFromConfig(ctx.config), async (runId) => (await getRun(ctx.pool, runId).catch(() => undefined))?.status === 'running', { stateId: stateIdOf(ctx.config.state.url) }))
    .then((o) => { if (o.containers.length || o.networks.length || o.errors.length) log.warn(o, 'removed orphaned staging containers'); })
    .catch((err) => log.warn({ err: errorMessage(err) }, 'could not look for orphaned staging containers (Docker unreachable?)'));
  // --- end restore tests ---

  const stoppers: Array<() => Promise<void>> = [];
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => { resolveStopped = r; });
  let stopping: Promise<void> | undefined;
  const stop = (reason = 'stop requested'): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason }, 'stopping');
      for (const s of stoppers.reverse()) {
        try { await s(); } catch (err) { log.error({ err: errorMessage(err) }, 'error while stopping'); }
      }
      await ctx.close();
      resolveStopped();
    })();
    return stopping;
  };

  if (opts.handleSignals !== false) {
    const onSignal = (sig: NodeJS.Signals) => { void stop(sig); };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    stoppers.push(async () => { process.off('SIGTERM', onSignal); process.off('SIGINT', onSignal); });
  }

  // --- Slack app (issue 4): slash commands, buttons, /healthz and /metrics; stopped on shutdown ---
  let slackApp: SlackApp | undefined;
  if (ctx.config.slack) {
    try {
      slackApp = await startSlackApp(ctx, { port: opts.slackPort, host: opts.slackHost });
      const started = slackApp;
      stoppers.push(() => started.stop());
      process.stdout.write(`backup-bot: Slack app ${slackApp.mode === 'http' ? `listening on port ${slackApp.port} (/slack/events)` : 'connected in Socket Mode'}; /healthz and /metrics on port ${slackApp.port}\n`);
    } catch (err) {
      await stop('the Slack app could not start');
      throw err;
    }
  }
  // --- end Slack app ---
  // --- scheduled jobs (issue 5): after the reaping above; catches up missed schedules once; SIGTERM waits for running jobs ---
  let scheduler: Scheduler | undefined;
  // In-process tests (jest, running src/*.ts) of other front doors get no timers unless they ask for the scheduler.
  const inProcessTest = Boolean(process.env.JEST_WORKER_ID) && import.meta.url.endsWith('.ts');
  const wantScheduler = opts.scheduler !== undefined ? opts.scheduler !== false : !inProcessTest;
  if (wantScheduler) {
    try {
      scheduler = await createScheduler(ctx, opts.scheduler || {});
      const started = scheduler;
      stoppers.push(async () => { await started.stop(); });
      const { caughtUp } = await scheduler.start();
      process.stdout.write(`backup-bot: ${scheduler.specs.length} scheduled job(s) in ${ctx.config.timezone}${caughtUp.length ? `; catching up ${caughtUp.join(', ')}` : ''}\n`);
    } catch (err) {
      await stop('the scheduler could not start');
      throw err;
    }
  }
  // --- end scheduled jobs ---
  log.info({ clients: Object.keys(ctx.config.clients), slack: Boolean(ctx.config.slack) }, 'backup-bot started');
  process.stdout.write(`backup-bot: serving ${Object.keys(ctx.config.clients).length} client(s): ${Object.keys(ctx.config.clients).join(', ')}${ctx.config.slack ? '' : ' (no Slack: reports on the console)'}\n`);
  return { ctx, stopped, stop, ...(slackApp ? { slack: slackApp } : {}), ...(scheduler ? { scheduler } : {}) };
}
