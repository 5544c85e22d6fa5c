import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { OperationError, errorMessage } from '../errors.js';
import { registerSecret } from '../redact.js';
import { demuxLogBuffer, execIn } from './exec.js';
import { stagingLabels } from './labels.js';
import { ROOT, firstFileOfTar, smallTar, type Owner } from './tar.js';

type StagingEngine = 'postgres' | 'mysql';

/** Process-count limit of every staging container (a fork bomb in a restored function stops here). */
export const STAGING_PIDS_LIMIT = 512;

/**
 * Capabilities given back after `CapDrop: ALL` to an image whose entrypoint starts as root and drops to
 * its own user (the official postgres/mariadb images: chown of the data directory, then gosu/setpriv).
 * An image that declares a non-root USER (the images of scripts/build-staging-image.sh) gets none.
 * Tried one by one on the locally built images started as root: postgres needs CHOWN, FOWNER, SETUID,
 * SETGID; mariadb CHOWN, SETUID, SETGID; DAC_OVERRIDE is for the official images' `find … -exec chown`.
 */
const ROOT_ENTRYPOINT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'];

/** The capabilities an image needs: none when it runs as a non-root user, ROOT_ENTRYPOINT_CAPS otherwise. */
export function capsForUser(user: string | undefined): string[] {
  const u = (user ?? '').trim();
  return u === '' || u === 'root' || u === '0' || u.startsWith('0:') || u.startsWith('root:') ? [...ROOT_ENTRYPOINT_CAPS] : [];
}

/** Where the staging password file is put in the container before it starts (owner-only, removed once ready). */
export const SECRET_DIR = '/tmp/backup-bot-secret';
const SECRET_FILE = `${SECRET_DIR}/password`;

export interface StagingLimits { memoryMb: number; cpus: number; pidsLimit: number }

/** The HostConfig hardening shared by the database and the application container. */
export function hardenedHostConfig(limits: StagingLimits, capAdd: string[], networkMode: string): Docker.HostConfig {
  return {
    NetworkMode: networkMode,
    Memory: limits.memoryMb * 1024 * 1024,
    MemorySwap: limits.memoryMb * 1024 * 1024,
    NanoCpus: Math.round(limits.cpus * 1e9),
    PidsLimit: limits.pidsLimit,
    CapDrop: ['ALL'],
    CapAdd: capAdd,
    SecurityOpt: ['no-new-privileges'],
    Privileged: false,
    Binds: [],
    Mounts: [],
    PortBindings: {},
    PublishAllPorts: false,
    AutoRemove: false,
    RestartPolicy: { Name: 'no' },
  };
}

/** A file of a container's file system (works on a created, not yet started container). */
async function readContainerFile(container: Docker.Container, path: string): Promise<string> {
  const stream = (await container.getArchive({ path })) as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return (firstFileOfTar(Buffer.concat(chunks)) ?? Buffer.alloc(0)).toString('utf8');
}

/**
 * The numeric uid/gid of the container's user (`USER postgres`, `999:999`, `mysql:mysql`), read from
 * the container's own /etc/passwd and /etc/group. (Docker's `copyUIDGID` looks the name up in the
 * engine host's /etc/passwd instead, which gave the host's postgres uid: not used.)
 */
export async function containerOwner(container: Docker.Container, user: string | undefined, imageId?: string): Promise<Owner> {
  const u = (user ?? '').trim();
  if (!u) return ROOT;
  // An image's files do not change: one lookup per image and user.
  const key = imageId ? `${imageId} ${u}` : undefined;
  const known = key ? ownerCache.get(key) : undefined;
  if (known) return known;
  const owner = await lookupOwner(container, u);
  if (key && ownerCache.size < 100) ownerCache.set(key, owner);
  return owner;
}

const ownerCache = new Map<string, Owner>();

async function lookupOwner(container: Docker.Container, u: string): Promise<Owner> {
  const [name = '', group] = u.split(':');
  const num = (x: string | undefined) => (x !== undefined && /^\d+$/.test(x) ? Number(x) : undefined);
  let uid = num(name);
  let gid = num(group);
  if (uid !== undefined && (group === undefined ? false : gid !== undefined)) return { uid, gid: gid! };
  const passwd = (await readContainerFile(container, '/etc/passwd')).split('\n').map((l) => l.split(':'));
  const entry = passwd.find((f) => (uid === undefined ? f[0] === name : Number(f[2]) === uid));
  if (uid === undefined) {
    if (!entry) throw new OperationError(`the image's user "${name}" is not in its /etc/passwd`);
    uid = Number(entry[2]);
  }
  if (group === undefined) gid = entry ? Number(entry[3]) : 0;
  else if (gid === undefined) {
    const g = (await readContainerFile(container, '/etc/group')).split('\n').map((l) => l.split(':')).find((f) => f[0] === group);
    if (!g) throw new OperationError(`the image's group "${group}" is not in its /etc/group`);
    gid = Number(g[2]);
  }
  return { uid, gid: gid! };
}

/**
 * Copies a one-line secret into a created (not yet started) container as `<dir>/<file>`: the directory
 * 0700 and the file 0600, owned by the container's user, so that neither `docker inspect` (Env, Cmd)
 * nor another user inside the container sees it. `groupReadable` (0750 / 0640) is for an entrypoint that
 * starts as root and may read it before or after dropping to the owner group's user.
 */
export async function putSecretFile(container: Docker.Container, dir: string, file: string, value: string, owner: Owner, groupReadable = false): Promise<void> {
  const parent = dir.slice(0, dir.lastIndexOf('/')) || '/';
  const name = dir.slice(dir.lastIndexOf('/') + 1);
  const tar = smallTar([{ name: `${name}/`, mode: groupReadable ? 0o750 : 0o700 }, { name: `${name}/${file}`, mode: groupReadable ? 0o640 : 0o600, body: Buffer.from(value) }], owner);
  await container.putArchive(tar, { path: parent });
}

export interface StagingSpec {
  engine: StagingEngine;
  image: string;
  runId: string;
  client: string;
  memoryMb: number;
  cpus: number;
  /** Default STAGING_PIDS_LIMIT. */
  pidsLimit?: number;
  /** stateIdOf(state url): labels the container so that only this bot's orphan cleanup removes it. */
  stateId?: string;
}

/** A running throwaway database server. The password lives only here (and in a file inside the container until it is ready). */
export interface Staging {
  docker: Docker;
  engine: StagingEngine;
  image: string;
  container: Docker.Container;
  containerName: string;
  user: string;
  password: string;
  database: string;
  /** The port the server listens on inside the container's network namespace (127.0.0.1 for the app container). */
  innerPort: number;
  /** Limits of the run, applied to the application container too. */
  limits: StagingLimits;
  /** uid/gid of the container's user: owner of the files put into it. */
  owner: Owner;
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
 * Creates the database container and starts it. Isolation: no network at all (`NetworkMode: none`:
 * only a loopback interface, no route anywhere, no published port; everything goes through
 * `docker exec`; the application check shares this namespace), `CapDrop: ALL` plus only what the image
 * needs (capsForUser), no-new-privileges, memory, CPU and process limits, no host mounts, labelled.
 * The random password reaches the entrypoint as a 0600 file (`POSTGRES_PASSWORD_FILE` /
 * `MARIADB_ROOT_PASSWORD_FILE`), never in the container's environment. Does not wait for readiness
 * (see waitReady). On any failure whatever was created is removed before the error is thrown.
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
    ? [`POSTGRES_PASSWORD_FILE=${SECRET_FILE}`, `POSTGRES_USER=${user}`, `POSTGRES_DB=${database}`]
    : [`MARIADB_ROOT_PASSWORD_FILE=${SECRET_FILE}`, `MARIADB_DATABASE=${database}`];
  const limits: StagingLimits = { memoryMb: spec.memoryMb, cpus: spec.cpus, pidsLimit: spec.pidsLimit ?? STAGING_PIDS_LIMIT };

  let container: Docker.Container | undefined;
  try {
    const image = await docker.getImage(spec.image).inspect();
    const imageUser = image.Config?.User;
    const caps = capsForUser(imageUser);
    container = await docker.createContainer({
      name: base,
      // The image just inspected, by ID: a tag moved meanwhile does not change what runs.
      Image: image.Id,
      Env: env,
      Labels: stagingLabels(spec.runId, spec.client, 'db', spec.stateId),
      HostConfig: hardenedHostConfig(limits, caps, 'none'),
    });
    const owner = await containerOwner(container, imageUser, image.Id);
    // An image started as root (the official ones) reads the file as root and drops to its server's user;
    // the images of scripts/build-staging-image.sh started as root drop first: root-owned, readable by
    // the server's group.
    const serverGroup = caps.length ? await containerOwner(container, `0:${pgEngine ? 'postgres' : 'mysql'}`, image.Id).catch(() => undefined) : undefined;
    await putSecretFile(container, SECRET_DIR, 'password', password, serverGroup ?? owner, serverGroup !== undefined);
    await container.start();
    return { docker, stateId: spec.stateId, engine: spec.engine, image: spec.image, container, containerName: base, user, password, database, innerPort, limits, owner };
  } catch (err) {
    await container?.remove({ force: true, v: true }).catch(() => {});
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
 * Waits until the server accepts TCP connections inside the container (the entrypoints listen on TCP only
 * after initialisation), asking `pg_isready -h 127.0.0.1` / `mariadb-admin ping` through `docker exec`
 * (the container has no network the bot could reach, on a local or a remote engine alike). A probe is a
 * process in the container, so it runs when the container logs something (the server logs "ready"
 * when it is) and at least once a second, never back to back: initdb keeps the CPU. Then the password
 * file is removed. Fails at once when the container stops.
 */
export async function waitReady(s: Staging, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const probe = s.engine === 'postgres'
    ? { cmd: ['pg_isready', '-q', '-h', '127.0.0.1', '-p', String(s.innerPort), '-U', s.user, '-d', s.database], env: undefined }
    : { cmd: ['mariadb-admin', '--protocol=TCP', '-h', '127.0.0.1', `-P${s.innerPort}`, '-uroot', '--connect-timeout=2', 'ping'], env: [`MYSQL_PWD=${s.password}`] };
  let wake: (() => void) | undefined;
  let pending = false; // something was logged while a probe ran
  const kick = () => { const w = wake; wake = undefined; if (w) w(); else pending = true; };
  let logs: (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
  try {
    logs = (await s.container.logs({ follow: true, stdout: true, stderr: true, tail: 0 })) as unknown as NodeJS.ReadableStream;
    logs.on('data', kick);
    logs.on('end', kick);
    logs.on('error', kick);
  } catch { /* no log stream: the once-a-second probe alone */ }
  opts.signal?.addEventListener('abort', kick, { once: true });
  let lastError = 'not answering';
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      const started = Date.now();
      const r = await execIn(s.container, probe.cmd, { env: probe.env, signal: opts.signal }).catch((err: unknown) => {
        if (opts.signal?.aborted) throw err;
        lastError = errorMessage(err);
        return undefined;
      });
      if (r?.exitCode === 0) break;
      if (r) lastError = r.stderr.trim().split('\n').pop() || `${probe.cmd[0]} exit code ${r.exitCode ?? 'unknown'}`;
      const state = await describeContainerState(s);
      if (!state.running) {
        const tail = await containerLogTail(s, 20);
        throw new OperationError(`the staging container ${state.text} before it was ready${tail ? `; last log lines:\n${tail}` : ''}`);
      }
      if (Date.now() > deadline) throw new OperationError(`the staging database was not ready after ${Math.round(timeoutMs / 1000)} s (${lastError})`);
      await sleep(Math.max(0, 100 - (Date.now() - started)));
      if (pending) { pending = false; continue; }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        wake = () => { clearTimeout(t); resolve(); };
      });
      pending = false;
    }
  } finally {
    wake = undefined;
    opts.signal?.removeEventListener('abort', kick);
    logs?.removeAllListeners('data');
    logs?.destroy?.();
  }
  // The entrypoint has read it; from now on the password exists only in this process.
  await execIn(s.container, ['rm', '-rf', SECRET_DIR], { signal: opts.signal }).catch(() => undefined);
}

/** Force-removes the container(s) of the run. Never throws; returns what could not be removed. */
export async function destroyStaging(s: Pick<Staging, 'docker' | 'container' | 'extra'>): Promise<string[]> {
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
  return problems;
}
