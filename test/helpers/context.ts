import { createContext, type Context } from '../../src/context.js';
import type { Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/logger.js';
import type { Clock } from '../../src/core/time.js';
import { RecordingNotifier } from './notifier.js';

export async function testContext(config: Config, o: { clock?: Clock; notifier?: RecordingNotifier } = {}): Promise<Context & { notifier: RecordingNotifier }> {
  const notifier = o.notifier ?? new RecordingNotifier();
  const ctx = await createContext(config, { notifier, logger: silentLogger, clock: o.clock, poolSize: 5 });
  return Object.assign(ctx, { notifier });
}

/** A clock tests move by hand. */
export class FakeClock implements Clock {
  constructor(private t: Date) {}
  now(): Date { return new Date(this.t); }
  set(d: Date | string): void { this.t = new Date(d); }
  advance(ms: number): void { this.t = new Date(this.t.getTime() + ms); }
}
