import { Transform, type TransformCallback } from 'node:stream';

/** Numeric owner of a tar entry: Docker extracts with these ids (putArchive without copyUIDGID). */
export interface Owner { uid: number; gid: number }
export const ROOT: Owner = { uid: 0, gid: 0 };

/** A 512-byte ustar header for one regular file (or, with `type: '5'`, a directory: size 0, name ending in `/`). */
export function tarHeader(name: string, size: number, mode = 0o644, mtime = Math.floor(Date.now() / 1000), type: '0' | '5' = '0', owner: Owner = ROOT): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long: ${name}`);
  const h = Buffer.alloc(512, 0);
  const oct = (v: number, len: number) => v.toString(8).padStart(len - 1, '0') + '\0';
  h.write(name, 0, 100, 'utf8');
  h.write(oct(mode, 8), 100, 8, 'ascii');
  h.write(oct(owner.uid, 8), 108, 8, 'ascii');
  h.write(oct(owner.gid, 8), 116, 8, 'ascii');
  h.write(oct(size, 12), 124, 12, 'ascii');
  h.write(oct(mtime, 12), 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii'); // checksum placeholder
  h.write(type, 156, 1, 'ascii'); // 0 regular file, 5 directory
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/**
 * Wraps a byte stream of exactly `size` bytes as a one-file tar archive (for docker putArchive),
 * without buffering it. A source shorter or longer than `size` is an error (a truncated download must
 * not become a silently zero-padded file).
 */
export function tarSingleFile(name: string, size: number, mode = 0o600, owner: Owner = ROOT): Transform {
  let seen = 0;
  let started = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (!started) { this.push(tarHeader(name, size, mode, undefined, '0', owner)); started = true; }
      seen += chunk.length;
      if (seen > size) return cb(new Error(`the backup is longer than its recorded size (${size} bytes)`));
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (!started) this.push(tarHeader(name, size, mode, undefined, '0', owner));
      if (seen !== size) return cb(new Error(`the backup is truncated: ${seen} of ${size} bytes`));
      const pad = (512 - (size % 512)) % 512;
      this.push(Buffer.alloc(pad + 1024, 0));
      cb();
    },
  });
}

/** A small in-memory tar: directories (name ending in `/`) and files, with their modes and owner (for putArchive). */
export function smallTar(entries: Array<{ name: string; mode: number; body?: Buffer }>, owner: Owner = ROOT): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.name.endsWith('/')) {
      parts.push(tarHeader(e.name, 0, e.mode, undefined, '5', owner));
      continue;
    }
    const body = e.body ?? Buffer.alloc(0);
    parts.push(tarHeader(e.name, body.length, e.mode, undefined, '0', owner), body, Buffer.alloc((512 - (body.length % 512)) % 512, 0));
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}

/** The content of the first regular file of a tar archive (e.g. the answer of getArchive for one file). */
export function firstFileOfTar(tar: Buffer): Buffer | undefined {
  for (let off = 0; off + 512 <= tar.length;) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) return undefined;
    const size = parseInt(h.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim() || '0', 8);
    const type = String.fromCharCode(h[156]!);
    if (type === '0' || type === '\0') return tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}
