import type { Readable } from 'node:stream';
import { OperationError } from '../errors.js';

export interface StoredObject { key: string; size: number; lastModified: Date }

export interface PutOptions {
  signal?: AbortSignal;
  contentType?: string;
  /**
   * Object Lock retain-until date for this object, on a destination with `objectLock` (default: now +
   * objectLock.days); ignored by destinations without Object Lock.
   */
  retainUntil?: Date;
}

/**
 * One backup destination. Keys are logical (`<client>/backup_....sql.gz`); each destination puts them
 * under its own prefix. Nothing ever exists under a final key until it is complete: local files are
 * written as `.partial` and renamed, S3 uploads are multipart and aborted on failure.
 *
 * Errors are `StorageError`s whose message names the destination (`storage "r2" (s3://bucket/prefix): ...`)
 * and what to check; an error of the source stream handed to `put` is rethrown as it is.
 */
export interface Storage {
  readonly name: string;
  /** Where it is, for messages: `s3://bucket/prefix` or `/opt/backups` (never credentials). */
  readonly description: string;
  put(key: string, body: Readable, opts?: PutOptions): Promise<{ size: number }>;
  get(key: string): Promise<Readable>;
  stat(key: string): Promise<StoredObject | undefined>;
  /** Objects whose key starts with `prefix`, any order. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Deletes `key` (absent is fine). Throws `ObjectLockedError` when the object is protected (S3 Object Lock). */
  delete(key: string): Promise<void>;
  /**
   * Removes leftovers of interrupted writes (`.partial` files, open multipart uploads) under `prefix`;
   * returns how many. With `olderThanMs`, only leftovers untouched for at least that long (a write in
   * progress elsewhere is left alone).
   */
  cleanupPartials(prefix: string, opts?: { olderThanMs?: number }): Promise<number>;
}

/** A storage operation failed; the message names the destination and what to check. */
export class StorageError extends OperationError {
  constructor(
    readonly destination: string,
    message: string,
    readonly kind: StorageErrorKind = 'other',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

export type StorageErrorKind = 'unreachable' | 'credentials' | 'no-bucket' | 'access-denied' | 'not-found' | 'disk-full' | 'locked' | 'other';

/**
 * The object cannot be deleted because it is protected (S3 Object Lock retention or legal hold).
 * Expected with immutable backups: retention records it as kept, not as a failure.
 */
export class ObjectLockedError extends StorageError {
  constructor(destination: string, readonly key: string, message: string, readonly retainUntil?: Date, options?: { cause?: unknown }) {
    super(destination, message, 'locked', options);
    this.name = 'ObjectLockedError';
  }
}

/** `storage "name" (where)` — the start of every storage error message. */
export function storageLabel(s: { name: string; description: string }): string {
  return `storage "${s.name}" (${s.description})`;
}
