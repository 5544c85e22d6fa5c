import { pino, type Logger } from 'pino';
import { redactSecrets } from './core/redact.js';

export type { Logger };

/** JSON logs on stderr; secret values and URL passwords are masked in every message and field. */
export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { app: 'backup-bot' },
      redact: { paths: ['*.password', '*.token', '*.botToken', '*.signingSecret', '*.appToken', '*.secretAccessKey', '*.accessKeyId', '*.url', '*.env'], censor: '***' },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a)) as Parameters<typeof method>);
        },
      },
      formatters: {
        log(obj) {
          return JSON.parse(redactSecrets(JSON.stringify(obj))) as Record<string, unknown>;
        },
      },
    },
    (opts.destination ?? process.stderr) as pino.DestinationStream,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
