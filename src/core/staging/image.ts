import type Docker from 'dockerode';
import { OperationError, errorMessage } from '../errors.js';

export interface ImageInfo {
  image: string;
  id: string;
  /** Major version of the database server in the image (PG_MAJOR, MARIADB_MAJOR, version label or tag), if known. */
  major?: number;
  version?: string;
}

/** The tag of a reference (`postgres:15` → `15`; none for `postgres@sha256:…`, `sha256:<id>` or a registry port). */
function tagOf(image: string): string | undefined {
  if (image.includes('@') || image.startsWith('sha256:')) return undefined;
  const last = image.slice(image.lastIndexOf('/') + 1);
  return last.includes(':') ? last.slice(last.indexOf(':') + 1) : undefined;
}

function versionOf(inspect: Docker.ImageInspectInfo, image: string): { major?: number; version?: string } {
  const env = Object.fromEntries((inspect.Config?.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const labels = inspect.Config?.Labels ?? {};
  const candidates = [labels['backup-bot.staging.version'], env.PG_VERSION, env.PG_MAJOR, env.MARIADB_VERSION, env.MARIADB_MAJOR, env.MYSQL_VERSION, env.MYSQL_MAJOR, tagOf(image)];
  for (const c of candidates) {
    // `15.18-0+deb12u1`, `1:10.11.18-0+deb12u1` (Debian epoch), `15`, `10.11`
    const m = c ? /^(?:\d+:)?(\d+)(?:\.(\d+))?/.exec(c) : null;
    if (m) return { major: Number(m[1]), version: m[2] ? `${m[1]}.${m[2]}` : m[1] };
  }
  return {};
}

export type PullPolicy = 'never' | 'missing';

/**
 * How an image reference pins its content: `name@sha256:<digest>` (a registry digest, checked by the
 * engine against the image's RepoDigests), `sha256:<64 hex>` (a local image ID: what a `docker import`ed
 * or `docker load`ed image without a registry has), or a mutable tag. A shortened ID is refused.
 */
function pinOf(image: string): 'digest' | 'id' | 'tag' {
  if (/^sha256:/.test(image)) {
    if (!/^sha256:[0-9a-f]{64}$/.test(image)) throw new OperationError(`image ${image}: an image ID must be the full "sha256:" followed by 64 hex digits (docker image inspect --format '{{.Id}}' IMAGE)`);
    return 'id';
  }
  if (image.includes('@')) {
    if (!/@sha256:[0-9a-f]{64}$/.test(image)) throw new OperationError(`image ${image}: a digest must be "@sha256:" followed by 64 hex digits`);
    return 'digest';
  }
  return 'tag';
}

/** Reads a pull's progress stream to the end; rejects on an error event. */
function followPull(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => {
      if (err) return reject(err);
      const bad = output?.find((o) => o.error);
      if (bad) return reject(new Error(bad.error));
      resolve();
    });
  });
}

/**
 * The staging image as the engine has it. `pull: 'never'` (the default) never contacts a registry: a
 * missing image is a clear error naming scripts/build-staging-image.sh. `pull: 'missing'` pulls it when
 * it is not there (a digest reference is verified by the engine against the registry's content).
 * An image ID reference must match the inspected image's ID exactly.
 */
export async function ensureImage(docker: Docker, image: string, opts: { pull?: PullPolicy; pullTimeoutMs?: number } = {}): Promise<ImageInfo> {
  const pin = pinOf(image);
  const pull = opts.pull ?? 'never';
  const inspect = async (): Promise<ImageInfo> => {
    const i = await docker.getImage(image).inspect();
    if (pin === 'id' && i.Id !== image) throw new OperationError(`image ${image} resolved to ${i.Id}: refusing an image that is not the pinned one`);
    return { image, id: i.Id, ...versionOf(i, image) };
  };
  try {
    return await inspect();
  } catch (err) {
    if (err instanceof OperationError) throw err;
    if ((err as { statusCode?: number }).statusCode !== 404) {
      throw new OperationError(`cannot inspect image ${image}: ${errorMessage(err)}`);
    }
  }
  if (pull === 'never' || pin === 'id') {
    throw new OperationError(`image ${image} is not on the Docker engine and is never pulled${pin === 'id' ? ' (an image ID cannot be pulled)' : ' (restoreTest.pull: never)'}: build it with scripts/build-staging-image.sh (or docker load it)${pin === 'id' ? '' : ', or set restoreTest.pull: missing to pull it from its registry'}`);
  }
  try {
    const stream = docker.pull(image) as Promise<NodeJS.ReadableStream>;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`pull did not finish within ${Math.round((opts.pullTimeoutMs ?? 600_000) / 1000)} s`)), opts.pullTimeoutMs ?? 600_000); });
    try {
      await Promise.race([stream.then((st) => followPull(docker, st)), timeout]);
    } finally {
      clearTimeout(timer);
    }
    return await inspect();
  } catch (err) {
    const reason = errorMessage(err).replace(/\s+/g, ' ').trim().slice(0, 300);
    throw new OperationError(`image ${image} is not available and cannot be pulled: ${reason}; build it with scripts/build-staging-image.sh (or set restoreTest.image to an image the Docker engine has)`);
  }
}

/** `15.4` / `PostgreSQL 15.4 (Debian …)` / `10.11.6-MariaDB` → 15 / 10. */
export function majorOf(version: string | undefined | null): number | undefined {
  const m = version ? /(\d+)/.exec(version) : null;
  return m ? Number(m[1]) : undefined;
}
