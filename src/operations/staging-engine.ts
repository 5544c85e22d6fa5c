import type Docker from 'dockerode';
import type { Context } from '../context.js';
import { errorMessage } from '../core/errors.js';
import { describeEngine, pingEngine, stagingDocker, stagingEngines, type StagingEngine } from '../core/staging/docker.js';

/** An engine that could not be used for this restore test, and why (the error names its config key). */
export interface SkippedEngine { name: string; where: string; error: string }

/** What a restore test got: an engine that answered (holding one of its slots), and the engines skipped before it. */
export interface EngineChoice {
  chosen?: { engine: StagingEngine; docker: Docker };
  skipped: SkippedEngine[];
}

/**
 * The staging engine of a restore test (issue 21): a free slot (restoreTest.maxConcurrent per engine, across
 * replicas) of any engine of docker.hosts — every engine's first slot before any engine's second — waiting
 * when all are taken. An engine that cannot be reached (or whose settings are refused) is skipped for this test,
 * logged, and the next one tried; when none is left `fn` gets no engine and the list of what was tried, so the
 * test fails at provisioning naming them. `fn` runs while the slot is held.
 */
export async function withStagingEngine<T>(ctx: Context, who: { client: string; signal?: AbortSignal }, fn: (choice: EngineChoice) => Promise<T>): Promise<T> {
  const engines = stagingEngines(ctx.config);
  const limit = ctx.config.restoreTest.maxConcurrent;
  const skipped: SkippedEngine[] = [];
  let waited = false;
  const onWait = () => {
    if (waited) return;
    waited = true;
    const on = engines.length > 1 ? `each of the ${engines.length} Docker engines` : 'the Docker engine';
    ctx.logger.info({ client: who.client, engines: engines.map((e) => e.name) }, `restore test of ${who.client} waits: ${limit} already run on ${on}`);
  };
  for (;;) {
    const left = engines.filter((e) => !skipped.some((x) => x.name === e.name));
    if (left.length === 0) return fn({ skipped });
    const r: { skip: true } | { value: T } = await ctx.store.withAnySlot<{ skip: true } | { value: T }>('staging-engine', left.map((e) => e.slot), limit, async (slot) => {
      const engine = left.find((e) => e.slot === slot)!;
      let docker: Docker;
      try {
        docker = stagingDocker(engine);
        await pingEngine(docker, engine);
      } catch (err) {
        const error = errorMessage(err);
        skipped.push({ name: engine.name, where: engine.where, error });
        ctx.logger.warn({ client: who.client, engine: engine.name, err: error }, `restore test of ${who.client}: Docker engine ${describeEngine(engine)} skipped`);
        return { skip: true };
      }
      return { value: await fn({ chosen: { engine, docker }, skipped }) };
    }, { signal: who.signal, onWait });
    if ('value' in r) return r.value;
  }
}

/** The provisioning error when no engine could be used: the one engine's own error, or every engine tried and why. */
export function noEngineError(skipped: SkippedEngine[]): string {
  if (skipped.length === 1) return skipped[0]!.error;
  return `none of the ${skipped.length} staging Docker engines (docker.hosts) could be used: ${skipped.map((s) => s.error).join('; ')}`;
}
