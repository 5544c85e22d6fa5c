import { Transform, type TransformCallback } from 'node:stream';

/** A 512-byte ustar header for one regular file. */
export function tarHeader(name: string, size: number, mode = 0o644, mtime = Math.floor(Date.now() / 1000)): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long: ${name}`);
  const h = Buffer.alloc(512, 0);
  const oct = (v: number, len: number) => v.toString(8).padStart(len - 1, '0') + '\0';
  h.write(name, 0, 100, 'utf8');
  h.write(oct(mode, 8), 100, 8, 'ascii');
  h.write(oct(0, 8), 108, 8, 'ascii'); // uid
  h.write(oct(0, 8), 116, 8, 'ascii'); // gid
  h.write(oct(size, 12), 124, 12, 'ascii');
  h.write(oct(mtime, 12), 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii'); // checksum placeholder
  h.write('0', 156, 1, 'ascii'); // regular file
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
export function tarSingleFile(name: string, size: number, mode = 0o644): Transform {
  let seen = 0;
  let started = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (!started) { this.push(tarHeader(name, size, mode)); started = true; }
      seen += chunk.length;
      if (seen > size) return cb(new Error(`the backup is longer than its recorded size (${size} bytes)`));
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (!started) this.push(tarHeader(name, size, mode));
      if (seen !== size) return cb(new Error(`the backup is truncated: ${seen} of ${size} bytes`));
      const pad = (512 - (size % 512)) % 512;
      this.push(Buffer.alloc(pad + 1024, 0));
      cb();
    },
  });
}
