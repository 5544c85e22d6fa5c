import type Docker from 'dockerode';
import { OperationError, errorMessage } from '../errors.js';

export interface ImageInfo {
  image: string;
  id: string;
  /** Major version of the database server in the image (PG_MAJOR, MARIADB_MAJOR, version label or tag), if known. */
  major?: number;
  version?: string;
}

function versionOf(inspect: Docker.ImageInspectInfo, image: string): { major?: number; version?: string } {
  const env = Object.fromEntries((inspect.Config?.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const labels = inspect.Config?.Labels ?? {};
  const candidates = [labels['backup-bot.staging.version'], env.PG_VERSION, env.PG_MAJOR, env.MARIADB_VERSION, env.MARIADB_MAJOR, env.MYSQL_VERSION, env.MYSQL_MAJOR, image.includes(':') ? image.slice(image.lastIndexOf(':') + 1) : undefined];
  for (const c of candidates) {
    // `15.18-0+deb12u1`, `1:10.11.18-0+deb12u1` (Debian epoch), `15`, `10.11`
    const m = c ? /^(?:\d+:)?(\d+)(?:\.(\d+))?/.exec(c) : null;
    if (m) return { major: Number(m[1]), version: m[2] ? `${m[1]}.${m[2]}` : m[1] };
  }
  return {};
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
 * The staging image, pulled when it is not on the engine. A clear error when it can be neither
 * found nor pulled (no registry on this machine: the images are built locally).
 */
export async function ensureImage(docker: Docker, image: string, opts: { pullTimeoutMs?: number } = {}): Promise<ImageInfo> {
  const inspect = async (): Promise<ImageInfo> => {
    const i = await docker.getImage(image).inspect();
    return { image, id: i.Id, ...versionOf(i, image) };
  };
  try {
    return await inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) {
      throw new OperationError(`cannot inspect image ${image}: ${errorMessage(err)}`);
    }
  }
  try {
    const pull = docker.pull(image) as Promise<NodeJS.ReadableStream>;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`pull did not finish within ${Math.round((opts.pullTimeoutMs ?? 600_000) / 1000)} s`)), opts.pullTimeoutMs ?? 600_000); });
    try {
      await Promise.race([pull.then((s) => followPull(docker, s)), timeout]);
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
