import { Gunzip, Gzip } from 'node:zlib';
/**
 * Output buffer size of every gzip/gunzip stream in the pipelines (Node's default is 16 KiB). A GB of SQL
 * through 16 KiB buffers is ~64,000 callbacks and Buffers on the main thread; 256 KiB cuts that sixteenfold
 * (bench:backup: about 0.6–1 s less CPU per GB) for 256 KiB more memory per stream.
 */
const ZLIB_CHUNK_BYTES = 256 * 1024;

/**
 * Frees a decompressed chunk that nothing keeps, at once instead of at the next garbage collection.
 *
 * A GB of SQL read back is 4,000 chunks of 256 KiB, each its own ArrayBuffer outside V8's heap, behind a few
 * bytes of JavaScript: the young generation fills so slowly that V8 collects them only under its external-
 * memory pressure, which Node 24's V8 lets reach ~64 MB (Node 20's: ~32 MB). Detaching the buffer
 * (`transfer(0)`) returns its memory now. Only a chunk that is its whole ArrayBuffer is released: zlib has
 * then moved on to a new output buffer, so no later chunk shares it. The caller must not keep the chunk
 * (or a view of it) once it has handed it here.
 */
export function releaseChunk(chunk: Buffer): void {
  const ab = chunk.buffer as ArrayBuffer & { transfer?: (n: number) => ArrayBuffer };
  if (chunk.byteOffset !== 0 || chunk.byteLength !== ab.byteLength || chunk.byteLength < 16 * 1024 || !ab.transfer) return;
  // Runs in zlib's callbacks: a buffer that cannot be detached (non-detachable, shared) is simply left to the GC.
  try { ab.transfer(0); } catch { /* left to the garbage collector */ }
}

/**
 * gzip/gunzip with ZLIB_CHUNK_BYTES output buffers that release each input chunk (releaseChunk) as soon as
 * zlib has consumed it: a pipeline's input chunks (a dump program's stdout, a decrypted backup) are their own
 * ArrayBuffers that nothing else keeps once written here. Whoever writes a chunk here must not use it again.
 */
type TransformCb = (err?: Error | null, data?: Buffer) => void;
class ReleasingGzip extends Gzip {
  override _transform(chunk: Buffer, encoding: BufferEncoding, cb: TransformCb): void {
    super._transform(chunk, encoding, (err?: Error | null, data?: Buffer) => { releaseChunk(chunk); cb(err, data); });
  }
}
class ReleasingGunzip extends Gunzip {
  override _transform(chunk: Buffer, encoding: BufferEncoding, cb: TransformCb): void {
    super._transform(chunk, encoding, (err?: Error | null, data?: Buffer) => { releaseChunk(chunk); cb(err, data); });
  }
}

export function gzipStream(level: number): Gzip {
  return new ReleasingGzip({ level, chunkSize: ZLIB_CHUNK_BYTES });
}

export function gunzipStream(): Gunzip {
  return new ReleasingGunzip({ chunkSize: ZLIB_CHUNK_BYTES });
}
