import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { OperationError, errorMessage } from '../errors.js';

/** `config.docker` (src/config/schema.ts). */
export interface DockerSettings {
  host?: string;
  tls?: { ca: string; cert: string; key: string };
  allowInsecure?: boolean;
  ssh?: { hostKey?: string; privateKey?: string };
}

/** How the bot talks to the engine, for tests and messages (never key material). */
export interface DockerConnection {
  transport: 'socket' | 'http' | 'https' | 'ssh';
  /** https: a client certificate is presented and the server certificate verified against `ca`. */
  clientCertificate: boolean;
  /** Where the TLS material came from: `docker.tls` or `DOCKER_CERT_PATH=…`. */
  tlsFrom?: string;
  options: Docker.DockerOptions;
}

type Env = Record<string, string | undefined>;

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new OperationError(`cannot read ${what} (${path}): ${errorMessage(err)}`);
  }
}

/** `SHA256:<base64, no padding>`, as `ssh-keygen -lf` prints it. */
export function sshFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The TLS material for a tcp:// / https:// engine: `docker.tls` (PEM file paths), else what the docker
 * CLI reads from the environment: DOCKER_TLS_VERIFY set to any non-empty value turns verification on,
 * DOCKER_CERT_PATH (default ~/.docker) holds ca.pem, cert.pem and key.pem.
 */
function tlsMaterial(settings: DockerSettings, env: Env): { ca: Buffer; cert: Buffer; key: Buffer; from: string } | undefined {
  if (settings.tls) {
    const t = settings.tls;
    return { ca: readPem(t.ca, 'docker.tls.ca'), cert: readPem(t.cert, 'docker.tls.cert'), key: readPem(t.key, 'docker.tls.key'), from: 'docker.tls' };
  }
  if (env.DOCKER_TLS_VERIFY) {
    const dir = env.DOCKER_CERT_PATH || env.DOCKER_CONFIG || join(homedir(), '.docker');
    const f = (name: string) => readPem(join(dir, name), `${name} of DOCKER_CERT_PATH (DOCKER_TLS_VERIFY is set)`);
    return { ca: f('ca.pem'), cert: f('cert.pem'), key: f('key.pem'), from: `DOCKER_CERT_PATH=${dir}` };
  }
  return undefined;
}

/**
 * Decides how to reach `docker.host` (else DOCKER_HOST, else the local socket), refusing what would put
 * production data and root on the engine's host at the mercy of the network:
 * - `unix://…` (or nothing): the socket.
 * - `tcp://` / `https://` with TLS material (docker.tls, or DOCKER_TLS_VERIFY + DOCKER_CERT_PATH): TLS with
 *   the client certificate; the server certificate is verified against the CA (and the host name).
 * - without TLS material: allowed to a loopback address only; any other host is refused with an error
 *   naming docker.tls and docker.allowInsecure, unless `docker.allowInsecure: true`.
 * - `ssh://user@host[:port]` (docker-modem runs `docker system dial-stdio` over SSH, with the key in
 *   docker.ssh.privateKey or the agent of SSH_AUTH_SOCK): the server's host key must match
 *   docker.ssh.hostKey (`SHA256:…`, `ssh-keygen -lf`), unless allowInsecure.
 * Every option is set explicitly: docker-modem would otherwise mix in DOCKER_HOST/DOCKER_CERT_PATH itself.
 */
export function dockerConnection(settings: DockerSettings, env: Env = process.env): DockerConnection {
  const host = settings.host ?? env.DOCKER_HOST;
  const key = settings.host ? 'docker.host' : 'DOCKER_HOST';
  const unset = { host: undefined, port: undefined, protocol: undefined, socketPath: undefined, ca: undefined, cert: undefined, key: undefined, username: undefined, sshOptions: undefined } as const;
  if (!host) return { transport: 'socket', clientCertificate: false, options: { ...unset, socketPath: '/var/run/docker.sock' } };
  if (host.startsWith('unix://')) return { transport: 'socket', clientCertificate: false, options: { ...unset, socketPath: host.slice('unix://'.length) || '/var/run/docker.sock' } };
  let u: URL;
  try {
    u = new URL(host.includes('://') ? host : `tcp://${host}`);
  } catch {
    throw new OperationError(`${key} ${JSON.stringify(host)} is not a Docker address (accepted: unix:///path, tcp://host:port, https://host:port, ssh://user@host)`);
  }
  const hostname = u.hostname.replace(/^\[|\]$/g, '');
  const insecureOk = settings.allowInsecure === true;

  if (u.protocol === 'ssh:') {
    const expected = settings.ssh?.hostKey;
    if (!expected && !insecureOk) {
      throw new OperationError(`${key} ${host}: the SSH host key of the Docker engine is not pinned, so anyone in the network path could pose as it. Set docker.ssh.hostKey to its fingerprint ("SHA256:…", from ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on that host), or docker.allowInsecure: true to accept it anyway`);
    }
    const sshOptions: Record<string, unknown> = {};
    if (settings.ssh?.privateKey) sshOptions.privateKey = readPem(settings.ssh.privateKey, 'docker.ssh.privateKey');
    else if (env.SSH_AUTH_SOCK) sshOptions.agent = env.SSH_AUTH_SOCK;
    if (expected) sshOptions.hostVerifier = (k: Buffer) => sshFingerprint(k) === expected;
    return {
      transport: 'ssh', clientCertificate: false,
      options: { ...unset, protocol: 'ssh', host: hostname, port: Number(u.port || 22), username: decodeURIComponent(u.username) || undefined, sshOptions } as Docker.DockerOptions,
    };
  }
  if (!['tcp:', 'http:', 'https:'].includes(u.protocol)) {
    throw new OperationError(`${key} ${host}: unsupported scheme ${u.protocol.replace(/:$/, '')} (accepted: unix, tcp, https, ssh)`);
  }
  const tls = u.protocol === 'http:' ? undefined : tlsMaterial(settings, env);
  if (tls) {
    return {
      transport: 'https', clientCertificate: true, tlsFrom: tls.from,
      options: { ...unset, protocol: 'https', host: hostname, port: Number(u.port || 2376), ca: tls.ca, cert: tls.cert, key: tls.key },
    };
  }
  if (!isLoopback(hostname) && !insecureOk) {
    throw new OperationError(`${key} ${host}: a remote Docker engine without TLS client authentication is refused: whoever reaches that port is root on its host and sees the production data restored there. Set docker.tls: { ca, cert, key } (or DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH holding ca.pem, cert.pem and key.pem) for TLS with a client certificate, or docker.allowInsecure: true to accept it anyway`);
  }
  const https = u.protocol === 'https:';
  return { transport: https ? 'https' : 'http', clientCertificate: false, options: { ...unset, protocol: https ? 'https' : 'http', host: hostname, port: Number(u.port || (https ? 2376 : 2375)) } };
}

/** A dockerode client for `docker.host` (see dockerConnection for what is accepted and refused). */
export function dockerFromConfig(config: { docker: DockerSettings }, env: Env = process.env): Docker {
  const c = dockerConnection(config.docker, env);
  try {
    return new Docker(c.options);
  } catch (err) {
    throw new OperationError(`cannot set up the Docker client for ${describeDockerHost(config, env)}: ${errorMessage(err)}`);
  }
}

/** Where the Docker engine is, for messages (never credentials). */
export function describeDockerHost(config: { docker: DockerSettings }, env: Env = process.env): string {
  const host = config.docker.host ?? env.DOCKER_HOST;
  if (!host) return 'unix:///var/run/docker.sock';
  return host.replace(/\/\/[^@/]*@/, '//');
}

/** Checks that the engine answers; a clear error naming where it was looked for when not. */
export async function pingDocker(docker: Docker, where: string): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw new OperationError(`cannot reach the Docker daemon at ${where}: ${errorMessage(err)} (is dockerd running? check docker.host / DOCKER_HOST, and docker.tls for a TLS engine)`);
  }
}
