import type { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { coerceError } from '../errors.js';

/** Parameters of PutObject / CreateMultipartUpload that describe the object (not its data). */
export interface ObjectParams {
  ServerSideEncryption?: 'AES256' | 'aws:kms';
  SSEKMSKeyId?: string;
  ObjectLockMode?: 'GOVERNANCE' | 'COMPLIANCE';
  ObjectLockRetainUntilDate?: Date;
}

/** S3's limit on the parts of one multipart upload. */
export const MAX_PARTS = 10_000;

export interface UploadStreamOptions {
  client: S3Client;
  Bucket: string;
  Key: string;
  ContentType?: string;
  /**
   * Sent with the object's creation (PutObject, or CreateMultipartUpload): server-side encryption
   * (`ServerSideEncryption`, `SSEKMSKeyId`) and Object Lock retention (`ObjectLockMode`, `ObjectLockRetainUntilDate`).
   */
  objectParams?: ObjectParams;
  /**
   * Send a CRC32 checksum with every PutObject and UploadPart even when the client computes checksums only
   * when required: S3 refuses an upload with Object Lock retention that carries neither Content-MD5 nor a checksum.
   */
  forceChecksum?: boolean;
  /** Bytes per part (S3: at least 5 MiB, except the last). */
  partSize: number;
  /** Parts uploading at once. */
  queueSize: number;
  /** Default MAX_PARTS (tests lower it). */
  maxParts?: number;
  /**
   * Cancels the parts in flight; the caller aborts it from `onFailure`. CreateMultipartUpload, a single
   * PutObject and CompleteMultipartUpload are not cancelled: cancelled on our side, they may still take
   * effect on the server (an upload we never learn the id of, an object under its final name), so they
   * are let finish (bounded by the client's timeouts) and `put` undoes what they did.
   */
  signal: AbortSignal;
  /** Called with the multipart upload's id once it exists, so a failed upload is aborted by id. */
  onUploadId?: (uploadId: string) => void;
  /**
   * Called once, with the first failure, at the moment it happens: a request that failed, or the source
   * (`fromSource`). The caller aborts `signal` and stops the source so nothing more is read or sent.
   */
  onFailure: (err: Error, fromSource: boolean) => void;
}

/**
 * Streams `body` into one S3 object: in a single PutObject when it fits in one part, otherwise as a
 * multipart upload with up to `queueSize` parts in flight. Resolves with the byte count once the object
 * exists under its key (CompleteMultipartUpload answered); on failure it waits for the parts in flight to
 * settle and rejects, leaving the abort of the multipart upload to the caller (which must also look for
 * uploads that raced in: aws-sdk-js-v3 #8299).
 *
 * Parts are assembled in a fixed pool of queueSize + 1 buffers of partSize, allocated once and reused
 * part after part (untouched pages of a buffer cost no RSS, so a small object pays for what it writes);
 * a buffer goes back to the pool only after its UploadPart answered (the SDK's retries resend it inside
 * that call). Memory is therefore partSize × (queueSize + 1) whatever the object
 * size, and nothing is allocated per part. We do not use @aws-sdk/lib-storage's `Upload` for this: its
 * chunker keeps every chunk it is given until a part is full and then copies them into a fresh buffer
 * (Buffer.concat), a part-sized allocation per part that outlives the young generation; in bench:backup
 * that churn drove V8 into about 50 full collections per GB uploaded and cost ~3 s of CPU per GB, which
 * this pool removes (see README, bench:backup).
 */
export async function uploadStream(body: Readable, o: UploadStreamOptions): Promise<number> {
  const maxParts = o.maxParts ?? MAX_PARTS;
  const { Bucket, Key, ContentType } = o;
  const params = o.objectParams ?? {};
  const forced = o.forceChecksum ? { ChecksumAlgorithm: 'CRC32' as const } : {};
  let failed: Error | undefined;
  const fail = (e: unknown, fromSource = false): Error => {
    if (!failed) {
      failed = coerceError(e);
      o.onFailure(failed, fromSource);
    }
    return failed;
  };
  /** A request whose failure is the upload's failure. */
  const request = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (e) {
      throw fail(e);
    }
  };
  if (o.queueSize < 1 || o.partSize < 1) throw fail(new Error(`queueSize and partSize must be at least 1 (got ${o.queueSize}, ${o.partSize})`));

  // The whole pool is allocated here, before the source starts streaming, and never again: a part-sized
  // allocation in the middle of a dump is what tips V8 into back-to-back full collections (bench:backup).
  const pool: Buffer[] = Array.from({ length: o.queueSize + 1 }, () => Buffer.allocUnsafeSlow(o.partSize));
  const inflight = new Set<Promise<void>>();
  const parts: CompletedPart[] = [];
  let uploadId: string | undefined;
  let partNumber = 0;

  /** A free part buffer: from the pool, or once a part in flight answers. */
  const nextBuffer = async (): Promise<Buffer> => {
    for (;;) {
      if (failed) throw failed;
      const b = pool.pop();
      if (b) return b;
      await Promise.race(inflight);
    }
  };

  const sendPart = async (buf: Buffer, length: number): Promise<void> => {
    if (partNumber >= maxParts) {
      throw fail(new Error(`the object is larger than ${maxParts} parts of ${o.partSize / 1048576} MiB (S3's limit on a multipart upload); raise partSizeMb for this destination`));
    }
    if (!uploadId) {
      const checksums = o.forceChecksum || (await o.client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
      const created = await request(() => o.client.send(new CreateMultipartUploadCommand({
        Bucket, Key, ContentType, ...params, ...(checksums ? { ChecksumAlgorithm: 'CRC32' as const } : {}),
      })));
      if (!created.UploadId) throw fail(new Error('CreateMultipartUpload answered without an UploadId'));
      uploadId = created.UploadId;
      o.onUploadId?.(uploadId);
      if (failed) throw failed;
    }
    // At most queueSize parts in flight: with the buffer being filled that is queueSize + 1 buffers.
    while (inflight.size >= o.queueSize) {
      await Promise.race(inflight);
      if (failed) throw failed;
    }
    const PartNumber = ++partNumber;
    const p: Promise<void> = o.client.send(
      new UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber, Body: buf.subarray(0, length), ContentLength: length, ...forced }),
      { abortSignal: o.signal },
    ).then(
      (r) => {
        if (!r.ETag) throw new Error(`part ${PartNumber} was answered without an ETag`);
        parts.push({
          PartNumber, ETag: r.ETag,
          ...(r.ChecksumCRC32 ? { ChecksumCRC32: r.ChecksumCRC32 } : {}),
          ...(r.ChecksumCRC32C ? { ChecksumCRC32C: r.ChecksumCRC32C } : {}),
          ...(r.ChecksumCRC64NVME ? { ChecksumCRC64NVME: r.ChecksumCRC64NVME } : {}),
          ...(r.ChecksumSHA1 ? { ChecksumSHA1: r.ChecksumSHA1 } : {}),
          ...(r.ChecksumSHA256 ? { ChecksumSHA256: r.ChecksumSHA256 } : {}),
        });
        pool.push(buf);
      },
    ).catch((e: unknown) => { fail(e); }).finally(() => { inflight.delete(p); });
    inflight.add(p);
  };

  let size = 0;
  try {
    let buf = await nextBuffer();
    let filled = 0;
    const source = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await source.next();
      } catch (e) {
        throw fail(e, true);
      }
      if (failed) throw failed;
      if (next.done) break;
      const chunk = next.value;
      size += chunk.length;
      for (let off = 0; off < chunk.length;) {
        // A full buffer is sent only once more data exists: an object of exactly one part stays one PutObject.
        if (filled === o.partSize) {
          await sendPart(buf, filled);
          buf = await nextBuffer();
          filled = 0;
        }
        const n = chunk.copy(buf, filled, off);
        filled += n;
        off += n;
      }
    }

    if (!uploadId) {
      await request(() => o.client.send(new PutObjectCommand({ Bucket, Key, ContentType, ...params, ...forced, Body: buf.subarray(0, filled), ContentLength: filled })));
      return size;
    }
    await sendPart(buf, filled);
    while (inflight.size) await Promise.race(inflight);
    if (failed) throw failed;
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    await request(() => o.client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } })));
    return size;
  } finally {
    // Parts still in flight settle (answered or cancelled through `signal`) before the caller aborts the upload.
    await Promise.all(inflight);
  }
}
