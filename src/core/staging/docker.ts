import Docker from 'dockerode';
import type { Config } from '../../config/schema.js';
import { OperationError, errorMessage } from '../errors.js';

/** A dockerode client for `docker.host` (unix:// or tcp://), else DOCKER_HOST, else the local socket. */
export function dockerFromConfig(config: Pick<Config, 'docker'>): Docker {
  const host = config.docker.host ?? process.env.DOCKER_HOST;
  if (!host) return new Docker({ socketPath: '/var/run/docker.sock' });
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  const u = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: u.hostname, port: Number(u.port || 2375), protocol: u.protocol === 'https:' ? 'https' : 'http' });
}

/** Where the Docker engine is, for messages (never credentials). */
export function describeDockerHost(config: Pick<Config, 'docker'>): string {
  const host = config.docker.host ?? process.env.DOCKER_HOST;
  if (!host) return 'unix:///var/run/docker.sock';
  return host.replace(/\/\/[^@/]*@/, '//');
}

/**
 * True when ports the engine publishes on 127.0.0.1 are this machine's loopback (local socket or a
 * tcp:// engine on loopback). A remote DOCKER_HOST (dedicated staging server) is reached only by exec.
 */
export function dockerIsLocal(config: Pick<Config, 'docker'>): boolean {
  const host = config.docker.host ?? process.env.DOCKER_HOST;
  if (!host || host.startsWith('unix://')) return true;
  try {
    const h = new URL(host.replace(/^tcp:/, 'http:')).hostname.replace(/^\[|\]$/g, '');
    return h === '127.0.0.1' || h === 'localhost' || h === '::1';
  } catch {
    return false;
  }
}

/** Checks that the engine answers; a clear error naming where it was looked for when not. */
export async function pingDocker(docker: Docker, where: string): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw new OperationError(`cannot reach the Docker daemon at ${where}: ${errorMessage(err)} (is dockerd running? check docker.host / DOCKER_HOST)`);
  }
}
