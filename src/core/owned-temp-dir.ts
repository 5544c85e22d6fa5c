import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * Temporary directories that say who made them: `<prefix><host>-<pid>-XXXXXX`, host being 6 hex digits of the host
 * name's sha256 (short: Chromium's socket path under its temporary directory must stay within 107 bytes). A process
 * killed with SIGKILL runs no `finally` and leaves its directory behind; the next process that makes one with the
 * same prefix under the same base first removes those left by a process of this host that is no longer running (or
 * by an earlier life of this very pid, as after a container restart). Another host's directories (a shared output
 * directory) and a running process's are left alone.
 */

const HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);
const madeHere = new Set<string>();

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A new directory `<base>/<prefix><host>-<pid>-XXXXXX`; its maker removes it with removeOwnedTempDir in a `finally`. */
export async function makeOwnedTempDir(base: string, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(base, `${prefix}${HOST}-${process.pid}-`));
  madeHere.add(dir);
  return dir;
}

/**
 * Removes the directories `<base>/<prefix><host>-<pid>-XXXXXX` of this host whose process is gone; `beforeRemove`
 * may first stop what still uses one (a child the dead process left). What cannot be removed now is left for the
 * next call. Returns the directories removed.
 */
export async function removeStaleOwnedTempDirs(base: string, prefix: string, o: { beforeRemove?: (dir: string) => Promise<void> } = {}): Promise<string[]> {
  const re = new RegExp(`^${escapeRe(prefix)}${escapeRe(HOST)}-(\\d+)-[A-Za-z0-9]{6}$`);
  const names = await readdir(base).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(re.exec(name)?.[1] ?? NaN);
    const dir = join(base, name);
    if (!Number.isInteger(pid) || madeHere.has(dir) || (pid !== process.pid && running(pid))) continue;
    try {
      await o.beforeRemove?.(dir);
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // in use or not ours to remove: the next call tries again
    }
  }
  return removed;
}

/** Removes a directory made by makeOwnedTempDir (in its maker's `finally`); never throws. */
export async function removeOwnedTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  madeHere.delete(dir);
}
