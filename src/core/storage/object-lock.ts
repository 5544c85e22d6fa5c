import type { StorageConfig } from '../../config/schema.js';

type ObjectLockMode = 'GOVERNANCE' | 'COMPLIANCE';

/** The S3 Object Lock retention a backup's objects get on one destination. */
export interface ObjectLockRetention { mode: ObjectLockMode; retainUntil: Date }

/** What a manifest records per destination (`manifest.objectLock`). */
export interface ManifestObjectLock { destination: string; mode: ObjectLockMode; retainUntil: string }

const DAY = 86_400_000;

/**
 * The retention of a backup taken at `takenAt` on a destination with `objectLock: { mode, days }`: every
 * object of the backup (dump, files archives, manifest) is locked until takenAt + days, one date for all,
 * recorded in the manifest so that retention knows it without asking the storage.
 */
export function objectLockOf(cfg: StorageConfig | undefined, takenAt: Date): ObjectLockRetention | undefined {
  if (!cfg || cfg.type !== 's3' || !cfg.objectLock) return undefined;
  return { mode: cfg.objectLock.mode, retainUntil: new Date(takenAt.getTime() + cfg.objectLock.days * DAY) };
}

/** `manifest.objectLock` of a register row's manifest (tolerant of old rows and damaged entries). */
function manifestObjectLocks(manifest: unknown): ManifestObjectLock[] {
  const list = (manifest as { objectLock?: unknown } | null | undefined)?.objectLock;
  if (!Array.isArray(list)) return [];
  return list.filter((l): l is ManifestObjectLock =>
    typeof l?.destination === 'string' && (l.mode === 'GOVERNANCE' || l.mode === 'COMPLIANCE') && typeof l.retainUntil === 'string' && !Number.isNaN(Date.parse(l.retainUntil)));
}

/** The latest lock of the backup still in force at `now` (any destination), or undefined. */
export function lockedUntil(manifest: unknown, now: Date): ManifestObjectLock | undefined {
  let latest: ManifestObjectLock | undefined;
  for (const l of manifestObjectLocks(manifest)) {
    if (Date.parse(l.retainUntil) > now.getTime() && (!latest || Date.parse(l.retainUntil) > Date.parse(latest.retainUntil))) latest = l;
  }
  return latest;
}
