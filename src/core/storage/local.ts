import { close as closeFd, createReadStream, createWriteStream, fsync, type WriteStream } from 'node:fs';
import { promisify } from 'node:util';
import { readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import type { LocalStorageConfig } from '../../config/schema.js';
import { UserError, errorMessage } from '../errors.js';
import { mkdirPrivate, openPrivate } from '../private-files.js';
import { StorageError, storageLabel, type PutOptions, type Storage, type StorageErrorKind, type StoredObject } from './storage.js';

const PARTIAL = '.partial';
const fsyncP = promisify(fsync);
const closeP = promisify(closeFd);

/**
 * A directory (or NAS mount). Files are written as `<key>.<random>.partial`, fsync'ed and renamed when
 * complete, so a reader (or a crash) never sees a half-written file under the final name.
 * Files are 0600 and the directories the bot creates 0700, whatever the umask (core/private-files).
 */
export class LocalStorage implements Storage {
  readonly root: string;
  readonly description: string;

  constructor(readonly name: string, cfg: LocalStorageConfig) {
    this.root = resolve(cfg.prefix ? join(cfg.path, cfg.prefix) : cfg.path);
    this.description = this.root;
  }

  private path(key: string): string {
    const p = resolve(this.root, key);
    if (!key || p === this.root || !p.startsWith(this.root + sep)) throw new UserError(`${storageLabel(this)}: key "${key.slice(0, 200)}" escapes the storage directory`);
    return p;
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<{ size: number }> {
    const final = this.path(key);
    // Whichever side failed first: the pipeline then destroys the other side with the same error.
    let first: 'source' | 'write' | undefined;
    body.once('error', () => { first ??= 'source'; });
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        cb(null, chunk);
      },
    });
    const tmp = `${final}.${randomBytes(4).toString('hex')}${PARTIAL}`;
    // A plain descriptor (a FileHandle's close() would wait for the stream that borrowed it).
    let fd: number | undefined;
    try {
      await mkdirPrivate(dirname(final));
      fd = await openPrivate(tmp);
    } catch (err) {
      body.destroy();
      throw this.wrap(err, `writing ${key}`);
    }
    let out: WriteStream | undefined;
    try {
      out = createWriteStream(tmp, { fd, autoClose: false });
      out.once('error', () => { first ??= 'write'; });
      await pipeline(body, counter, out, { signal: opts.signal });
      await fsyncP(fd); // on disk before it gets its final name
      const closing = fd;
      fd = undefined;
      await closeP(closing);
      await rename(tmp, final);
      return { size };
    } catch (err) {
      await releaseDescriptor(fd, out);
      fd = undefined;
      await rm(tmp, { force: true });
      if (first === 'source' || (err as Error).name === 'AbortError') throw err;
      throw this.wrap(err, `writing ${key}`);
    }
  }

  async get(key: string): Promise<Readable> {
    const p = this.path(key);
    try {
      await stat(p); // ENOENT before a stream is handed out
    } catch (err) {
      throw this.wrap(err, `reading ${key}`);
    }
    return createReadStream(p);
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    const p = this.path(key);
    try {
      const s = await stat(p);
      return s.isFile() ? { key, size: s.size, lastModified: s.mtime } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.wrap(err, `looking up ${key}`);
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw this.wrap(err, `listing ${prefix || '/'}`);
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile() && !e.name.endsWith(PARTIAL)) {
          const key = relative(this.root, full).split(sep).join('/');
          if (key.startsWith(prefix)) {
            const s = await stat(full).catch(() => undefined);
            if (s) out.push({ key, size: s.size, lastModified: s.mtime });
          }
        }
      }
    };
    await walk(this.root);
    return out;
  }

  async delete(key: string): Promise<void> {
    const p = this.path(key);
    try {
      await unlink(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw this.wrap(err, `deleting ${key}`);
    }
  }

  async cleanupPartials(prefix: string, opts: { olderThanMs?: number } = {}): Promise<number> {
    const cutoff = opts.olderThanMs !== undefined ? Date.now() - opts.olderThanMs : undefined;
    let n = 0;
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try { entries = await readdir(dir, { withFileTypes: true }); } catch { return; }
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.name.endsWith(PARTIAL) && relative(this.root, full).split(sep).join('/').startsWith(prefix)) {
          if (cutoff !== undefined) {
            const s = await stat(full).catch(() => undefined);
            if (!s || s.mtimeMs > cutoff) continue;
          }
          await rm(full, { force: true });
          n++;
        }
      }
    };
    await walk(this.root);
    return n;
  }

  private wrap(err: unknown, what: string): StorageError {
    if (err instanceof StorageError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    const label = storageLabel(this);
    const make = (kind: StorageErrorKind, msg: string) => new StorageError(this.name, `${label}: ${msg}`, kind, { cause: err });
    switch (code) {
      case 'ENOSPC':
        return make('disk-full', `the disk is full (ENOSPC) while ${what}; free space on ${this.root} (the partial file was removed)`);
      case 'EDQUOT':
        return make('disk-full', `the disk quota is exceeded (EDQUOT) while ${what}; raise the quota or free space on ${this.root}`);
      case 'EACCES':
      case 'EPERM':
        return make('access-denied', `permission denied (${code}) while ${what}; check that the bot's user may write to ${this.root}`);
      case 'EROFS':
        return make('access-denied', `the file system is read-only (EROFS) while ${what}; check the mount of ${this.root}`);
      case 'ENOENT':
        return make('not-found', `${what}: no such file`);
      case 'ENOTDIR':
      case 'EIO':
      case 'ESTALE':
      case 'EHOSTDOWN':
        return make('unreachable', `${what} failed (${code}); check the disk or NAS mount ${this.root}`);
    }
    return make('other', `${what} failed: ${errorMessage(err)}`);
  }
}

/**
 * Closes a descriptor exactly once after a failed write. An fs.WriteStream that was given the descriptor
 * closes it itself when destroyed, even with `autoClose: false` (pipeline() destroys it on any error);
 * closing it again would close whatever the number was handed to meanwhile (a socket: seen as a storage
 * connection that never got its answer).
 */
export async function releaseDescriptor(fd: number | undefined, out: WriteStream | undefined): Promise<void> {
  if (fd === undefined) return; // closed (or being closed) by the success path
  if (!out) {
    await closeP(fd).catch(() => {});
    return;
  }
  if ((out as WriteStream & { fd: number | null }).fd === null) return; // the stream closed it, or is closing it
  await new Promise<void>((resolve) => {
    out.once('close', () => resolve());
    out.destroy();
  });
}
