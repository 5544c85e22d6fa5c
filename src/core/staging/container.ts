import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import pg from 'pg';
import { OperationError, errorMessage } from '../errors.js';
import { registerSecret } from '../redact.js';
import { runProgram } from '../run-program.js';
import { demuxLogBuffer, execIn } from './exec.js';
import { stagingLabels } from './labels.js';

export type StagingEngine = 'postgres' | 'mysql';

export interface StagingSpec {
  engine: StagingEngine;
  image: string;
  runId: string;
  client: string;
  memoryMb: number;
  cpus: number;
  /** stateIdOf(state url): labels the container so that only this bot's orphan cleanup removes it. */
  stateId?: string;
}

/** A running throwaway database server. The password lives only here and in the container's env. */
export interface Staging {
  docker: Docker;
  engine: StagingEngine;
  image: string;
  container: Docker.Container;
  containerName: string;
  network: Docker.Network;
  networkName: string;
  /** Port published on 127.0.0.1 (0 until the container started). */
  hostPort: number;
  user: string;
  password: string;
  database: string;
  /** The port the server listens on inside the per-run network (app containers use staging-db:innerPort). */
  innerPort: number;
  stateId?: string;
  /** Other containers of the run (the app container): removed with it. */
  extra?: Docker.Container[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Rejects as soon as `signal` aborts (with its reason). */
export function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) { p.catch(() => {}); return Promise.reject(signal.reason as Error); }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => { signal.removeEventListener('abort', onAbort); resolve(v); }, (e) => { signal.removeEventListener('abort', onAbort); reject(e); });
  });
}

/**
 * Creates the per-run bridge network and the database container (labelled, no host mounts, memory and
 * CPU limits, random password, port published on 127.0.0.1 only) and starts it. Does not wait for
 * readiness (see waitReady). On any failure whatever was created is removed before the error is thrown.
 */
export async function createStaging(docker: Docker, spec: StagingSpec): Promise<Staging> {
  const suffix = randomBytes(3).toString('hex');
  const base = `backup-bot-${spec.client}-${spec.runId}-${suffix}`.slice(0, 60);
  const password = randomBytes(24).toString('base64url');
  registerSecret(password);
  const pgEngine = spec.engine === 'postgres';
  const user = pgEngine ? 'postgres' : 'root';
  const database = `${spec.client.replace(/-/g, '_')}_restore_test`;
  const innerPort = pgEngine ? 5432 : 3306;
  const env = pgEngine
    ? [`POSTGRES_PASSWORD=${password}`, `POSTGRES_USER=${user}`, `POSTGRES_DB=${database}`]
    : [`MARIADB_ROOT_PASSWORD=${password}`, `MARIADB_DATABASE=${database}`];

  let network: Docker.Network | undefined;
  let container: Docker.Container | undefined;
  try {
    network = await docker.createNetwork({ Name: `${base}-net`, Driver: 'bridge', CheckDuplicate: true, Labels: stagingLabels(spec.runId, spec.client, 'network', spec.stateId) });
    container = await docker.createContainer({
      name: base,
      Image: spec.image,
      Env: env,
      Labels: stagingLabels(spec.runId, spec.client, 'db', spec.stateId),
      ExposedPorts: { [`${innerPort}/tcp`]: {} },
      HostConfig: {
        NetworkMode: `${base}-net`,
        // Loopback only, a free port chosen by the engine (read back with inspect).
        PortBindings: { [`${innerPort}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
        Memory: spec.memoryMb * 1024 * 1024,
        MemorySwap: spec.memoryMb * 1024 * 1024,
        NanoCpus: Math.round(spec.cpus * 1e9),
        Binds: [],
        Mounts: [],
        AutoRemove: false,
        RestartPolicy: { Name: 'no' },
        SecurityOpt: ['no-new-privileges'],
      },
      NetworkingConfig: { EndpointsConfig: { [`${base}-net`]: { Aliases: ['staging-db'] } } },
    });
    await container.start();
    const info = await container.inspect();
    const binding = info.NetworkSettings.Ports?.[`${innerPort}/tcp`]?.find((b) => b.HostIp === '127.0.0.1');
    const hostPort = Number(binding?.HostPort ?? 0);
    if (!hostPort) throw new OperationError(`the staging container has no port published on 127.0.0.1 (${JSON.stringify(info.NetworkSettings.Ports ?? {})})`);
    return { docker, stateId: spec.stateId, engine: spec.engine, image: spec.image, container, containerName: base, network, networkName: `${base}-net`, hostPort, user, password, database, innerPort };
  } catch (err) {
    await container?.remove({ force: true, v: true }).catch(() => {});
    await network?.remove().catch(() => {});
    if (err instanceof OperationError) throw err;
    throw new OperationError(`cannot start the staging container from ${spec.image}: ${errorMessage(err)}`);
  }
}

/** State of the container in words: `exited (code 137, killed: out of memory)`. */
export async function describeContainerState(s: Pick<Staging, 'container'>, opts: { settleMs?: number; checkOom?: boolean } = {}): Promise<{ running: boolean; text: string; oomKilled: boolean; exitCode?: number }> {
  try {
    let st = (await s.container.inspect()).State;
    // A kill is seen by an exec (its stream ends) a moment before the engine records the container's exit.
    for (const until = Date.now() + (opts.settleMs ?? 0); st.Running && Date.now() < until;) {
      await sleep(100);
      st = (await s.container.inspect()).State;
    }
    if (st.Running) {
      // The OOM killer may end one server process (a backend) and leave the container running:
      // the container's own memory cgroup counts those kills.
      const kills = opts.checkOom ? await oomKillsInside(s) : 0;
      return kills > 0
        ? { running: true, text: `running, but the out-of-memory killer ended ${kills} process${kills > 1 ? 'es' : ''} in it`, oomKilled: true }
        : { running: true, text: 'running', oomKilled: false };
    }
    const why = st.OOMKilled ? 'killed: out of memory (OOMKilled)' : st.ExitCode === 137 ? 'killed (SIGKILL)' : st.Error ? st.Error : `status ${st.Status}`;
    return { running: false, text: `stopped (exit code ${st.ExitCode}, ${why})`, oomKilled: st.OOMKilled, exitCode: st.ExitCode };
  } catch (err) {
    return { running: false, text: `gone (${errorMessage(err)})`, oomKilled: false };
  }
}

/** OOM kills counted by the container's memory cgroup (v2 `memory.events`, v1 `memory.oom_control`); 0 when unknown. */
async function oomKillsInside(s: Pick<Staging, 'container'>): Promise<number> {
  for (const file of ['/sys/fs/cgroup/memory.events', '/sys/fs/cgroup/memory/memory.oom_control']) {
    const r = await execIn(s.container, ['cat', file]).catch(() => undefined);
    const m = r && r.exitCode === 0 ? /^oom_kill (\d+)$/m.exec(r.stdout.toString()) : null;
    if (m) return Number(m[1]);
  }
  return 0;
}

/** The container's last log lines (evidence for a failed run). Never throws. */
export async function containerLogTail(s: Pick<Staging, 'container'>, lines = 40): Promise<string> {
  try {
    const buf = (await s.container.logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    return demuxLogBuffer(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf))).trimEnd();
  } catch (err) {
    return `(logs unavailable: ${errorMessage(err)})`;
  }
}

/**
 * Waits until the server accepts connections (the entrypoints listen on TCP only after initialisation).
 * Local engine: polls a real login from this machine through 127.0.0.1:<port> (cheap: no process is
 * started in the container while initdb runs), then confirms once with `pg_isready` /
 * `mariadb-admin ping` inside the container. Remote engine (no loopback route): polls that exec.
 * Fails at once when the container stops.
 */
export async function waitReady(s: Staging, opts: { timeoutMs?: number; signal?: AbortSignal; hostCheck?: boolean } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const probe = s.engine === 'postgres'
    ? { cmd: ['pg_isready', '-q', '-h', '127.0.0.1', '-p', String(s.innerPort), '-U', s.user, '-d', s.database], env: undefined }
    : { cmd: ['mariadb-admin', '--protocol=TCP', '-h', '127.0.0.1', `-P${s.innerPort}`, '-uroot', '--connect-timeout=2', 'ping'], env: [`MYSQL_PWD=${s.password}`] };
  const execProbe = async () => (await execIn(s.container, probe.cmd, { env: probe.env, signal: opts.signal }).catch(() => undefined))?.exitCode === 0;
  let lastError = 'not answering';
  for (let i = 0; ; i++) {
    opts.signal?.throwIfAborted();
    if (opts.hostCheck === false) {
      if (await execProbe()) return;
    } else {
      try {
        await hostLogin(s);
        if (await execProbe()) return;
        lastError = 'pg_isready/ping inside the container failed';
      } catch (err) {
        lastError = errorMessage(err);
      }
    }
    if (i % 5 === 0 || opts.hostCheck === false) {
      const state = await describeContainerState(s);
      if (!state.running) {
        const logs = await containerLogTail(s, 20);
        throw new OperationError(`the staging container ${state.text} before it was ready${logs ? `; last log lines:\n${logs}` : ''}`);
      }
    }
    if (Date.now() > deadline) throw new OperationError(`the staging database was not ready after ${Math.round(timeoutMs / 1000)} s (127.0.0.1:${s.hostPort}: ${lastError})`);
    await sleep(opts.hostCheck === false ? 100 : 50);
  }
}

async function hostLogin(s: Staging): Promise<void> {
  if (s.engine === 'postgres') {
    const c = new pg.Client({ host: '127.0.0.1', port: s.hostPort, user: s.user, password: s.password, database: s.database, connectionTimeoutMillis: 5000 });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query('SELECT 1');
    } finally {
      await c.end().catch(() => {});
    }
    return;
  }
  const r = await runProgram('mariadb', ['--host=127.0.0.1', `--port=${s.hostPort}`, '--user=root', '--protocol=TCP', '--connect-timeout=5', '--batch', '-e', 'SELECT 1', s.database], { env: { ...process.env, MYSQL_PWD: s.password }, timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(r.stderr.trim() || `mariadb exited ${r.code}`);
}

/** Force-removes the container(s) of the run and its network. Never throws; returns what could not be removed. */
export async function destroyStaging(s: Pick<Staging, 'docker' | 'container' | 'network' | 'extra'>): Promise<string[]> {
  const problems: string[] = [];
  for (const c of [...(s.extra ?? []), s.container]) {
    // Retried: a removal already in progress elsewhere (409) or a kill that timed out on a loaded engine (500)
    // usually resolves within a second or two; only 404 (gone) ends it early.
    for (let i = 0; ; i++) {
      try {
        await c.remove({ force: true, v: true });
        break;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) break;
        if (i >= 7) { problems.push(`container ${c.id.slice(0, 12)}: ${errorMessage(err)}`); break; }
        await sleep(Math.min(100 * (i + 1), 500));
      }
    }
  }
  for (let i = 0; ; i++) {
    try {
      await s.network.remove();
      break;
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (code === 404) break;
      if (i >= 10) { problems.push(`network ${s.network.id}: ${errorMessage(err)}`); break; }
      await sleep(100); // endpoints can take a moment to detach after a forced remove
    }
  }
  return problems;
}
