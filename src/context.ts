import type { Config } from './config/schema.js';
import { openStore, type Store } from './store/store.js';
import type { Instance } from './store/instance.js';
import { silentReporter, type Reporter } from './operations/reporter.js';
import { systemClock, type Clock } from './core/time.js';
import { createLogger, type Logger } from './logger.js';
import { createStorage } from './core/storage/index.js';
import type { Storage } from './core/storage/storage.js';
import { UserError } from './core/errors.js';
import { loadSigner, type Signer } from './evidence/signer.js';

/**
 * What every use case is handed (pg-boss style: one wiring point builds each collaborator once). Tests build
 * it with their own reporter or clock; never with a fake database, storage or Docker.
 */
export interface Context {
  config: Config;
  /** The state database: named queries, one pool per process (or worker thread). */
  store: Store;
  instance: Instance;
  reporter: Reporter;
  /** The evidence signing key (never in the state database): signs decisions and chain heads, verifies them. */
  signer: Signer;
  clock: Clock;
  logger: Logger;
  /** The storage destination by name (created once). */
  storage(name: string): Storage;
  /** The client's config, or a UserError listing the configured clients. */
  client(name: string): Config['clients'][string];
  close(): Promise<void>;
}

export interface ContextOptions {
  reporter?: Reporter;
  signer?: Signer;
  /** Where the default signing key lives (the config file's directory; the working directory without one). */
  keyDir?: string;
  clock?: Clock;
  logger?: Logger;
  /** Create the state database if it does not exist (embedded defaults, tests). */
  createDatabase?: boolean;
  poolSize?: number;
}

export async function createContext(config: Config, opts: ContextOptions = {}): Promise<Context> {
  const signer = opts.signer ?? loadSigner({ signingKey: config.evidence.signingKey, trustedKeys: config.evidence.trustedKeys, baseDir: opts.keyDir ?? process.cwd() });
  const store = await openStore(config.state.url, { createDatabase: opts.createDatabase, poolSize: opts.poolSize, ownerUrl: config.state.ownerUrl });
  let instance: Instance;
  try {
    instance = await store.claimInstance();
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  const storages = new Map<string, Storage>();
  let closed = false;
  return {
    config,
    store,
    instance,
    reporter: opts.reporter ?? silentReporter,
    signer,
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
      await store.close();
    },
  };
}

export function requireClient(config: Config, name: string): Config['clients'][string] {
  const c = Object.prototype.hasOwnProperty.call(config.clients, name) ? config.clients[name] : undefined;
  if (!c) throw new UserError(`unknown client "${name.slice(0, 80)}" (configured clients: ${Object.keys(config.clients).join(', ')})`);
  return c;
}
