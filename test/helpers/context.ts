import { createContext, type Context } from '../../src/context.js';
import type { Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/logger.js';
import type { Clock } from '../../src/core/time.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { MessageReporter } from '../../src/notify/message-reporter.js';
import { APPROVAL_BUTTONS } from '../../src/approvals/index.js';
import { RecordingNotifier } from './notifier.js';
import { loadSigner } from '../../src/evidence/signer.js';
import { testSigningKeyPath } from './signing-key.js';
import { tmpdir } from 'node:os';

/** The reporter the bot uses, writing into a recorder. */
function recordingReporter(config: Config, notifier = new RecordingNotifier()): MessageReporter {
  return new MessageReporter({ config, sink: notifier, logger: silentLogger, buttons: APPROVAL_BUTTONS });
}

/**
 * A context as `serve` builds it, with the messages recorded (`notifier`) and, for the test's own checks and
 * tampering, a separate pool on the same state database (`pool`: the bot itself never sees a pool).
 */
export async function testContext(config: Config, o: { clock?: Clock; notifier?: RecordingNotifier; poolSize?: number } = {}): Promise<Context & { notifier: RecordingNotifier; pool: Pool }> {
  const notifier = o.notifier ?? new RecordingNotifier();
  // The test run's key unless the config names one (never a key file in the working directory).
  const signer = loadSigner({ signingKey: config.evidence.signingKey ?? testSigningKeyPath(), trustedKeys: config.evidence.trustedKeys, baseDir: tmpdir() });
  const ctx = await createContext(config, { reporter: recordingReporter(config, notifier), signer, logger: silentLogger, clock: o.clock, poolSize: o.poolSize ?? 8 });
  const pool = createPool(config.state.url, { max: 2, applicationName: 'backup-bot-test' });
  const close = ctx.close.bind(ctx);
  return Object.assign(ctx, { notifier, pool, close: async () => { await close(); await pool.end().catch(() => undefined); } });
}

export type TestContext = Awaited<ReturnType<typeof testContext>>;

/** A clock tests move by hand. */
export class FakeClock implements Clock {
  constructor(private t: Date) {}
  now(): Date { return new Date(this.t); }
  set(d: Date | string): void { this.t = new Date(d); }
  advance(ms: number): void { this.t = new Date(this.t.getTime() + ms); }
}
