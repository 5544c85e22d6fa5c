import { close as closeFd, fchmod, open as openFd, writeFile as writeFd } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';

/**
 * Owner-only files: every dump, manifest, `.partial`, temporary file and key file the bot writes is
 * 0600 in 0700 directories, whatever the process umask (the mode is set explicitly after creation,
 * not left to `mode & ~umask`). Existing looser files and directories are not changed behind the
 * operator's back: `findLooseModes` lists them (`backup-bot doctor`).
 */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

const openP = promisify(openFd);
const fchmodP = promisify(fchmod);
const closeP = promisify(closeFd);
const writeFdP = promisify(writeFd);

/**
 * Creates `dir` and its missing parents 0700 (each directory this call creates, whatever the umask).
 * Directories that already exist are left as they are.
 */
export async function mkdirPrivate(dir: string): Promise<void> {
  const target = resolve(dir);
  const first = await mkdir(target, { recursive: true, mode: DIR_MODE });
  if (first === undefined) return;
  // `first` is the topmost directory created; every directory from it down to `target` is new.
  let p = resolve(first);
  await chmod(p, DIR_MODE);
  for (const part of relative(p, target).split(sep).filter(Boolean)) {
    p = join(p, part);
    await chmod(p, DIR_MODE);
  }
}

/**
 * Opens a new file (`wx`: fails if it exists) readable and writable by the owner only; returns the
 * descriptor. The mode is fixed with fchmod before anything is written.
 */
export async function openPrivate(path: string, flags: 'wx' | 'w' = 'wx'): Promise<number> {
  const fd = await openP(path, flags, FILE_MODE);
  try {
    await fchmodP(fd, FILE_MODE);
  } catch (err) {
    await closeP(fd).catch(() => {});
    throw err;
  }
  return fd;
}

/** Creates an empty owner-only file (for programs that write into a path they are given, e.g. `pg_restore --file`). */
export async function createPrivateFile(path: string): Promise<void> {
  await closeP(await openPrivate(path));
}

/** A fresh 0700 directory under the system temp directory (mkdtemp), whatever the umask. */
export async function privateTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, DIR_MODE);
  return dir;
}

/**
 * Writes a small file (a key, a manifest) owner-only and atomically: a 0600 temporary file beside it,
 * renamed over the final name. Missing parent directories are created 0700.
 */
export async function writePrivateFile(path: string, data: string | Uint8Array): Promise<void> {
  await mkdirPrivate(dirname(path));
  const tmp = `${path}.${randomBytes(4).toString('hex')}.partial`;
  const fd = await openPrivate(tmp);
  try {
    await writeFdP(fd, data);
  } finally {
    await closeP(fd).catch(() => {});
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export interface LooseMode {
  path: string;
  kind: 'file' | 'directory';
  /** Permission bits, e.g. 0o644. */
  mode: number;
}

/**
 * Files and directories under `root` (and `root` itself) with any group or other permission bit
 * (looser than 0600 / 0700). Symbolic links are not followed. A missing `root` has none.
 * Stops after `limit` findings (default 1000).
 */
export async function findLooseModes(root: string, opts: { limit?: number } = {}): Promise<LooseMode[]> {
  const limit = opts.limit ?? 1000;
  const out: LooseMode[] = [];
  const visit = async (p: string): Promise<void> => {
    if (out.length >= limit) return;
    let st;
    try {
      st = await lstat(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    if (st.isSymbolicLink()) return;
    const mode = st.mode & 0o777;
    const dir = st.isDirectory();
    if ((mode & 0o077) !== 0) out.push({ path: p, kind: dir ? 'directory' : 'file', mode });
    if (!dir) return;
    for (const e of (await readdir(p)).sort()) await visit(join(p, e));
  };
  await visit(resolve(root));
  return out;
}

const octal = (mode: number) => `0${mode.toString(8).padStart(3, '0')}`;

/**
 * One line for `doctor`: "owner-only (0600 files, 0700 directories)" or an Error listing the first
 * looser paths and the command that fixes them.
 */
export async function checkOwnerOnly(root: string): Promise<string> {
  const loose = await findLooseModes(root);
  if (loose.length === 0) return `${root}: owner-only (files 0600, directories 0700)`;
  const files = loose.filter((l) => l.kind === 'file').length;
  const dirs = loose.length - files;
  const sample = loose.slice(0, 3).map((l) => `${l.path} (${octal(l.mode)})`).join(', ');
  const counts = [files ? `${files} file(s)` : '', dirs ? `${dirs} director${dirs === 1 ? 'y' : 'ies'}` : ''].filter(Boolean).join(' and ');
  throw new Error(`${counts}${loose.length >= 1000 ? ' (at least)' : ''} under ${root} can be read by other users of this host: ${sample}${loose.length > 3 ? ', …' : ''}; fix with: chmod -R go-rwx ${root}`);
}
