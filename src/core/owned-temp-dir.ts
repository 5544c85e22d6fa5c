import { createHash } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * Temporary directories that say who made them: `<prefix><host>-<pid>-XXXXXX`, host being 6 hex digits of the host
 * name's sha256 (short: Chromium's socket path under its temporary directory must stay within 107 bytes). A process
 * killed with SIGKILL runs no `finally` and leaves its directory behind; the next process that makes one with the
 * same prefix under the same base first removes those left by a process of this host that is no longer running (or
 * by an earlier life of this very pid, older than this process). "This host" is the host name and the pid namespace:
 * another host's directories (a shared output directory) and a running process's or thread's are left alone.
 */

/** The pid namespace: two containers with one host name (host network, an explicit hostname) are still two hosts. */
function pidNamespace(): string {
  try { return readlinkSync('/proc/self/ns/pid'); } catch { return ''; }
}
const HOST = createHash('sha256').update(`${hostname()}\0${pidNamespace()}`).digest('hex').slice(0, 6);
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

async function olderThanThisProcess(dir: string): Promise<boolean> {
  const started = Date.now() - process.uptime() * 1000;
  try { return (await stat(dir)).mtimeMs < started - 1000; } catch { return false; }
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
    // This pid's: left by an earlier life of the pid only if older than this process. A bree job runs in a worker
    // thread of this process (same pid, its own madeHere): its directory is younger, and in use.
    if (pid === process.pid && !(await olderThanThisProcess(dir))) continue;
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
