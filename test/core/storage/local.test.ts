import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { LocalStorage, releaseDescriptor } from '../../../src/core/storage/local.js';
import { StorageError } from '../../../src/core/storage/storage.js';

const MiB = 1024 * 1024;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bb-local-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function allFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else out.push(join(d, e.name).slice(root.length + 1));
    }
  };
  await walk(root);
  return out.sort();
}

/** Chunks of random bytes; `onChunk` runs before each chunk is produced. */
function source(total: number, opts: { failAfter?: number; onChunk?: () => void } = {}) {
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    read() {
      opts.onChunk?.();
      if (opts.failAfter !== undefined && sent >= opts.failAfter) { this.destroy(new Error('mysqldump: Got error 2013: Lost connection')); return; }
      if (sent >= total) { this.push(null); return; }
      const chunk = randomBytes(Math.min(64 * 1024, total - sent));
      hash.update(chunk);
      sent += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

describe('LocalStorage', () => {
  it('put/get/stat/list/delete round trip under the prefix', async () => {
    const s = new LocalStorage('local', { type: 'local', path: dir, prefix: 'prod' });
    expect(s.description).toBe(join(dir, 'prod'));
    const src = source(2 * MiB);
    expect(await s.put('demo/backup_2026-01-04_03-00-00.sql.gz', src.stream)).toEqual({ size: 2 * MiB });
    expect(await allFiles(dir)).toEqual(['prod/demo/backup_2026-01-04_03-00-00.sql.gz']);
    expect(createHash('sha256').update(await buffer(await s.get('demo/backup_2026-01-04_03-00-00.sql.gz'))).digest('hex')).toBe(src.sha256());
    expect(await s.stat('demo/backup_2026-01-04_03-00-00.sql.gz')).toMatchObject({ key: 'demo/backup_2026-01-04_03-00-00.sql.gz', size: 2 * MiB });
    expect((await s.list('demo/')).map((o) => o.key)).toEqual(['demo/backup_2026-01-04_03-00-00.sql.gz']);
    expect(await s.list('other/')).toEqual([]);
    await s.delete('demo/backup_2026-01-04_03-00-00.sql.gz');
    await s.delete('demo/backup_2026-01-04_03-00-00.sql.gz');
    expect(await s.stat('demo/backup_2026-01-04_03-00-00.sql.gz')).toBeUndefined();
  });

  it('while writing, only a .partial exists; a failing source leaves nothing under the final name and no partial', async () => {
    const s = new LocalStorage('local', { type: 'local', path: dir, prefix: '' });
    const seen: string[][] = [];
    let n = 0;
    const src = source(4 * MiB, { failAfter: 2 * MiB, onChunk: () => { if (n++ === 10) void allFiles(dir).then((f) => seen.push(f)); } });
    await expect(s.put('demo/backup.sql.gz', src.stream)).rejects.toThrow('mysqldump: Got error 2013: Lost connection');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toHaveLength(1);
    expect(seen[0]![0]).toMatch(/^demo\/backup\.sql\.gz\.[0-9a-f]{8}\.partial$/);
    expect(existsSync(join(dir, 'demo/backup.sql.gz'))).toBe(false);
    expect(await allFiles(dir)).toEqual([]);
    expect(await s.list('')).toEqual([]);
  });

  it('an abort signal stops the write and removes the partial', async () => {
    const s = new LocalStorage('local', { type: 'local', path: dir, prefix: '' });
    const ac = new AbortController();
    let n = 0;
    const src = source(50 * MiB, { onChunk: () => { if (n++ === 5) ac.abort(); } });
    await expect(s.put('demo/b.sql.gz', src.stream, { signal: ac.signal })).rejects.toThrow(/abort/i);
    expect(await allFiles(dir)).toEqual([]);
  });

  it('disk full (a 1 MiB tmpfs): a clear failure naming the destination, the partial removed', async () => {
    const mnt = join(dir, 'small');
    await mkdir(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    try {
      const s = new LocalStorage('nas', { type: 'local', path: mnt, prefix: '' });
      const err = await s.put('demo/backup.sql.gz', source(3 * MiB).stream).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).kind).toBe('disk-full');
      expect((err as Error).message).toBe(`storage "nas" (${mnt}): the disk is full (ENOSPC) while writing demo/backup.sql.gz; free space on ${mnt} (the partial file was removed)`);
      expect(await allFiles(mnt)).toEqual([]);
      // Space is back: a small backup still fits.
      await s.put('demo/small.sql.gz', Readable.from([Buffer.alloc(1000)]));
      expect(await allFiles(mnt)).toEqual(['demo/small.sql.gz']);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('cleanupPartials removes leftovers under the prefix, only old ones with olderThanMs', async () => {
    const s = new LocalStorage('local', { type: 'local', path: dir, prefix: '' });
    await mkdir(join(dir, 'demo'), { recursive: true });
    await mkdir(join(dir, 'other'), { recursive: true });
    await writeFile(join(dir, 'demo/old.sql.gz.aaaa0000.partial'), 'x');
    await writeFile(join(dir, 'demo/fresh.sql.gz.bbbb0000.partial'), 'x');
    await writeFile(join(dir, 'demo/done.sql.gz'), 'x');
    await writeFile(join(dir, 'other/x.sql.gz.cccc0000.partial'), 'x');
    const old = new Date(Date.now() - 3 * 3600_000);
    await utimes(join(dir, 'demo/old.sql.gz.aaaa0000.partial'), old, old);
    expect(await s.cleanupPartials('demo/', { olderThanMs: 3600_000 })).toBe(1);
    expect(await allFiles(dir)).toEqual(['demo/done.sql.gz', 'demo/fresh.sql.gz.bbbb0000.partial', 'other/x.sql.gz.cccc0000.partial']);
    expect(await s.cleanupPartials('demo/')).toBe(1);
    expect(await allFiles(dir)).toEqual(['demo/done.sql.gz', 'other/x.sql.gz.cccc0000.partial']);
  });

  it('refuses keys that escape the directory; a missing key is a clear error', async () => {
    const s = new LocalStorage('local', { type: 'local', path: dir, prefix: 'p' });
    await expect(s.put('../../etc/cron.d/x', Readable.from(['x']))).rejects.toThrow(/escapes the storage directory/);
    await expect(s.delete('../x')).rejects.toThrow(/escapes the storage directory/);
    await expect(s.get('demo/none.sql.gz')).rejects.toThrow(`storage "local" (${join(dir, 'p')}): reading demo/none.sql.gz: no such file`);
  });
});

describe('a failed write closes its file descriptor exactly once', () => {
  test('after pipeline() destroyed the stream (which closes the descriptor), a descriptor reusing the number stays open', async () => {
    const { openSync, closeSync, fstatSync, createWriteStream } = await import('node:fs');
    const { pipeline } = await import('node:stream/promises');
    const dir = mkdtempSync(join(tmpdir(), 'fd-'));
    const fd = openSync(join(dir, 'a.partial'), 'wx');
    const out = createWriteStream(join(dir, 'a.partial'), { fd, autoClose: false });
    const failing = new Readable({ read() { this.destroy(new Error('pg_dump died')); } });
    await expect(pipeline(failing, out)).rejects.toThrow('pg_dump died');
    await new Promise((r) => setTimeout(r, 50)); // the stream's own close has completed
    // The lowest free number is handed out next: the same number, now another file (in production: a socket).
    let other = openSync(join(dir, 'other'), 'w');
    const extra: number[] = [];
    while (other !== fd && extra.length < 50) { extra.push(other); other = openSync(join(dir, 'other'), 'w'); }
    expect(other).toBe(fd);
    await releaseDescriptor(fd, out);
    expect(() => fstatSync(other)).not.toThrow();
    closeSync(other);
    for (const e of extra) closeSync(e);
  });

  test('a stream that was not destroyed is destroyed, which closes the descriptor once', async () => {
    const { openSync, fstatSync, createWriteStream } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'fd-'));
    const fd = openSync(join(dir, 'b.partial'), 'wx');
    const out = createWriteStream(join(dir, 'b.partial'), { fd, autoClose: false });
    await releaseDescriptor(fd, out);
    expect(() => fstatSync(fd)).toThrow(/EBADF/);
  });
});

describe.each([['022', 0o022], ['000', 0o000]])('owner-only files under umask %s', (_name, umask) => {
  let saved: number;
  beforeEach(() => { saved = process.umask(umask); });
  afterEach(() => { process.umask(saved); });

  it('the .partial while writing, the dump and every directory the bot creates are 0600 / 0700', async () => {
    const { lstat } = await import('node:fs/promises');
    const mode = async (p: string) => (await lstat(p)).mode & 0o777;
    const s = new LocalStorage('local', { type: 'local', path: join(dir, 'root'), prefix: 'prod' });
    const partialModes: number[] = [];
    let n = 0;
    const src = source(1 * MiB, { onChunk: () => { if (n++ === 5) void allFiles(join(dir, 'root')).then(async (f) => { for (const p of f) partialModes.push(await mode(join(dir, 'root', p))); }); } });
    await s.put('demo/backup_2026-01-04_03-00-00.sql.gz', src.stream);
    await s.put('demo/backup_2026-01-04_03-00-00.sql.gz.manifest.json', Readable.from([Buffer.from('{}')]));
    expect(partialModes).toEqual([0o600]);
    for (const d of ['root', 'root/prod', 'root/prod/demo']) expect(await mode(join(dir, d))).toBe(0o700);
    for (const f of await allFiles(join(dir, 'root'))) expect(await mode(join(dir, 'root', f))).toBe(0o600);
    expect(await allFiles(join(dir, 'root'))).toHaveLength(2);
  });
});
