import type { LogLevel, Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../../logger.js';

/** Bolt's and the WebClient's logger interface over our pino logger (secrets are redacted by pino). */
export function boltLogger(log: Logger): BoltLogger {
  // A type-only import: a value import of @slack/bolt here loaded all of Bolt (express, jsonwebtoken, undici: ~16 MB
  // RSS and 0.2 s) into every CLI run that posts to Slack, `backup` included.
  let level = 'info' as LogLevel;
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(' ');
  return {
    debug: (...m: unknown[]) => log.debug(text(m)),
    info: (...m: unknown[]) => log.info(text(m)),
    warn: (...m: unknown[]) => log.warn(text(m)),
    error: (...m: unknown[]) => log.error(text(m)),
    setLevel: (l: LogLevel) => { level = l; },
    getLevel: () => level,
    setName: () => {},
  };
}
