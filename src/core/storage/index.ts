import type { StorageConfig } from '../../config/schema.js';
import type { Storage } from './storage.js';
import { LocalStorage } from './local.js';

export type { Storage, StoredObject } from './storage.js';

export function createStorage(name: string, cfg: StorageConfig): Storage {
  switch (cfg.type) {
    case 'local':
      return new LocalStorage(name, cfg);
    case 's3':
      throw new Error('s3 storage: not implemented yet');
  }
}
