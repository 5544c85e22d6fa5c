import { backupKey, globalsFileName } from '../core/naming.js';
import { encryptionStage } from '../core/dump/database.js';
import { dumpGlobals } from '../core/dump/globals.js';
import { verifyGlobalsFile } from '../core/verify/globals-file.js';
import type { Check } from '../core/verify/backup-file.js';
import type { Decryption } from '../core/crypto/keys.js';
import type { BackupManifest } from './manifest.js';
import type { ClientConfig } from '../config/schema.js';
import type { Destination } from '../core/dump/pipeline.js';
import type { Storage } from '../core/storage/storage.js';
import type { BackupLocation } from '../store/backup-register.js';

/** The part of the backup runbook's state (backup-steps.ts BackupState) the globals file uses. */
interface GlobalsState {
  cfg: ClientConfig;
  client: string;
  base?: string;
  key?: string;
  encryptTo?: string[];
  destinations: Destination[];
  locations: Map<string, BackupLocation>;
  warnings: string[];
  secondaryStallMs: number;
  globals?: ManifestGlobals;
}

/**
 * `database.globals: true` (issue 18 item 5): `pg_dumpall --globals-only` (roles, memberships, role settings;
 * password hashes only with `globalsWithPasswords`) stored beside the dump in the destinations that have it, as
 * `backup_…_globals.sql.gz`, or `.sql.gz.age` encrypted for the dump's recipients when `encryption` is set
 * (issue 20: roles and their hashes are as sensitive as the data). A failure fails the backup, which then
 * removes what it stored.
 */
export async function storeGlobals(s: GlobalsState): Promise<void> {
  if (s.cfg.database.engine !== 'postgres' || !s.cfg.database.globals) return;
  const key = backupKey(s.client, globalsFileName(s.base!, Boolean(s.encryptTo)));
  const live = s.destinations.filter((d) => s.locations.get(d.name)?.ok);
  const encrypt = await encryptionStage(s.encryptTo);
  const r = await dumpGlobals(s.cfg.database, { key, destinations: live, gzipLevel: s.cfg.gzipLevel, secondaryStallMs: s.secondaryStallMs, ...(encrypt ? { encrypt } : {}) });
  for (const d of r.destinations) {
    if (!d.ok) s.locations.set(d.destination, { destination: d.destination, ok: false, key: s.key!, error: d.error ?? 'globals file failed' });
  }
  // The key is known from here on, so a failure below still removes whatever was written under it.
  s.globals = { key, sha256: r.sha256, sizeBytes: r.sizeBytes, withPasswords: r.withPasswords, roles: null, ...(r.plaintextSha256 ? { plaintextSha256: r.plaintextSha256, plaintextSizeBytes: r.plaintextBytes } : {}) };
  if (!r.ok) throw new Error(`globals (pg_dumpall --globals-only): ${r.error ?? 'failed'}`);
  s.warnings.push(...r.warnings.map((w) => `globals: ${w}`));
}

/** Reads one stored copy of the globals file back (decrypting it when an identity is here); its checks join that copy's. */
export async function verifyStoredGlobals(s: GlobalsState, decryption: Decryption | undefined, storage: Storage): Promise<{ ok: boolean; checks: Check[] }> {
  const g = s.globals;
  if (!g) return { ok: true, checks: [] };
  const v = await verifyGlobalsFile(storage, g.key, {
    expectedSha256: g.sha256, withPasswords: g.withPasswords,
    ...(s.encryptTo ? { encrypted: { decryption: decryption && { ...decryption, plaintextSha256: g.plaintextSha256 }, client: s.client } } : {}),
  });
  g.roles ??= v.roles ?? null;
  return { ok: v.ok, checks: v.checks.map((c): Check => ({ name: `globals ${c.name}`, ok: c.ok, detail: c.detail })) };
}

export type ManifestGlobals = NonNullable<BackupManifest['globals']>;
