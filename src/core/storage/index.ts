import type { Readable } from 'node:stream';
import type { S3StorageConfig, StorageConfig } from '../../config/schema.js';
import type { PutOptions, Storage, StoredObject } from './storage.js';
import { LocalStorage } from './local.js';

export type { Storage } from './storage.js';
export { ObjectLockedError } from './storage.js';

export function createStorage(name: string, cfg: StorageConfig): Storage {
  switch (cfg.type) {
    case 'local':
      return new LocalStorage(name, cfg);
    case 's3':
      return new LazyS3Storage(name, cfg);
  }
}

/**
 * An `S3Storage` whose module (and the AWS SDK, ~40 MB of resident memory) is loaded on first use, so
 * a process that only touches local destinations never pays for it.
 */
class LazyS3Storage implements Storage {
  readonly description: string;
  private impl: Promise<Storage> | undefined;

  constructor(readonly name: string, private readonly cfg: S3StorageConfig) {
    const prefix = cfg.prefix.replace(/^\/+|\/+$/g, '');
    this.description = `s3://${cfg.bucket}${prefix ? `/${prefix}` : ''}`;
  }

  private load(): Promise<Storage> {
    this.impl ??= import('./s3.js').then((m) => new m.S3Storage(this.name, this.cfg));
    return this.impl;
  }

  async put(key: string, body: Readable, opts?: PutOptions): Promise<{ size: number }> {
    return (await this.load()).put(key, body, opts);
  }
  async get(key: string): Promise<Readable> {
    return (await this.load()).get(key);
  }
  async stat(key: string): Promise<StoredObject | undefined> {
    return (await this.load()).stat(key);
  }
  async list(prefix: string): Promise<StoredObject[]> {
    return (await this.load()).list(prefix);
  }
  async delete(key: string): Promise<void> {
    return (await this.load()).delete(key);
  }
  async cleanupPartials(prefix: string, opts?: { olderThanMs?: number }): Promise<number> {
    return (await this.load()).cleanupPartials(prefix, opts);
  }
}
