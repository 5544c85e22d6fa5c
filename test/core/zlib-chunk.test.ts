import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { gunzipStream, gzipStream, releaseChunk } from '../../src/core/zlib-chunk.js';

/** Text that compresses like a dump (repeated rows with some noise). */
function dumpLike(bytes: number): Buffer {
  const rows: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const row = `${i}\tlote-${i % 977}\t${randomBytes(6).toString('hex')}\tcomentario ${i % 13}\n`;
    rows.push(row);
    n += row.length;
  }
  return Buffer.from(rows.join('')).subarray(0, bytes);
}

/** Whole-ArrayBuffer chunks (as a pipe or a file read yields them), kept to check afterwards. */
function chunksOf(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  // Buffer.alloc never takes from Buffer's shared pool (Buffer.from of a small buffer may: a pooled slice is never released).
  for (let i = 0; i < data.length; i += size) {
    const part = data.subarray(i, i + size);
    const c = Buffer.alloc(part.length);
    part.copy(c);
    out.push(c);
  }
  return out;
}

async function through(t: NodeJS.ReadWriteStream, input: Buffer[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(Readable.from(input), t, new Writable({ write(c: Buffer, _e, cb) { parts.push(Buffer.from(c)); cb(); } }));
  return Buffer.concat(parts);
}

describe('releaseChunk', () => {
  test('detaches a chunk that is its whole ArrayBuffer, and leaves a view of a larger one alone', () => {
    const whole = Buffer.alloc(64 * 1024, 7);
    releaseChunk(whole);
    expect(whole.buffer.byteLength).toBe(0);

    const big = Buffer.alloc(256 * 1024, 7);
    const view = big.subarray(0, 128 * 1024);
    releaseChunk(view);
    expect(big.buffer.byteLength).toBe(256 * 1024);
    expect(view.length).toBe(128 * 1024);

    const small = Buffer.from(randomBytes(1024)); // a slice of Buffer's shared pool: never released
    expect(small.buffer.byteLength).toBeGreaterThan(small.length);
    releaseChunk(small);
    expect(small.length).toBe(1024);
  });
});

describe('gzipStream / gunzipStream', () => {
  test('round trip of 3 MB in 64 KiB chunks equals the input, and each consumed input chunk is released', async () => {
    const data = dumpLike(3 * 1024 * 1024);
    const input = chunksOf(data, 64 * 1024);
    const gz = await through(gzipStream(6), input);
    expect(gunzipSync(gz).equals(data)).toBe(true);
    // zlib consumed every input chunk: each one's memory was returned at once
    expect(input.every((c) => c.buffer.byteLength === 0)).toBe(true);

    const gzChunks = chunksOf(gz, 16 * 1024);
    const back = await through(gunzipStream(), gzChunks);
    expect(back.equals(data)).toBe(true);
    expect(gzChunks.filter((c) => c.buffer.byteLength !== 0).length).toBeLessThanOrEqual(1); // the last may be < 16 KiB
  });

  test('gunzipStream still reports a corrupt stream as an error', async () => {
    const gz = gzipSync(dumpLike(512 * 1024));
    const at = Math.floor(gz.length / 2);
    gz[at] = gz[at]! ^ 0xff;
    await expect(through(gunzipStream(), chunksOf(gz, 32 * 1024))).rejects.toThrow();
  });
});
