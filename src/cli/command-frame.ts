import type { Command } from 'commander';
import { configDir, loadConfig, type LoadedConfig } from '../config/load.js';
import { createContext, requireClient, type Context, type ContextOptions } from '../context.js';
import { MessageReporter } from '../notify/message-reporter.js';
import { ConsoleSink } from '../notify/sink.js';
import { silentReporter, type Reporter } from '../operations/reporter.js';
import { SlackWebSink } from '../notify/slack/web-sink.js';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { createLogger, type Logger } from '../logger.js';

export interface GlobalOptions { config?: string; json?: boolean }

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function load(cmd: Command, opts: { allowDefaults?: boolean } = {}): LoadedConfig {
  return loadConfig({ path: globals(cmd).config, allowDefaults: opts.allowDefaults });
}

/** Loads config, builds the context (reports as text on stderr, or none with --json), runs `fn`, closes. */
export async function withContext<T>(cmd: Command, fn: (ctx: Context, loaded: LoadedConfig) => Promise<T>, opts: ContextOptions & { allowDefaults?: boolean; client?: string } = {}): Promise<T> {
  const loaded = load(cmd, { allowDefaults: opts.allowDefaults });
  if (opts.client !== undefined) requireClient(loaded.config, opts.client);
  const json = globals(cmd).json;
  const logger = opts.logger ?? createLogger({ level: process.env.LOG_LEVEL ?? (json ? 'warn' : 'info') });
  const ctx = await createContext(loaded.config, {
    reporter: opts.reporter ?? withRecoveryNotices(json ? silentReporter : new MessageReporter({ config: loaded.config, sink: new ConsoleSink(process.stderr), logger }), loaded.config, logger, json),
    logger,
    keyDir: configDir(loaded),
    createDatabase: opts.createDatabase ?? loaded.source === 'embedded defaults',
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
  const slack = config.slack
    ? new MessageReporter({ config, logger, sink: new SlackWebSink({ token: config.slack.botToken, apiUrl: config.slack.apiUrl, logger, retryConfig: { retries: 1, minTimeout: 500, maxTimeout: 1000 } }) })
    : undefined;
  const console = json ? new MessageReporter({ config, sink: new ConsoleSink(process.stderr), logger }) : undefined;
  return {
    async report(event, replace) {
      if (event.kind === 'notice.recovered') {
        await slack?.report(event).catch(() => undefined);
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
export function fail(err: unknown, json = false): never {
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
