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

/** `config.docker` with its staging engines (`docker.hosts`, issue 21). */
export interface DockerConfig extends DockerSettings {
  hosts?: Array<DockerSettings & { name?: string; host: string }>;
}

/** Where a dockerConnection's settings come from: the config key they sit under, and whether the environment may fill in. */
export interface ConnectionSource {
  /** `docker` (default) or `docker.hosts[1]`: named in every error. */
  key?: string;
  /** Default true: DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH fill in what the settings leave out (docker.host only, never a docker.hosts entry). */
  fromEnv?: boolean;
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
function tlsMaterial(settings: DockerSettings, env: Env, prefix: string, fromEnv: boolean): { ca: Buffer; cert: Buffer; key: Buffer; from: string } | undefined {
  if (settings.tls) {
    const t = settings.tls;
    return { ca: readPem(t.ca, `${prefix}.tls.ca`), cert: readPem(t.cert, `${prefix}.tls.cert`), key: readPem(t.key, `${prefix}.tls.key`), from: `${prefix}.tls` };
  }
  if (fromEnv && env.DOCKER_TLS_VERIFY) {
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
 * A `docker.hosts` entry (source.key `docker.hosts[i]`, fromEnv false) is read the same way from its own
 * settings only: the environment never adds an address or TLS material to it.
 */
export function dockerConnection(settings: DockerSettings, env: Env = process.env, source: ConnectionSource = {}): DockerConnection {
  const fromEnv = source.fromEnv ?? true;
  const prefix = source.key ?? 'docker';
  const host = settings.host ?? (fromEnv ? env.DOCKER_HOST : undefined);
  const key = settings.host ? `${prefix}.host` : 'DOCKER_HOST';
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
      throw new OperationError(`${key} ${host}: the SSH host key of the Docker engine is not pinned, so anyone in the network path could pose as it. Set ${prefix}.ssh.hostKey to its fingerprint ("SHA256:…", from ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on that host), or ${prefix}.allowInsecure: true to accept it anyway`);
    }
    const sshOptions: Record<string, unknown> = {};
    if (settings.ssh?.privateKey) sshOptions.privateKey = readPem(settings.ssh.privateKey, `${prefix}.ssh.privateKey`);
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
  const tls = u.protocol === 'http:' ? undefined : tlsMaterial(settings, env, prefix, fromEnv);
  if (tls) {
    return {
      transport: 'https', clientCertificate: true, tlsFrom: tls.from,
      options: { ...unset, protocol: 'https', host: hostname, port: Number(u.port || 2376), ca: tls.ca, cert: tls.cert, key: tls.key },
    };
  }
  if (!isLoopback(hostname) && !insecureOk) {
    throw new OperationError(`${key} ${host}: a remote Docker engine without TLS client authentication is refused: whoever reaches that port is root on its host and sees the production data restored there. Set ${prefix}.tls: { ca, cert, key }${fromEnv ? ' (or DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH holding ca.pem, cert.pem and key.pem)' : ''} for TLS with a client certificate, or ${prefix}.allowInsecure: true to accept it anyway`);
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
function describeDockerHost(config: { docker: DockerSettings }, env: Env = process.env): string {
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

/** One engine restore tests may run on: a `docker.hosts` entry, or the single engine of docker.host. */
export interface StagingEngine {
  /** In messages, the run record and doctor: the entry's name (default its address); `default` for docker.host. */
  name: string;
  /** The address, without credentials. */
  where: string;
  /** The config key it comes from: `docker` or `docker.hosts[1]`. */
  key: string;
  /** What restoreTest.maxConcurrent counts against (across replicas): the engine's address. */
  slot: string;
  settings: DockerSettings;
  /** Only the single engine of docker.host reads DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH. */
  fromEnv: boolean;
}

/** The staging engines in config order: `docker.hosts`, else the one engine of docker.host (else DOCKER_HOST, else the local socket). */
export function stagingEngines(config: { docker: DockerConfig }, env: Env = process.env): StagingEngine[] {
  const hosts = config.docker.hosts;
  if (!hosts?.length) {
    const { hosts: _, ...settings } = config.docker;
    return [{ name: 'default', where: describeDockerHost(config, env), key: 'docker', slot: config.docker.host ?? env.DOCKER_HOST ?? 'local', settings, fromEnv: true }];
  }
  return hosts.map((h, i) => {
    const where = h.host.replace(/\/\/[^@/]*@/, '//');
    return { name: h.name ?? where, where, key: `docker.hosts[${i}]`, slot: h.host, settings: { host: h.host, tls: h.tls, ssh: h.ssh, allowInsecure: h.allowInsecure }, fromEnv: false };
  });
}

/** `docker.hosts[1] "name" (address)`; the address alone for the single engine of docker.host (as before docker.hosts). */
export function describeEngine(e: StagingEngine): string {
  if (e.fromEnv) return e.where;
  return `${e.key} ${e.name === e.where ? e.where : `"${e.name}" (${e.where})`}`;
}

/** A dockerode client for one staging engine (see dockerConnection: errors name the engine's config key). */
export function stagingDocker(e: StagingEngine, env: Env = process.env): Docker {
  const c = dockerConnection(e.settings, env, { key: e.key, fromEnv: e.fromEnv });
  try {
    return new Docker(c.options);
  } catch (err) {
    throw new OperationError(`cannot set up the Docker client for ${describeEngine(e)}: ${errorMessage(err)}`);
  }
}

/** Pings a staging engine; the error names the engine and the keys to check (`docker.hosts[1].host / .tls`). */
export async function pingEngine(docker: Docker, e: StagingEngine, timeoutMs = 10_000): Promise<void> {
  const keys = e.fromEnv ? undefined : `${e.key}.host, and ${e.key}.tls for a TLS engine`;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs); });
  const ping = docker.ping().then(() => undefined);
  try {
    await Promise.race([ping, late]);
  } catch (err) {
    ping.catch(() => {});
    throw new OperationError(`cannot reach the Docker daemon at ${describeEngine(e)}: ${errorMessage(err)} (is dockerd running? check ${keys ?? 'docker.host / DOCKER_HOST, and docker.tls for a TLS engine'})`);
  } finally {
    clearTimeout(timer);
  }
}
