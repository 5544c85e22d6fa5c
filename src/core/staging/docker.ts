import Docker from 'dockerode';
import type { Config } from '../../config/schema.js';

/** A dockerode client for `docker.host` (unix:// or tcp://), else DOCKER_HOST, else the local socket. */
export function dockerFromConfig(config: Pick<Config, 'docker'>): Docker {
  const host = config.docker.host ?? process.env.DOCKER_HOST;
  if (!host) return new Docker({ socketPath: '/var/run/docker.sock' });
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  const u = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: u.hostname, port: Number(u.port || 2375), protocol: u.protocol === 'https:' ? 'https' : 'http' });
}
