import { configDir, type LoadedConfig } from './config/load.js';
import { createContext, type Context, type ContextOptions } from './context.js';
import { markRestoresInterrupted } from './operations/restore-recovery.js';
import { recoverClient } from './operations/recover-client.js';
import { cleanStagingLeftovers } from './operations/staging-cleanup.js';
import { prepareDemoDatabase } from './core/demo-database.js';
import { UserError, errorMessage } from './core/errors.js';
import { MessageReporter } from './notify/message-reporter.js';
import { EmailAlertReporter } from './notify/email.js';
import { ConsoleSink, type MessageSink } from './notify/sink.js';
import { SlackWebSink } from './notify/slack/web-sink.js';
import { APPROVAL_BUTTONS } from './approvals/index.js';
import { startSlackApp, type SlackApp } from './slack/app.js';
import { createLogger } from './logger.js';
import { createMetrics } from './slack/metrics.js';
import { startOpsEndpoints, type OpsEndpoints } from './ops-endpoints.js';
import { parseListen } from './config/schema.js';
import { createScheduler, type Scheduler, type SchedulerOptions } from './scheduler.js';
import { openWorkQueueRunner, type WorkQueueRunner } from './jobs/work-queue-runner.js';
import { registerQueueMetrics } from './slack/queue-metrics.js';
import { runRequestedBackup } from './operations/queued-backup.js';

export interface Server {
  ctx: Context;
  /** Resolves when the server has stopped (SIGTERM/SIGINT or stop()). */
  stopped: Promise<void>;
  stop(reason?: string): Promise<void>;
  /** The Slack app when config.slack is set. */
  slack?: SlackApp;
  /** /metrics and /healthz on their own listener (metrics.listen). */
  ops: OpsEndpoints;
  /** The bree scheduler, unless disabled with `scheduler: false`. */
  scheduler?: Scheduler;
  /** The shared work queue the scheduler hands heavy work to (issue 21). */
  workQueue?: WorkQueueRunner;
}

export interface ServerOptions extends ContextOptions {
  /** Install SIGTERM/SIGINT handlers (default true). */
  handleSignals?: boolean;
  /** Where messages go (tests: a recorder); default the Slack Web API with Slack configured, else the console. */
  sink?: MessageSink;
  /** Slack app: overrides slack.port (tests: 0) and the interface it listens on. */
  slackPort?: number;
  slackHost?: string;
  /** Overrides metrics.listen (tests: 127.0.0.1:0). */
  metricsListen?: string;
  /** Scheduled jobs: options, or false to run without them (default on). */
  scheduler?: SchedulerOptions | false;
  /** The shared work queue under the scheduler (issue 21): options, or false to run queued jobs where they fire. */
  workQueue?: { pollSeconds?: number } | false;
}

/**
 * `backup-bot serve`: builds the context, recovers what a stopped process left (runs marked interrupted,
 * production restores shown interrupted, orphaned staging containers removed), prepares the quickstart's demo
 * database, then starts the front doors (Slack app, scheduler) and waits for a stop signal.
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
  const slackCfg = loaded.config.slack;
  const logger = opts.logger ?? createLogger();
  const sink = opts.sink ?? (slackCfg ? new SlackWebSink({ token: slackCfg.botToken, apiUrl: slackCfg.apiUrl, logger }) : new ConsoleSink());
  const shown = opts.reporter ?? new MessageReporter({ config: loaded.config, sink, logger, buttons: APPROVAL_BUTTONS });
  // alerts.email: S1/S2 alerts also by e-mail (when Slack cannot be reached, or as a copy).
  const email = loaded.config.alerts.email ? new EmailAlertReporter(shown, { email: loaded.config.alerts.email, logger }) : undefined;
  const reporter = email ?? shown;
  const ctx = await createContext(loaded.config, { createDatabase: defaults, keyDir: configDir(loaded), ...opts, logger, reporter });
  if (ctx.signer.created) process.stdout.write(`backup-bot: created the evidence signing key ${ctx.signer.source} (key id ${ctx.signer.keyId}); keep it safe and out of the state database\n`);
  const log = ctx.logger;

  await recoverAtStart(ctx);

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

  // /metrics and /healthz on their own listener (metrics.listen), with or without Slack; closed last.
  const metrics = createMetrics(ctx.store, { onError: (err) => log.warn({ err: errorMessage(err) }, 'could not read the figures for /metrics') });
  if (email) {
    email.onResult = (o) => metrics.alertEmails.inc({ result: o.ok ? 'sent' : 'failed' });
    stoppers.push(async () => { await email.idle(); email.close(); });
  }
  let slackApp: SlackApp | undefined;
  /** The shared work queue, once the scheduler has started (the Slack app reads it when a command comes). */
  let workQueue: WorkQueueRunner | undefined;
  const listen = opts.metricsListen ?? ctx.config.metrics.listen;
  let ops: OpsEndpoints;
  try {
    ops = await startOpsEndpoints({
      ...parseListen(listen), token: ctx.config.metrics.token, metrics, store: ctx.store, logger: log,
      ...(slackCfg ? { slack: () => slackApp?.health() ?? { mode: slackCfg.appToken ? 'socket' as const : 'http' as const, connected: false } } : {}),
    });
    const started = ops;
    stoppers.push(() => started.close());
    process.stdout.write(`backup-bot: /healthz and /metrics on ${ops.url}${ctx.config.metrics.token ? ' (bearer token required)' : ''}\n`);
  } catch (err) {
    await stop('the operational endpoints could not start');
    throw new UserError(`metrics.listen ${JSON.stringify(listen)}: cannot serve /metrics and /healthz there (${errorMessage(err)}); set metrics.listen to a free HOST:PORT`);
  }
  if (ctx.config.slack) {
    try {
      slackApp = await startSlackApp(ctx, { metrics, port: opts.slackPort, host: opts.slackHost, queue: () => workQueue });
      if (sink instanceof SlackWebSink) sink.onFailure = (method) => metrics.slackFailures.inc({ method });
      const started = slackApp;
      stoppers.push(() => started.stop());
      process.stdout.write(`backup-bot: Slack app ${slackApp.mode === 'http' ? `listening on port ${slackApp.port} (/slack/events)` : 'connected in Socket Mode'}\n`);
    } catch (err) {
      await stop('the Slack app could not start');
      throw err;
    }
  }
  let scheduler: Scheduler | undefined;
  if (opts.scheduler !== false) {
    try {
      const queue = opts.workQueue === false ? undefined : await openWorkQueueRunner(ctx, opts.workQueue || {});
      // Stopped in reverse: stop pulling work, stop the scheduler (waits for the work in hand), close the queue.
      if (queue) stoppers.push(() => queue.stop());
      scheduler = await createScheduler(ctx, { ...(opts.scheduler || {}), ...(queue ? { dispatch: (spec, fire) => queue.dispatch(spec, fire) } : {}) });
      const started = scheduler;
      stoppers.push(async () => { await started.stop(); });
      if (queue) {
        stoppers.push(() => queue.pause());
        await queue.start((name, attempt) => started.run(name, attempt), () => started.running(), async (r, attempt) => { await runRequestedBackup(ctx, r, attempt); });
      }
      if (queue) registerQueueMetrics(metrics.registry, queue, `${ctx.instance.host}:${ctx.instance.pid}`);
      workQueue = queue;
      const { caughtUp } = await scheduler.start();
      process.stdout.write(`backup-bot: ${scheduler.specs.length} scheduled job(s) in ${ctx.config.timezone}${caughtUp.length ? `; catching up ${caughtUp.join(', ')}` : ''}\n`);
    } catch (err) {
      await stop('the scheduler could not start');
      throw err;
    }
  }
  log.info({ clients: Object.keys(ctx.config.clients), slack: Boolean(ctx.config.slack) }, 'backup-bot started');
  process.stdout.write(`backup-bot: serving ${Object.keys(ctx.config.clients).length} client(s): ${Object.keys(ctx.config.clients).join(', ')}${ctx.config.slack ? '' : ' (no Slack: reports on the console)'}\n`);
  return { ctx, stopped, stop, ops, ...(slackApp ? { slack: slackApp } : {}), ...(scheduler ? { scheduler } : {}), ...(workQueue ? { workQueue } : {}) };
}

/**
 * What a stopped process left behind: every client's dead runs marked interrupted and its storage leftovers cleaned
 * (recover-client.ts, one message per client), other dead runs marked interrupted, production restores shown
 * interrupted, orphaned staging containers and networks removed.
 */
async function recoverAtStart(ctx: Context): Promise<void> {
  const log = ctx.logger;
  for (const client of Object.keys(ctx.config.clients)) await recoverClient(ctx, client, { storage: true, docker: false });
  for (const r of await ctx.store.reapInterruptedRuns(ctx.clock.now())) {
    log.warn({ run: r.id, kind: r.kind, client: r.client }, 'run interrupted by a previous stop');
    await ctx.reporter.report({ kind: 'notice.run_interrupted', client: r.client ?? '', runKind: r.kind, runId: r.id, startedAt: r.started_at, step: r.step });
  }
  for (const a of await markRestoresInterrupted(ctx).catch((err: unknown) => { log.error({ err: errorMessage(err) }, 'could not mark interrupted restores'); return []; })) {
    log.warn({ approval: a.id, client: a.client, lastStep: a.last_step, oldDatabase: a.old_database }, 'production restore interrupted by a previous stop');
  }
  // Every staging engine (docker.hosts): an unreachable or refused engine is a warning naming it, not a failed start.
  void cleanStagingLeftovers(ctx, { timeoutMs: 30_000 })
    .then((o) => {
      if (o.containers.length || o.networks.length) log.warn({ containers: o.containers, networks: o.networks }, 'removed orphaned staging containers');
      for (const e of o.errors) log.warn({ err: e }, 'could not look for orphaned staging containers (Docker unreachable?)');
    })
    .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not look for orphaned staging containers'));
}
