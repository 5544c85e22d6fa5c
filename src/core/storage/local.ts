import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { LocalStorageConfig } from '../../config/schema.js';
import type { Storage, StoredObject } from './storage.js';

const PARTIAL = '.partial';

/** A directory (or NAS mount). Files are written as `<key>.<random>.partial` and renamed when complete. */
export class LocalStorage implements Storage {
  readonly root: string;
  readonly description: string;

  constructor(readonly name: string, cfg: LocalStorageConfig) {
    this.root = resolve(cfg.prefix ? join(cfg.path, cfg.prefix) : cfg.path);
    this.description = this.root;
  }

  private path(key: string): string {
    const p = resolve(this.root, key);
    if (p !== this.root && !p.startsWith(this.root + sep)) throw new Error(`key "${key}" escapes the storage directory`);
    return p;
  }

  async put(key: string, body: Readable, opts: { signal?: AbortSignal } = {}): Promise<{ size: number }> {
    const final = this.path(key);
    await mkdir(dirname(final), { recursive: true });
    const tmp = `${final}.${randomBytes(4).toString('hex')}${PARTIAL}`;
    let size = 0;
    body.on('data', (c: Buffer) => { size += c.length; });
    try {
      await pipeline(body, createWriteStream(tmp, { flags: 'wx' }), { signal: opts.signal });
      await rename(tmp, final);
      return { size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(key: string): Promise<Readable> {
    const p = this.path(key);
    await stat(p); // ENOENT before a stream is handed out
    return createReadStream(p);
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    try {
      const s = await stat(this.path(key));
      return s.isFile() ? { key, size: s.size, lastModified: s.mtime } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
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
        throw err;
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile() && !e.name.endsWith(PARTIAL)) {
          const key = relative(this.root, full).split(sep).join('/');
          if (key.startsWith(prefix)) {
            const s = await stat(full);
            out.push({ key, size: s.size, lastModified: s.mtime });
          }
        }
      }
    };
    await walk(this.root);
    return out;
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  async cleanupPartials(prefix: string): Promise<number> {
    let n = 0;
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try { entries = await readdir(dir, { withFileTypes: true }); } catch { return; }
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.name.endsWith(PARTIAL) && relative(this.root, full).split(sep).join('/').startsWith(prefix)) {
          await rm(full, { force: true });
          n++;
        }
      }
    };
    await walk(this.root);
    return n;
  }
}
