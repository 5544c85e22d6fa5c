import type { Readable } from 'node:stream';

export interface StoredObject { key: string; size: number; lastModified: Date }

/**
 * One backup destination. Keys are logical (`<client>/backup_....sql.gz`); each destination puts them
 * under its own prefix. Nothing ever exists under a final key until it is complete: local files are
 * written as `.partial` and renamed, S3 uploads are multipart and aborted on failure.
 */
export interface Storage {
  readonly name: string;
  /** Where it is, for messages: `s3://bucket/prefix` or `/opt/backups` (never credentials). */
  readonly description: string;
  put(key: string, body: Readable, opts?: { signal?: AbortSignal; contentType?: string }): Promise<{ size: number }>;
  get(key: string): Promise<Readable>;
  stat(key: string): Promise<StoredObject | undefined>;
  /** Objects whose key starts with `prefix`, any order. */
  list(prefix: string): Promise<StoredObject[]>;
  delete(key: string): Promise<void>;
  /** Removes leftovers of interrupted writes (`.partial` files, open multipart uploads); returns how many. */
  cleanupPartials(prefix: string): Promise<number>;
}
