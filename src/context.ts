import type { Config } from './config/schema.js';
import { connectState, ensureDatabase, type Pool } from './store/db.js';
import { migrate } from './store/migrate.js';
import { claimInstance, type Instance } from './store/instance.js';
import { ConsoleNotifier, type Notifier } from './slack/notifier.js';
import { systemClock, type Clock } from './core/time.js';
import { createLogger, type Logger } from './logger.js';
import { createStorage } from './core/storage/index.js';
import type { Storage } from './core/storage/storage.js';
import { UserError } from './core/errors.js';

/**
 * The one wiring point (pg-boss style): builds every collaborator once and hands it to the use cases.
 * Tests build it with their own notifier or clock; never with a fake database, storage or Docker.
 */
export interface Context {
  config: Config;
  pool: Pool;
  instance: Instance;
  notifier: Notifier;
  clock: Clock;
  logger: Logger;
  /** The storage destination by name (created once). */
  storage(name: string): Storage;
  /** The client's config, or a UserError listing the configured clients. */
  client(name: string): Config['clients'][string];
  close(): Promise<void>;
}

export interface ContextOptions {
  notifier?: Notifier;
  clock?: Clock;
  logger?: Logger;
  /** Create the state database if it does not exist (quickstart defaults, tests). */
  createDatabase?: boolean;
  poolSize?: number;
}

export async function createContext(config: Config, opts: ContextOptions = {}): Promise<Context> {
  if (opts.createDatabase) await ensureDatabase(config.state.url).catch(() => false);
  const pool = await connectState(config.state.url, { max: opts.poolSize ?? 10 });
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  const instance = await claimInstance(pool);
  const storages = new Map<string, Storage>();
  let closed = false;
  return {
    config,
    pool,
    instance,
    notifier: opts.notifier ?? new ConsoleNotifier(),
    clock: opts.clock ?? systemClock,
    logger: opts.logger ?? createLogger(),
    storage(name) {
      let s = storages.get(name);
      if (!s) {
        const cfg = config.storage[name];
        if (!cfg) throw new UserError(`unknown storage destination "${name}" (configured: ${Object.keys(config.storage).join(', ')})`);
        s = createStorage(name, cfg);
        storages.set(name, s);
      }
      return s;
    },
    client(name) {
      return requireClient(config, name);
    },
    async close() {
      if (closed) return;
      closed = true;
      await instance.release();
      await pool.end();
    },
  };
}

export function requireClient(config: Config, name: string): Config['clients'][string] {
  const c = Object.prototype.hasOwnProperty.call(config.clients, name) ? config.clients[name] : undefined;
  if (!c) throw new UserError(`unknown client "${name.slice(0, 80)}" (configured clients: ${Object.keys(config.clients).join(', ')})`);
  return c;
}
