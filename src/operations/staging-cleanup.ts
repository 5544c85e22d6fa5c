import type { Context } from '../context.js';
import { errorMessage } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { describeEngine, stagingDocker, stagingEngines } from '../core/staging/docker.js';
import { stateIdOf } from '../core/staging/labels.js';
import { cleanupOrphans, type OrphanCleanup } from '../core/staging/orphans.js';

/**
 * Removes this bot's labelled staging containers and networks whose run is not running (of one client, or all)
 * on every staging engine (docker.hosts, else the one of docker.host), the engines in parallel. An engine that
 * does not answer within `timeoutMs` or is refused is one error naming it: never a throw, never waited for
 * longer; the next recovery tries it again.
 */
export async function cleanStagingLeftovers(ctx: Context, opts: { client?: string; timeoutMs: number }): Promise<OrphanCleanup> {
  const isRunning = async (runId: string) => (await ctx.store.runs.get(runId).catch(() => undefined))?.status === 'running';
  const stateId = stateIdOf(ctx.config.state.url);
  const one = async (e: ReturnType<typeof stagingEngines>[number]): Promise<OrphanCleanup> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${opts.timeoutMs / 1000} s`)), opts.timeoutMs); });
    try {
      const work = Promise.resolve().then(() => cleanupOrphans(stagingDocker(e), isRunning, { stateId, ...(opts.client !== undefined ? { client: opts.client } : {}) }));
      work.catch(() => {});
      const o = await Promise.race([work, late]);
      return { ...o, errors: o.errors.map((x) => `${describeEngine(e)}: ${x}`) };
    } catch (err) {
      return { containers: [], networks: [], errors: [redactSecrets(`${describeEngine(e)}: ${errorMessage(err)}`).slice(0, 300)] };
    } finally {
      clearTimeout(timer);
    }
  };
  const all = await Promise.all(stagingEngines(ctx.config).map(one));
  return { containers: all.flatMap((o) => o.containers), networks: all.flatMap((o) => o.networks), errors: all.flatMap((o) => o.errors) };
}
