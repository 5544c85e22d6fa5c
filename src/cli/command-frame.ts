import type { Command } from 'commander';
import { configDir, loadConfig, type LoadedConfig } from '../config/load.js';
import { createContext, requireClient, type Context, type ContextOptions } from '../context.js';
import { MessageReporter } from '../notify/message-reporter.js';
import { ConsoleSink } from '../notify/sink.js';
import { silentReporter, type Reporter } from '../operations/reporter.js';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { createLogger, type Logger } from '../logger.js';
import { prepareDemoDatabase } from '../core/demo-database.js';

export interface GlobalOptions { config?: string; json?: boolean }

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/**
 * The config every command runs on: --config, $BACKUP_BOT_CONFIG or ./backup-bot.yml; with none of them the
 * embedded defaults `serve` runs on (state database backup_bot, ./backups, client demo), said in one line on
 * stderr (`serve` prints every default it used instead: `quiet`).
 */
export function load(cmd: Command, opts: { quiet?: boolean } = {}): LoadedConfig {
  const loaded = loadConfig({ path: globals(cmd).config, allowDefaults: true });
  if (loaded.source === EMBEDDED && !opts.quiet) process.stderr.write(`backup-bot: ${embeddedDefaultsLine(loaded)}\n`);
  for (const w of loaded.warnings ?? []) process.stderr.write(`backup-bot: warning: ${w}\n`);
  return loaded;
}

const EMBEDDED = 'embedded defaults';

/** "no backup-bot.yml found: using the embedded defaults (state database backup_bot, storage ./backups, client demo)". */
function embeddedDefaultsLine(loaded: LoadedConfig): string {
  const stateDb = loaded.config.state.url.replace(/^.*\/([^/?]+)(\?.*)?$/, '$1');
  const storage = Object.values(loaded.config.storage).map((s) => (s.type === 'local' ? s.path : s.type)).join(', ');
  return `no backup-bot.yml found: using the embedded defaults (state database ${stateDb}, storage ${storage}, client ${Object.keys(loaded.config.clients).join(', ')})`;
}

/** On the embedded defaults, the demo client's database is created with sample data when missing (as `serve` does). */
async function prepareEmbedded(loaded: LoadedConfig): Promise<void> {
  if (loaded.source !== EMBEDDED) return;
  for (const [name, c] of Object.entries(loaded.config.clients)) {
    if (c.database.engine === 'postgres' && (await prepareDemoDatabase(c.database.url))) {
      process.stderr.write(`backup-bot: created the demo database for client "${name}" with sample data\n`);
    }
  }
}

/** Loads config, builds the context (reports as text on stderr, or none with --json), runs `fn`, closes. */
export async function withContext<T>(cmd: Command, fn: (ctx: Context, loaded: LoadedConfig) => Promise<T>, opts: ContextOptions & { client?: string } = {}): Promise<T> {
  const loaded = load(cmd);
  if (opts.client !== undefined) requireClient(loaded.config, opts.client);
  await prepareEmbedded(loaded);
  const json = globals(cmd).json;
  const logger = opts.logger ?? createLogger({ level: process.env.LOG_LEVEL ?? (json ? 'warn' : 'info') });
  const ctx = await createContext(loaded.config, {
    reporter: opts.reporter ?? withRecoveryNotices(json ? silentReporter : new MessageReporter({ config: loaded.config, sink: new ConsoleSink(process.stderr), logger }), loaded.config, logger, json),
    logger,
    keyDir: configDir(loaded),
    createDatabase: opts.createDatabase ?? loaded.source === EMBEDDED,
    ...opts,
  });
  try {
    return await fn(ctx, loaded);
  } finally {
    await ctx.close();
  }
}

/**
 * What a recovery cleaned (recover-client.ts) is always one line on stderr, also with --json, and one message in
 * the client's Slack channel when Slack is configured (the CLI shows everything else on the console only).
 */
function withRecoveryNotices(base: Reporter, config: Config, logger: Logger, json = false): Reporter {
  // The Slack Web API client loads only when there is something to post (most CLI runs recover nothing).
  let slack: Promise<Reporter> | undefined;
  const slackReporter = (s: NonNullable<Config['slack']>) => import('../notify/slack/web-sink.js').then(({ SlackWebSink }) =>
    new MessageReporter({ config, logger, sink: new SlackWebSink({ token: s.botToken, apiUrl: s.apiUrl, logger, retryConfig: { retries: 1, minTimeout: 500, maxTimeout: 1000 } }) }));
  const console = json ? new MessageReporter({ config, sink: new ConsoleSink(process.stderr), logger }) : undefined;
  return {
    async report(event, replace) {
      if (event.kind === 'notice.recovered') {
        if (config.slack) await (slack ??= slackReporter(config.slack)).then((r) => r.report(event)).catch(() => undefined);
        if (console) return console.report(event);
      }
      return base.report(event, replace);
    },
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(redactSecrets(JSON.stringify(value, null, 2)) + '\n');
}

export function printLine(line = ''): void {
  process.stdout.write(redactSecrets(line) + '\n');
}

/** Prints the error message (never a stack trace, never a secret) and exits 2 for user errors, 1 for faults. */
function fail(err: unknown, json = false): never {
  const e = err as { exitCode?: number };
  const code = typeof e.exitCode === 'number' ? e.exitCode : 1;
  const msg = redactSecrets(errorMessage(err));
  if (json) process.stdout.write(JSON.stringify({ ok: false, error: msg }) + '\n');
  process.stderr.write(`backup-bot: ${msg}\n`);
  if (process.env.BACKUP_BOT_DEBUG && err instanceof Error && err.stack) process.stderr.write(redactSecrets(err.stack) + '\n');
  process.exit(code);
}

/** Wraps a command action: errors become a message and an exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>) {
  return async (...args: A): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === 'number' ? code : 0;
    } catch (err) {
      fail(err, globals(cmd).json);
    }
  };
}
