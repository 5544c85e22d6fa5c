import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { OperationError, errorMessage } from '../errors.js';
import { releaseChunk } from '../zlib-chunk.js';

/**
 * The age file format (age-encryption.org/v1), streamed with bounded memory.
 *
 * A file is: a text header (version line, one stanza per recipient, `--- <MAC>`), a 16-byte nonce, then the
 * payload in STREAM chunks: each 64 KiB of plaintext is sealed with ChaCha20-Poly1305 under
 * HKDF-SHA256(file key, nonce, "payload"), the 12-byte nonce being an 11-byte big-endian chunk counter and a
 * last-chunk flag byte. Every chunk is authenticated, and so is the end of the file (the last flag), so a
 * truncated file is detected too.
 *
 * Who does what:
 * - The header (X25519 recipients, the file key wrapped for each, the header MAC) is written and read by
 *   `age-encryption` (typage, the reference TypeScript implementation by age's author). Encryption learns
 *   the file key through a custom `Recipient` that adds no stanza; decryption uses `Decrypter.decryptHeader`,
 *   the library's API for delegated decryption.
 * - The payload is sealed/opened here with Node's ChaCha20-Poly1305 (OpenSSL). age-encryption 0.3.1 does
 *   stream (WHATWG streams, one 64 KiB buffer), but its cipher is @noble/ciphers in plain JavaScript: measured
 *   here at 53 MB/s against 250 MB/s for OpenSSL on the same (loaded) machine, which would have cost the
 *   backup of bench:backup's 1 GB database several seconds on the main thread, twice (write and read-back).
 *
 * Memory: one 64 KiB chunk buffer per stream whatever the file size (plus the header, at most 64 KiB).
 */

/** Plaintext bytes per STREAM chunk. */
export const AGE_CHUNK = 64 * 1024;
const TAG = 16;
const NONCE = 16;
const MAGIC = 'age-encryption.org/v1\n';
/** Longer headers are refused (one X25519 stanza is about 120 bytes). */
const MAX_HEADER = 64 * 1024;

type AgeModule = typeof import('age-encryption');
let ageModule: Promise<AgeModule> | undefined;
/** age-encryption (and the noble libraries) load on first use: ~200 ms that a process without encryption never pays. */
export function loadAge(): Promise<AgeModule> {
  ageModule ??= import('age-encryption');
  return ageModule;
}

/**
 * The payload key as a KeyObject, made once per file: Node 24 turns a raw key Buffer into a key object on
 * every createCipheriv (~15 µs each, measured here), which for a GB of gzip is thousands of 64 KiB chunks.
 */
function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32)));
}

/** Joins the pieces of one write into one chunk and frees the pieces at once (see releaseChunk). */
function joined(pieces: Buffer[]): Buffer {
  if (pieces.length === 1) return pieces[0]!;
  const all = Buffer.concat(pieces);
  for (const p of pieces) releaseChunk(p);
  return all;
}

/** The 12-byte STREAM nonce of chunk `counter`: 11-byte big-endian counter, then the last-chunk flag. */
function chunkNonce(counter: bigint, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  let c = counter;
  for (let i = 10; i >= 0 && c > 0n; i--) {
    n[i] = Number(c & 0xffn);
    c >>= 8n;
  }
  n[11] = last ? 1 : 0;
  return n;
}

/** Seals one chunk; pushes its ciphertext and tag onto `out` (concatenated by the caller, once). */
function sealInto(out: Buffer[], key: KeyObject, counter: bigint, last: boolean, plain: Buffer): void {
  const c = createCipheriv('chacha20-poly1305', key, chunkNonce(counter, last), { authTagLength: TAG });
  out.push(c.update(plain));
  c.final();
  out.push(c.getAuthTag());
}

function seal(key: KeyObject, counter: bigint, last: boolean, plain: Buffer): Buffer {
  const out: Buffer[] = [];
  sealInto(out, key, counter, last, plain);
  return Buffer.concat(out);
}

/** Opens one sealed chunk; undefined when it does not authenticate. */
function open(key: KeyObject, counter: bigint, last: boolean, sealed: Buffer): Buffer | undefined {
  const d = createDecipheriv('chacha20-poly1305', key, chunkNonce(counter, last), { authTagLength: TAG });
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  const plain = d.update(sealed.subarray(0, sealed.length - TAG));
  try {
    d.final();
  } catch {
    return undefined;
  }
  return plain;
}

/** The header and nonce of a new age file for `recipients`, and the key of its payload. */
async function newFile(recipients: readonly string[]): Promise<{ prefix: Buffer; key: KeyObject }> {
  if (recipients.length === 0) throw new OperationError('age encryption needs at least one recipient');
  const { Encrypter } = await loadAge();
  const e = new Encrypter();
  for (const r of recipients) {
    if (!r.startsWith('age1') || r.startsWith('age1pq1') || r.startsWith('age1tag')) throw new OperationError(`${JSON.stringify(r.slice(0, 80))} is not an age X25519 public key`);
    try {
      e.addRecipient(r);
    } catch (err) {
      throw new OperationError(`${JSON.stringify(r.slice(0, 80))} is not an age public key (${errorMessage(err)})`);
    }
  }
  let fileKey: Uint8Array | undefined;
  // Learns the file key; adds no stanza, so the header holds exactly the configured recipients.
  e.addRecipient({ wrapFileKey: (k: Uint8Array) => { fileKey = Uint8Array.from(k); return []; } });
  // An empty file: header, nonce, and the sealed empty last chunk (16 bytes of tag).
  const empty = Buffer.from(await e.encrypt(new Uint8Array(0)));
  if (!fileKey) throw new OperationError('age-encryption did not hand out the file key');
  const prefix = empty.subarray(0, empty.length - TAG);
  const key = payloadKey(fileKey, prefix.subarray(prefix.length - NONCE));
  // Our payload key and nonces must be age's: the library's sealed empty chunk proves it for this file.
  if (!seal(key, 0n, true, Buffer.alloc(0)).equals(empty.subarray(empty.length - TAG))) {
    throw new OperationError('age payload key derivation does not match age-encryption (unexpected library version?)');
  }
  return { prefix: Buffer.from(prefix), key };
}

/** Encrypts what flows through into an age file for `recipients` (plaintext in, age file out). */
export class AgeEncryptStream extends Transform {
  private readonly buf = Buffer.allocUnsafe(AGE_CHUNK);
  private used = 0;
  private counter = 0n;
  private file?: { prefix: Buffer; key: KeyObject };

  private constructor() {
    super();
  }

  /** Creates the stream (the header is made, and the recipients checked, before any data flows). */
  static async create(recipients: readonly string[]): Promise<AgeEncryptStream> {
    const s = new AgeEncryptStream();
    s.file = await newFile(recipients);
    s.push(s.file.prefix);
    return s;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const key = this.file!.key;
    const out: Buffer[] = [];
    for (let off = 0; off < chunk.length;) {
      // A full chunk is sealed only once more data exists: the last chunk is sealed with the last flag.
      if (this.used === AGE_CHUNK) {
        sealInto(out, key, this.counter++, false, this.buf);
        this.used = 0;
      }
      if (this.used === 0 && chunk.length - off > AGE_CHUNK) {
        // A whole chunk with more data after it, straight from the input (no copy into the buffer).
        sealInto(out, key, this.counter++, false, chunk.subarray(off, off + AGE_CHUNK));
        off += AGE_CHUNK;
        continue;
      }
      const n = chunk.copy(this.buf, this.used, off);
      this.used += n;
      off += n;
    }
    cb(null, out.length === 0 ? undefined : joined(out));
  }

  override _flush(cb: TransformCallback): void {
    cb(null, seal(this.file!.key, this.counter, true, this.buf.subarray(0, this.used)));
  }
}

export type AgeDecryptFailure = 'not-age' | 'no-identity' | 'header' | 'damaged' | 'truncated';

/** An age file that cannot be decrypted: not an age file, no matching identity, damaged or truncated. */
export class AgeDecryptError extends OperationError {
  constructor(readonly kind: AgeDecryptFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgeDecryptError';
  }
}

export interface AgeDecryptOptions {
  /** `AGE-SECRET-KEY-1…` strings; each is tried for the file key. */
  identities: readonly string[];
  /** For messages: `backup backup_….sql.gz.age`. */
  what: string;
  /**
   * The message when no identity opens the file (the caller names the recipients' fingerprints the file was
   * made for, from the manifest: an age header does not carry them).
   */
  noIdentityMessage?: string;
}

/** The file key of an age header, opened with one of `o.identities` (the header MAC is checked too). */
async function unwrapFileKey(header: Buffer, o: AgeDecryptOptions): Promise<Uint8Array> {
  const { Decrypter } = await loadAge();
  const d = new Decrypter();
  for (const id of o.identities) d.addIdentity(id);
  try {
    return await d.decryptHeader(header);
  } catch (err) {
    const m = errorMessage(err);
    if (/no identity matched/.test(m)) {
      throw new AgeDecryptError('no-identity', o.noIdentityMessage ?? `none of the ${o.identities.length} configured age identities can decrypt ${o.what}`);
    }
    throw new AgeDecryptError('header', `${o.what}: the age header is invalid (${m}): the file is damaged or was altered`, { cause: err });
  }
}

/**
 * Reads only the header of an age file from `src` (then stops reading it) and checks that one of the
 * identities opens it: a cheap check before work that needs the whole file (a restore test provisions a
 * container only after it). Throws AgeDecryptError.
 */
export async function checkAgeHeader(src: NodeJS.ReadableStream & { destroy(): void }, o: AgeDecryptOptions): Promise<void> {
  let buf = Buffer.alloc(0);
  try {
    for await (const chunk of src as AsyncIterable<Buffer>) {
      buf = Buffer.concat([buf, chunk]);
      const magic = Buffer.from(MAGIC);
      if (!buf.subarray(0, magic.length).equals(magic.subarray(0, Math.min(buf.length, magic.length)))) {
        throw new AgeDecryptError('not-age', `${o.what} is not an age-encrypted file (it does not start with "age-encryption.org/v1")`);
      }
      const macAt = buf.indexOf('\n--- ');
      const end = macAt < 0 ? -1 : buf.indexOf('\n', macAt + 1);
      if (end >= 0) {
        await unwrapFileKey(buf.subarray(0, end + 1), o);
        return;
      }
      if (buf.length > MAX_HEADER) throw new AgeDecryptError('header', `${o.what}: the age header is longer than ${MAX_HEADER} bytes: the file is damaged`);
    }
    throw new AgeDecryptError('truncated', `${o.what} is truncated: it ends inside the age header (${buf.length} bytes)`);
  } finally {
    src.destroy();
  }
}

/**
 * Decrypts an age file as it flows through (age file in, plaintext out). Each 64 KiB chunk is authenticated
 * before its plaintext is passed on, and the end of the file is authenticated at the end: a consumer that
 * must not act on a damaged file reads the whole stream first (see verifyDownload / downloadBackup).
 * Fails with an AgeDecryptError.
 */
export class AgeDecryptStream extends Transform {
  private state: 'header' | 'nonce' | 'payload' = 'header';
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private fileKey?: Uint8Array;
  private key?: KeyObject;
  private readonly chunk = Buffer.allocUnsafe(AGE_CHUNK + TAG);
  private used = 0;
  private counter = 0n;
  /** Ciphertext bytes consumed, for messages. */
  private offset = 0;
  private payloadStart = 0;

  constructor(private readonly o: AgeDecryptOptions) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.state === 'payload') {
      try {
        cb(null, this.payload(chunk));
      } catch (err) {
        cb(err as Error);
      }
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.prelude().then((rest) => {
      if (rest === undefined) return cb();
      cb(null, rest.length ? this.payload(rest) : undefined);
    }).catch((err: unknown) => cb(err as Error));
  }

  /** Reads the header and nonce from the pending bytes; returns the payload bytes after them once both are read. */
  private async prelude(): Promise<Buffer | undefined> {
    let buf = Buffer.concat(this.pending);
    this.pending = [buf];
    this.pendingBytes = buf.length;
    if (this.state === 'header') {
      const magic = Buffer.from(MAGIC);
      if (!buf.subarray(0, magic.length).equals(magic.subarray(0, Math.min(buf.length, magic.length)))) {
        throw new AgeDecryptError('not-age', `${this.o.what} is not an age-encrypted file (it does not start with "age-encryption.org/v1")`);
      }
      const macAt = buf.indexOf('\n--- ');
      const end = macAt < 0 ? -1 : buf.indexOf('\n', macAt + 1);
      if (end < 0) {
        if (buf.length > MAX_HEADER) throw new AgeDecryptError('header', `${this.o.what}: the age header is longer than ${MAX_HEADER} bytes: the file is damaged`);
        return undefined;
      }
      const header = buf.subarray(0, end + 1);
      this.fileKey = await this.fileKeyOf(header);
      buf = buf.subarray(end + 1);
      this.offset = header.length;
      this.state = 'nonce';
    }
    if (buf.length < NONCE) {
      this.pending = [buf];
      this.pendingBytes = buf.length;
      return undefined;
    }
    this.key = payloadKey(this.fileKey!, buf.subarray(0, NONCE));
    this.fileKey = undefined;
    this.offset += NONCE;
    this.payloadStart = this.offset;
    this.state = 'payload';
    this.pending = [];
    this.pendingBytes = 0;
    return buf.subarray(NONCE);
  }

  private fileKeyOf(header: Buffer): Promise<Uint8Array> {
    return unwrapFileKey(header, this.o);
  }

  private payload(data: Buffer): Buffer | undefined {
    const out: Buffer[] = [];
    for (let off = 0; off < data.length;) {
      // A full sealed chunk is opened only once more data exists: the last one carries the last flag.
      if (this.used === this.chunk.length) {
        out.push(this.openChunk(this.chunk, false));
        this.used = 0;
      }
      if (this.used === 0 && data.length - off > this.chunk.length) {
        // A whole sealed chunk with more data after it, straight from the input.
        out.push(this.openChunk(data.subarray(off, off + this.chunk.length), false));
        off += this.chunk.length;
        continue;
      }
      const n = data.copy(this.chunk, this.used, off);
      this.used += n;
      off += n;
    }
    return out.length === 0 ? undefined : joined(out);
  }

  private openChunk(sealed: Buffer, last: boolean): Buffer {
    const start = this.payloadStart + Number(this.counter) * (AGE_CHUNK + TAG);
    const plain = open(this.key!, this.counter, last, sealed);
    if (!plain) {
      if (last) {
        throw new AgeDecryptError('truncated', `${this.o.what} is truncated or damaged: its last age chunk (from byte ${start}) does not authenticate`);
      }
      throw new AgeDecryptError('damaged', `${this.o.what} is damaged or was altered: age chunk ${this.counter} (bytes ${start}–${start + sealed.length - 1}) does not authenticate`);
    }
    this.counter++;
    return plain;
  }

  override _flush(cb: TransformCallback): void {
    try {
      if (this.state !== 'payload') {
        throw new AgeDecryptError('truncated', `${this.o.what} is truncated: it ends inside the age ${this.state === 'header' ? 'header' : 'nonce'} (${this.pendingBytes} bytes)`);
      }
      if (this.used < TAG) {
        throw new AgeDecryptError('truncated', `${this.o.what} is truncated: it ends ${this.used} bytes into an age chunk`);
      }
      const plain = this.openChunk(this.chunk.subarray(0, this.used), true);
      if (plain.length === 0 && this.counter > 1n) {
        throw new AgeDecryptError('damaged', `${this.o.what} is damaged: an empty final age chunk after data`);
      }
      cb(null, plain);
    } catch (err) {
      cb(err as Error);
    }
  }
}
