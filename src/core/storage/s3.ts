import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type MultipartUpload,
} from '@aws-sdk/client-s3';
import type { S3StorageConfig } from '../../config/schema.js';
import { UserError, coerceError, errorMessage } from '../errors.js';
import { redactSecrets, redactUrl, registerSecret } from '../redact.js';
import { MAX_PARTS, uploadStream, type ObjectParams } from './s3-upload.js';
import { ObjectLockedError, StorageError, storageLabel, type PutOptions, type Storage, type StorageErrorKind, type StoredObject } from './storage.js';

export { ObjectLockedError, StorageError } from './storage.js';

/** Tuning of the client; the defaults make a stopped storage fail in about a second, a silent one in ~15 s. */
export interface S3StorageOptions {
  /** Attempts per request, first included (SDK standard retry with backoff). Default 3. */
  maxAttempts?: number;
  /** TCP connect timeout per attempt. Default 5000 ms. */
  connectionTimeoutMs?: number;
  /** A socket with no traffic for this long fails the request. Default 120000 ms. */
  socketTimeoutMs?: number;
  /** Keys per list request (default: the server's, 1000 on S3). */
  listPageSize?: number;
  /** Parts per multipart upload (default S3's 10000; tests lower it). */
  maxParts?: number;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'TimeoutError', 'RequestTimeout']);

/**
 * An S3-compatible bucket (AWS S3, Cloudflare R2, Backblaze B2, MinIO). Objects live at `<prefix>/<key>`.
 * `put` streams as a multipart upload (parts of `partSizeMb`, `queueSize` at once, assembled in a fixed pool
 * of queueSize + 1 part buffers: see `uploadStream`) and, on any failure, aborts the multipart upload and
 * then checks ListMultipartUploads for leftovers (aws-sdk-js-v3 #8299).
 */
export class S3Storage implements Storage {
  readonly client: S3Client;
  readonly bucket: string;
  /** Normalised prefix without leading/trailing slashes ('' for none). */
  readonly prefix: string;
  readonly description: string;
  private readonly endpointLabel: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly listPageSize: number | undefined;
  private readonly maxParts: number;
  private readonly sse: Pick<ObjectParams, 'ServerSideEncryption' | 'SSEKMSKeyId'>;
  private readonly objectLock: S3StorageConfig['objectLock'];

  constructor(readonly name: string, cfg: S3StorageConfig, opts: S3StorageOptions = {}) {
    this.bucket = cfg.bucket;
    this.prefix = cfg.prefix.replace(/^\/+|\/+$/g, '');
    this.description = `s3://${cfg.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    this.endpointLabel = cfg.endpoint ? redactUrl(cfg.endpoint) : `AWS S3 (${cfg.region})`;
    this.partSize = cfg.partSizeMb * 1024 * 1024;
    this.queueSize = cfg.queueSize;
    this.listPageSize = opts.listPageSize;
    this.maxParts = opts.maxParts ?? MAX_PARTS;
    this.sse = cfg.sse ? { ServerSideEncryption: cfg.sse, ...(cfg.sse === 'aws:kms' && cfg.kmsKeyId ? { SSEKMSKeyId: cfg.kmsKeyId } : {}) } : {};
    this.objectLock = cfg.objectLock;
    const accessKeyId = cfg.accessKeyId?.trim() || undefined;
    const secretAccessKey = cfg.secretAccessKey || undefined;
    if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
      throw new UserError(`storage "${name}": set both accessKeyId and secretAccessKey, or neither (then the AWS default credential chain is used)`);
    }
    registerSecret(secretAccessKey);
    registerSecret(cfg.sessionToken);
    this.client = new S3Client({
      region: cfg.region,
      ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
      forcePathStyle: cfg.forcePathStyle,
      ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, ...(cfg.sessionToken ? { sessionToken: cfg.sessionToken } : {}) } } : {}),
      requestChecksumCalculation: cfg.requestChecksumCalculation,
      responseChecksumValidation: cfg.responseChecksumValidation,
      maxAttempts: opts.maxAttempts ?? 3,
      requestHandler: { connectionTimeout: opts.connectionTimeoutMs ?? 5_000, socketTimeout: opts.socketTimeoutMs ?? 120_000 },
    });
  }

  /** The object key in the bucket for a logical key. */
  objectKey(key: string): string {
    if (!key || key.startsWith('/') || key.includes('\0') || key.split('/').some((s) => s === '..' || s === '.')) {
      throw new UserError(`${storageLabel(this)}: "${key.slice(0, 200)}" is not a valid key (relative, no "." or ".." segments)`);
    }
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private listPrefix(prefix: string): string {
    return this.prefix ? `${this.prefix}/${prefix}` : prefix;
  }

  private logicalKey(objectKey: string): string {
    return this.prefix && objectKey.startsWith(`${this.prefix}/`) ? objectKey.slice(this.prefix.length + 1) : objectKey;
  }

  /**
   * What every object written here is created with: server-side encryption (`sse`, `kmsKeyId`) and Object Lock
   * retention (`objectLock`: mode, and `retainUntil` or now + days).
   */
  objectParams(retainUntil?: Date): ObjectParams {
    return {
      ...this.sse,
      ...(this.objectLock ? { ObjectLockMode: this.objectLock.mode, ObjectLockRetainUntilDate: retainUntil ?? new Date(Date.now() + this.objectLock.days * 86_400_000) } : {}),
    };
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<{ size: number }> {
    const Key = this.objectKey(key);
    let sourceError: Error | undefined;
    let failure: Error | undefined;
    const ac = new AbortController();
    /** First failure wins: cancel the requests in flight and stop reading the source. */
    const fail = (e: unknown, fromSource = false) => {
      if (failure) return;
      failure = coerceError(e);
      if (fromSource) sourceError = failure;
      ac.abort(failure);
      body.destroy(failure);
    };
    const onAbort = () => fail(opts.signal?.reason ?? Object.assign(new Error('upload aborted'), { name: 'AbortError' }));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();

    let size: number;
    let uploadId: string | undefined;
    try {
      size = await uploadStream(body, {
        client: this.client, Bucket: this.bucket, Key, ContentType: opts.contentType,
        objectParams: this.objectParams(opts.retainUntil), forceChecksum: this.objectLock !== undefined,
        partSize: this.partSize, queueSize: this.queueSize, maxParts: this.maxParts,
        signal: ac.signal, onFailure: fail, onUploadId: (id) => { uploadId = id; },
      });
    } catch (err) {
      fail(err);
      const cleanup = await this.abortLeftovers(Key, uploadId);
      const leftover = cleanup.error ? `; the interrupted multipart upload could not be aborted (${cleanup.error}) — \`backup-bot prune\` removes it later` : '';
      throw this.putError(key, sourceError, failure ?? coerceError(err), opts.signal, leftover);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    if (failure) {
      // Failed (or aborted) while the object was being completed: it must not stay under its final name.
      const kept = await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key })).then(
        () => '',
        (e: unknown) => `; it had been stored before the failure and deleting it failed (${this.wrap(e, `deleting ${key}`).message.slice(storageLabel(this).length + 2)}), so it may still be under its final name`,
      );
      throw this.putError(key, sourceError, failure, opts.signal, kept);
    }
    return { size };
  }

  /** The error `put` rejects with; `leftover` says what the failure may have left behind ('' for nothing). */
  private putError(key: string, sourceError: Error | undefined, failure: Error, signal: AbortSignal | undefined, leftover: string): Error {
    if (sourceError) {
      if (!leftover) return sourceError;
      return new StorageError(this.name, `${storageLabel(this)}: upload of ${key} stopped because its source failed (${errorMessage(sourceError)})${leftover}`, 'other', { cause: sourceError });
    }
    if (signal?.aborted && (failure === signal.reason || failure.name === 'AbortError')) {
      if (!leftover) return failure;
      return new StorageError(this.name, `${storageLabel(this)}: upload of ${key} aborted${leftover}`, 'other', { cause: failure });
    }
    const e = this.wrap(failure, `upload of ${key}`);
    if (leftover) e.message += leftover;
    return e;
  }

  /**
   * Aborts `uploadId` (ours), then every open multipart upload of exactly `Key`, and checks again: parts
   * still in flight when the upload failed can recreate state after the first abort (aws-sdk-js-v3 #8299).
   */
  private async abortLeftovers(Key: string, uploadId?: string): Promise<{ aborted: number; error?: string }> {
    let aborted = 0;
    let refused: unknown;
    // Our own upload first, by its id: that needs no permission to list uploads.
    if (uploadId) {
      try { aborted += await this.abortUpload({ Key, UploadId: uploadId }); } catch (err) { refused = err; }
    }
    try {
      for (let round = 0; round < 4; round++) {
        const open = (await this.listUploads(Key)).filter((u) => u.Key === Key);
        if (open.length === 0) return { aborted };
        for (const u of open) {
          // A refused abort is tried again next round (the list tells whether it is still open).
          try { aborted += await this.abortUpload(u); } catch (err) { refused = err; }
        }
        await sleep(150 * (round + 1));
      }
      const still = (await this.listUploads(Key)).filter((u) => u.Key === Key);
      if (!still.length) return { aborted };
      const why = refused ? `: ${this.wrap(refused, 'aborting it').message.slice(storageLabel(this).length + 2)}` : '';
      return { aborted, error: `${still.length} upload(s) still open after 4 attempts${why}` };
    } catch (err) {
      // Our upload is aborted; the listing that looks for parts raced in after it is not allowed or failed.
      if (uploadId && !refused) return { aborted };
      const w = this.wrap(err, 'listing multipart uploads');
      return { aborted, error: w.kind === 'unreachable' ? 'the endpoint is unreachable' : w.message.slice(storageLabel(this).length + 2) };
    }
  }

  private async abortUpload(u: MultipartUpload): Promise<number> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key!, UploadId: u.UploadId! }));
      return 1;
    } catch (err) {
      if (codeOf(err) === 'NoSuchUpload') return 0;
      throw err;
    }
  }

  private async listUploads(prefix: string): Promise<MultipartUpload[]> {
    const out: MultipartUpload[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      const r = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker, UploadIdMarker, MaxUploads: this.listPageSize }));
      out.push(...(r.Uploads ?? []));
      if (!r.IsTruncated) return out;
      KeyMarker = r.NextKeyMarker;
      UploadIdMarker = r.NextUploadIdMarker;
      if (!KeyMarker && !UploadIdMarker) return out;
    }
  }

  async get(key: string): Promise<Readable> {
    const Key = this.objectKey(key);
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      if (!r.Body) throw new Error('the response has no body');
      return r.Body as Readable;
    } catch (err) {
      throw this.wrap(err, `reading ${key}`);
    }
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    const Key = this.objectKey(key);
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { key, size: r.ContentLength ?? 0, lastModified: r.LastModified ?? new Date(0) };
    } catch (err) {
      const code = codeOf(err);
      if (code === 'NotFound' || code === 'NoSuchKey') return undefined;
      throw this.wrap(err, `looking up ${key}`);
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const Prefix = this.listPrefix(prefix);
    const out: StoredObject[] = [];
    let ContinuationToken: string | undefined;
    try {
      do {
        const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken, MaxKeys: this.listPageSize }));
        for (const o of r.Contents ?? []) {
          if (o.Key) out.push({ key: this.logicalKey(o.Key), size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
        }
        ContinuationToken = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (ContinuationToken);
    } catch (err) {
      throw this.wrap(err, `listing ${prefix || '/'}`);
    }
    return out;
  }

  /**
   * Deletes `key`. On a destination with `objectLock`, the object's retention is read first (HeadObject): one
   * still locked (retain-until in the future, or a legal hold) is not sent a DeleteObject at all and fails
   * with ObjectLockedError (expected: retention keeps it); otherwise the current version is deleted by its
   * VersionId, because Object Lock buckets are versioned and a DeleteObject without one only hides the
   * object behind a delete marker. Without `objectLock`, an AccessDenied that turns out to be a lock is an
   * ObjectLockedError too.
   */
  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    let VersionId: string | undefined;
    if (this.objectLock) {
      let head;
      try {
        head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      } catch (err) {
        const code = codeOf(err);
        if (code === 'NotFound' || code === 'NoSuchKey') return;
        throw this.wrap(err, `reading the Object Lock retention of ${key}`);
      }
      const until = head.ObjectLockRetainUntilDate;
      if (until && until.getTime() > Date.now()) {
        throw new ObjectLockedError(this.name, key, `${storageLabel(this)}: ${key} is locked until ${until.toISOString()} (Object Lock ${head.ObjectLockMode ?? '?'}); not deleted`, until);
      }
      if (head.ObjectLockLegalHoldStatus === 'ON') {
        throw new ObjectLockedError(this.name, key, `${storageLabel(this)}: ${key} is under an Object Lock legal hold; not deleted`);
      }
      VersionId = head.VersionId;
    }
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key, ...(VersionId ? { VersionId } : {}) }));
    } catch (err) {
      if (codeOf(err) === 'AccessDenied') throw await this.deniedDelete(key, Key, err);
      throw this.wrap(err, `deleting ${key}`);
    }
  }

  /** AccessDenied on delete: an Object Lock (expected with immutable backups) or missing permission? */
  private async deniedDelete(key: string, Key: string, err: unknown): Promise<StorageError> {
    const label = storageLabel(this);
    if (/object ?lock|worm|retention|legal hold/i.test(errorMessage(err))) {
      return new ObjectLockedError(this.name, key, `${label}: ${key} is protected by Object Lock and cannot be deleted yet`, undefined, { cause: err });
    }
    try {
      const r = await this.client.send(new GetObjectRetentionCommand({ Bucket: this.bucket, Key }));
      const until = r.Retention?.RetainUntilDate;
      if (r.Retention?.Mode && (!until || until.getTime() > Date.now())) {
        return new ObjectLockedError(this.name, key, `${label}: ${key} is under Object Lock (${r.Retention.Mode}${until ? ` until ${until.toISOString()}` : ''})`, until, { cause: err });
      }
    } catch { /* no retention configured, or not allowed to read it */ }
    try {
      const r = await this.client.send(new GetObjectLegalHoldCommand({ Bucket: this.bucket, Key }));
      if (r.LegalHold?.Status === 'ON') return new ObjectLockedError(this.name, key, `${label}: ${key} is under an Object Lock legal hold`, undefined, { cause: err });
    } catch { /* as above */ }
    return new StorageError(this.name, `${label}: access denied deleting ${key} (AccessDenied); check that the credentials allow s3:DeleteObject on the bucket (and s3:GetObjectRetention if the bucket uses Object Lock)`, 'access-denied', { cause: err });
  }

  async cleanupPartials(prefix: string, opts: { olderThanMs?: number } = {}): Promise<number> {
    const Prefix = this.listPrefix(prefix);
    const cutoff = opts.olderThanMs !== undefined ? Date.now() - opts.olderThanMs : undefined;
    try {
      const uploads = await this.listUploads(Prefix);
      let n = 0;
      for (const u of uploads) {
        if (!u.Key || !u.UploadId) continue;
        if (cutoff !== undefined && u.Initiated && u.Initiated.getTime() > cutoff) continue;
        n += await this.abortUpload(u);
      }
      return n;
    } catch (err) {
      throw this.wrap(err, `cleaning up interrupted uploads under ${prefix || '/'}`);
    }
  }

  /** A StorageError naming the destination and the first thing to check. Never includes credentials. */
  wrap(err: unknown, what: string): StorageError {
    if (err instanceof StorageError) return err;
    const label = storageLabel(this);
    const code = codeOf(err);
    const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
    const raw = redactSecrets(errorMessage(err)).slice(0, 300);
    const make = (kind: StorageErrorKind, msg: string) => new StorageError(this.name, `${label}: ${msg}`, kind, { cause: err });
    if (code && NETWORK_CODES.has(code)) {
      return make('unreachable', `cannot reach the endpoint ${this.endpointLabel} (${code}${raw && !raw.includes(code) ? `: ${raw}` : ''}) while ${what}; check "endpoint" in the config and that the storage service is running and reachable`);
    }
    switch (code) {
      case 'NoSuchBucket':
        return make('no-bucket', `the bucket "${this.bucket}" does not exist (NoSuchBucket) at ${this.endpointLabel}; check "bucket" in the config, or create it`);
      case 'InvalidAccessKeyId':
        return make('credentials', `the access key is not known to ${this.endpointLabel} (InvalidAccessKeyId); check "accessKeyId" and that the key is active`);
      case 'SignatureDoesNotMatch':
        return make('credentials', `the secret key does not match the access key (SignatureDoesNotMatch); check "secretAccessKey"`);
      case 'InvalidToken':
      case 'ExpiredToken':
        return make('credentials', `the session token was refused (${code}); check "sessionToken"`);
      case 'AccessDenied':
      case 'Forbidden':
        return make('access-denied', `access denied while ${what} (${code}); check the credentials and that they allow this operation on the bucket`);
      case 'NoSuchKey':
      case 'NotFound':
        return make('not-found', `${what}: no such object`);
      case 'NotImplemented':
        if (/checksum/i.test(raw)) {
          return make('other', `the service rejected the SDK's checksum headers while ${what} (NotImplemented: ${raw}); set requestChecksumCalculation and responseChecksumValidation to WHEN_REQUIRED for this destination`);
        }
        return make('other', `${what} is not supported by ${this.endpointLabel} (NotImplemented: ${raw})`);
    }
    if (status === 403) return make('access-denied', `access denied while ${what} (HTTP 403); check the credentials and the bucket's permissions`);
    return make('other', `${what} failed: ${code && !raw.includes(code) ? `${code}: ` : ''}${raw || `HTTP ${status ?? '?'}`}`);
  }
}

/** The S3 error code, or the network error code (also inside an AggregateError from happy eyeballs). */
function codeOf(err: unknown): string | undefined {
  const e = err as { name?: string; Code?: string; code?: string; errors?: unknown[]; cause?: unknown } | undefined;
  if (!e || typeof e !== 'object') return undefined;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  if (Array.isArray(e.errors)) {
    for (const x of e.errors) {
      const c = codeOf(x);
      if (c) return c;
    }
  }
  if (typeof e.Code === 'string') return e.Code;
  if (e.name === 'TimeoutError') return 'TimeoutError';
  if (typeof e.code === 'string') return e.code;
  if (e.name && e.name !== 'Error' && e.name !== 'S3ServiceException') return e.name;
  if (e.cause) return codeOf(e.cause);
  // A network error from another realm arrives as "AWS SDK error wrapper for Error: connect ECONNREFUSED ...".
  const m = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|EPIPE|ECONNABORTED)\b/.exec(String((err as Error).message ?? ''));
  return m?.[1];
}
