import type Docker from 'dockerode';
import { errorMessage } from '../errors.js';
import { LABEL_CLIENT, LABEL_MANAGED, LABEL_RUN, LABEL_STATE } from './labels.js';

export interface OrphanCleanup { containers: string[]; networks: string[]; errors: string[] }

/**
 * Removes every container and network labelled `backup-bot.managed=true` whose run is not running
 * (the bot was killed during a restore test). `isRunning(runId)` decides; by default nothing is
 * considered running (call it before any run starts). With `stateId`, only what this bot (state
 * database) created is considered: another bot sharing the Docker engine keeps its containers. With `client`,
 * only that client's.
 */
export async function cleanupOrphans(docker: Docker, isRunning: (runId: string) => boolean | Promise<boolean> = () => false, opts: { stateId?: string; client?: string } = {}): Promise<OrphanCleanup> {
  const out: OrphanCleanup = { containers: [], networks: [], errors: [] };
  const filters = JSON.stringify({ label: [`${LABEL_MANAGED}=true`, ...(opts.stateId ? [`${LABEL_STATE}=${opts.stateId}`] : []), ...(opts.client !== undefined ? [`${LABEL_CLIENT}=${opts.client}`] : [])] });
  const keep = new Map<string, boolean>();
  const running = async (runId: string | undefined): Promise<boolean> => {
    if (!runId) return false;
    if (!keep.has(runId)) keep.set(runId, await isRunning(runId));
    return keep.get(runId)!;
  };
  for (const c of await docker.listContainers({ all: true, filters })) {
    if (await running(c.Labels?.[LABEL_RUN])) continue;
    try {
      await docker.getContainer(c.Id).remove({ force: true, v: true });
      out.containers.push(c.Names?.[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12));
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) out.errors.push(`container ${c.Id.slice(0, 12)}: ${errorMessage(err)}`);
    }
  }
  for (const n of await docker.listNetworks({ filters })) {
    if (await running(n.Labels?.[LABEL_RUN])) continue;
    try {
      await docker.getNetwork(n.Id).remove();
      out.networks.push(n.Name);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) out.errors.push(`network ${n.Name}: ${errorMessage(err)}`);
    }
  }
  return out;
}
