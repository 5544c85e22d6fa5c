import type { LoadedConfig } from './config/load.js';
import { createContext, type Context, type ContextOptions } from './context.js';
import { reapInterruptedRuns } from './store/interrupted.js';
import { prepareDemoDatabase } from './operations/demo-database.js';
import { clientChannel } from './slack/notifier.js';
import { formatDateTime } from './core/time.js';
import { errorMessage } from './core/errors.js';

export interface Server {
  ctx: Context;
  /** Resolves when the server has stopped (SIGTERM/SIGINT or stop()). */
  stopped: Promise<void>;
  stop(reason?: string): Promise<void>;
}

export interface ServerOptions extends ContextOptions {
  /** Install SIGTERM/SIGINT handlers (default true). */
  handleSignals?: boolean;
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
  const ctx = await createContext(loaded.config, { createDatabase: defaults, ...opts });
  const log = ctx.logger;

  const interrupted = await reapInterruptedRuns(ctx.pool, ctx.clock.now());
  for (const r of interrupted) {
    const text = `:warning: A ${r.kind.replace('_', ' ')} run${r.client ? ` of ${r.client}` : ''} started ${formatDateTime(r.started_at, ctx.config.timezone)} was interrupted (the bot stopped during step "${r.step ?? '?'}"). Run ${r.id} is marked interrupted.`;
    log.warn({ run: r.id, kind: r.kind, client: r.client }, 'run interrupted by a previous stop');
    await ctx.notifier.post(clientChannel(ctx.config, r.client ?? ''), { text }).catch(() => undefined);
  }

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

  log.info({ clients: Object.keys(ctx.config.clients), slack: Boolean(ctx.config.slack) }, 'backup-bot started');
  process.stdout.write(`backup-bot: serving ${Object.keys(ctx.config.clients).length} client(s): ${Object.keys(ctx.config.clients).join(', ')}${ctx.config.slack ? '' : ' (no Slack: reports on the console)'}\n`);
  return { ctx, stopped, stop };
}
