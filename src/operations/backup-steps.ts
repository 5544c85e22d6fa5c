import { Readable } from 'node:stream';
import type { Context } from '../context.js';
import type { ClientConfig } from '../config/schema.js';
import { backupKey, dumpExtension, filesArchiveName, manifestKey, uniqueBackupBase } from '../core/naming.js';
import { dumpDatabase, encryptionStage, type DatabaseDumpResult } from '../core/dump/database.js';
import { storageFailure, streamToDestinations, type Destination } from '../core/dump/pipeline.js';
import { spawnTar, tarExitAcceptable } from '../core/dump/files.js';
import { runHook } from '../core/dump/maintenance.js';
import { verifyArchiveFile, verifyBackupFile, type Check } from '../core/verify/backup-file.js';
import { errorMessage } from '../core/errors.js';
import { decryptionFor, recipientInfo, type Decryption, type ManifestEncryption } from '../core/crypto/keys.js';
import { objectLockOf } from '../core/storage/object-lock.js';
import type { BackupLocation, BackupType } from '../store/backup-register.js';
import type { BackupManifest } from './manifest.js';
import type { Step } from './runbook.js';
import { storeGlobals, verifyStoredGlobals, type ManifestGlobals } from './backup-globals.js';

/** Seconds a secondary destination may stall before it is dropped (tests lower it). */
const backupTuning = { secondaryStallMs: 120_000 };

/** What the backup runbook's steps share. */
export interface BackupState {
  ctx: Context;
  cfg: ClientConfig;
  client: string;
  type: BackupType;
  startedAt: Date;
  format: 'plain' | 'custom';
  destinations: Destination[];
  file?: string;
  key?: string;
  base?: string;
  locations: Map<string, BackupLocation>;
  dump?: DatabaseDumpResult;
  archives: Array<{ path: string; key: string; sha256: string; sizeBytes: number; plaintextSha256?: string }>;
  /** The globals file (`database.globals`), once stored. */
  globals?: ManifestGlobals;
  /** backupTuning.secondaryStallMs, read when the backup starts. */
  secondaryStallMs: number;
  /** age recipients of `clients.<c>.encryption` (undefined: not encrypted). */
  encryptTo?: string[];
  warnings: string[];
  maintenanceOn: boolean;
  /** Objects exist under final names (removed again by the undo unless verification started). */
  stored: boolean;
  verifyStarted: boolean;
  checks: Check[];
  verified: boolean;
  tables: number | null;
  manifest?: BackupManifest;
}

export function backupState(ctx: Context, client: string, type: BackupType): BackupState {
  const cfg = ctx.client(client);
  return {
    ctx, cfg, client, type, startedAt: ctx.clock.now(), format: cfg.database.engine === 'postgres' ? cfg.database.format : 'plain', encryptTo: cfg.encryption?.recipients,
    destinations: [], locations: new Map(), archives: [], warnings: [], maintenanceOn: false, stored: false, verifyStarted: false,
    checks: [], verified: false, tables: null, secondaryStallMs: backupTuning.secondaryStallMs,
  };
}

/**
 * The backup runbook (SOP-001 sections 6, 7, 8.1): maintenance on → dump streamed through gzip + sha256 into every
 * destination → files archives → maintenance off → read every copy back, the primary first (verify) → manifest beside it.
 * A failure before verification removes what was stored (nothing half-written under a final name) and turns
 * maintenance off; a backup that fails verification is kept for inspection and recorded as an error.
 */
export const BACKUP_STEPS: Array<Step<BackupState>> = [
  {
    name: 'dumping',
    label: 'Maintenance on (when configured), then dump the database through gzip and sha256 to every destination',
    async run(s, signal) {
      s.destinations = s.cfg.storage.map((name, i) => {
        try {
          const objectLock = objectLockOf(s.ctx.config.storage[name], s.startedAt);
          return { name, storage: s.ctx.storage(name), primary: i === 0, ...(objectLock ? { objectLock } : {}) };
        } catch (err) {
          throw new Error(`storage "${name}": ${errorMessage(err)}`);
        }
      });
      await nameBackup(s);
      if (s.cfg.maintenance) {
        s.maintenanceOn = true;
        const on = await runHook(s.cfg.maintenance.on);
        if (!on.ok) throw new Error(`maintenance on failed: ${on.detail}`);
      }
      signal.throwIfAborted();
      const key = s.key!;
      const dump = await dumpDatabase(s.cfg.database, { key, destinations: s.destinations, gzipLevel: s.cfg.gzipLevel, verifyTables: s.cfg.verify.tables, secondaryStallMs: s.secondaryStallMs, encryptTo: s.encryptTo, signal });
      s.dump = dump;
      for (const d of dump.destinations) s.locations.set(d.destination, { destination: d.destination, ok: d.ok, key, ...(d.error ? { error: d.error } : {}) });
      if (!dump.ok) throw new Error(dump.error ?? 'the dump failed');
      s.stored = true; // from here on, objects exist under the final name
      s.warnings.push(...dump.warnings);
      if (dump.missingTables.length) {
        const missing = `verify.tables not found in the database: ${dump.missingTables.join(', ')}`;
        if (!s.cfg.verify.allowMissing) throw new Error(`${missing} (a table the SOP checks is gone; if that is expected, remove it from verify.tables or set verify.allowMissing: true)`);
        s.warnings.push(`${missing} (not counted; verify.allowMissing: true)`);
      }
    },
    undo: {
      name: 'discard_backup',
      needed: (s) => s.maintenanceOn || (s.stored && !s.verifyStarted),
      async run(s) {
        const notes: string[] = [];
        if (s.stored && !s.verifyStarted && s.key) {
          for (const d of s.destinations) await removeObjects(d, storedKeys(s));
          for (const l of s.locations.values()) if (l.ok) Object.assign(l, { ok: false, error: 'removed: the backup failed' });
          s.stored = false;
          notes.push('nothing kept under the final name');
        }
        if (s.maintenanceOn) notes.push(await maintenanceOff(s));
        return notes.join('; ');
      },
    },
  },
  {
    name: 'uploading',
    label: 'Files archives (tar.gz) and the globals file (database.globals) to the destinations that have the dump; maintenance off',
    async run(s, signal) {
      for (const [i, path] of s.cfg.files.entries()) {
        signal.throwIfAborted();
        const live = s.destinations.filter((d) => s.locations.get(d.name)?.ok);
        const akey = backupKey(s.client, filesArchiveName(s.base!, i + 1, path, Boolean(s.encryptTo)));
        const encrypt = await encryptionStage(s.encryptTo);
        const r = await streamToDestinations({ source: spawnTar(path), key: akey, destinations: live, gzipLevel: s.cfg.gzipLevel, exitAcceptable: (e) => tarExitAcceptable(e.code, e.signal), secondaryStallMs: s.secondaryStallMs, contentType: encrypt ? 'application/octet-stream' : 'application/gzip', encrypt, signal });
        for (const d of r.destinations) {
          if (!d.ok) s.locations.set(d.destination, { destination: d.destination, ok: false, key: s.key!, error: d.error ?? 'files archive failed' });
        }
        if (!r.ok) throw new Error(`files archive of ${path}: ${r.error ?? 'failed'}`);
        s.warnings.push(...r.warnings.map((w) => `files archive of ${path}: ${w}`));
        s.archives.push({ path, key: akey, sha256: r.sha256, sizeBytes: r.sizeBytes, ...(r.plaintextSha256 ? { plaintextSha256: r.plaintextSha256 } : {}) });
      }
      await storeGlobals(s, signal);
      if (s.maintenanceOn) await maintenanceOff(s);
      // A secondary that failed part of the backup keeps none of it.
      for (const d of s.destinations) {
        if (!d.primary && !s.locations.get(d.name)?.ok) await removeObjects(d, storedKeys(s));
      }
    },
  },
  {
    name: 'verifying',
    label: 'Read every copy back (sha256, gunzip, tables, trailer), the primary first, and write the manifest beside them',
    async run(s) {
      s.verifyStarted = true;
      await verifyPrimary(s);
      if (s.verified) await verifySecondaries(s);
      await writeManifest(s);
      if (!s.verified) {
        const failed = s.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ');
        throw new Error(`verification of the primary copy failed: ${failed}`);
      }
    },
  },
];

async function nameBackup(s: BackupState): Promise<void> {
  const primary = s.destinations[0]!;
  const store = s.ctx.store;
  s.base = await uniqueBackupBase(s.startedAt, { timeZone: s.ctx.config.timezone, format: s.format }, async (f) => {
    const k = backupKey(s.client, f);
    if (await store.backups.findByKey(s.client, k)) return true;
    if (await store.backups.findByKey(s.client, f)) return true;
    return (await primary.storage.stat(k).catch(() => undefined)) !== undefined;
  });
  s.file = s.base + dumpExtension(s.format, Boolean(s.encryptTo));
  s.key = backupKey(s.client, s.file);
  for (const d of s.destinations) s.locations.set(d.name, { destination: d.name, ok: false, key: s.key });
}

async function maintenanceOff(s: BackupState): Promise<string> {
  s.maintenanceOn = false;
  const off = await runHook(s.cfg.maintenance!.off);
  if (off.ok) return 'maintenance off';
  s.warnings.push(`maintenance off FAILED (the application may still be in maintenance mode): ${off.detail}`);
  return `maintenance off FAILED: ${off.detail}`;
}

async function verifyPrimary(s: BackupState): Promise<void> {
  const primary = s.destinations[0]!;
  const v = await verifyCopy(s, primary);
  const minBytes = s.cfg.verify.minBytes;
  if (minBytes > 0) {
    // SOP-001 6.4: an absolute minimum size (a tiny dump is an empty or truncated database, whatever it holds).
    const size = s.dump!.sizeBytes;
    v.checks.push({ name: 'size', ok: size >= minBytes, detail: `${size} bytes compressed (minimum ${minBytes}, verify.minBytes)` });
    v.ok &&= size >= minBytes;
  }
  s.checks = v.checks;
  s.tables = v.tables;
  s.verified = v.ok;
  const loc = s.locations.get(primary.name);
  if (loc) Object.assign(loc, { verified: v.ok }, v.ok ? {} : { verifyError: failedChecks(v.checks) });
}

/**
 * Every secondary copy is read back like the primary (SOP 5.2, 8.2: the second location is proven, not assumed).
 * One that fails is kept for inspection, recorded on its location (ok: false, verified: false) and in the
 * observations; the backup stays OK because the primary verified.
 */
async function verifySecondaries(s: BackupState): Promise<void> {
  for (const d of s.destinations.slice(1)) {
    const loc = s.locations.get(d.name);
    if (!loc?.ok) continue;
    let error: string | undefined;
    try {
      const v = await verifyCopy(s, d, true);
      if (!v.ok) error = failedChecks(v.checks);
    } catch (err) {
      error = `cannot read it back: ${storageFailure(d, err)}`;
    }
    if (error) {
      Object.assign(loc, { ok: false, verified: false, verifyError: error, error: `copy failed verification: ${error}` });
      s.warnings.push(`secondary copy on ${d.name} FAILED verification (the primary verified): ${error}`);
    } else {
      loc.verified = true;
    }
  }
}

const failedChecks = (checks: Check[]) => checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ');

/** Reads one stored copy back: sha256, full decompression (and decryption), tables, trailer, the files archives. */
async function verifyCopy(s: BackupState, d: Destination, quiet = false): Promise<{ ok: boolean; checks: Check[]; tables: number | null }> {
  const dump = s.dump!;
  // Encrypted: the read-back decrypts with the configured identity; without one, it checks the stored bytes.
  const encryption = encryptionOf(s);
  const decryption: Decryption | undefined = encryption && s.cfg.encryption?.identity ? await decryptionFor(s.client, s.cfg.encryption, { encryption }, s.key!) : undefined;
  if (encryption && !decryption && !quiet) s.warnings.push(`not decrypted on read-back: no age identity on this host (clients.${s.client}.encryption.identity); the stored bytes were checked`);
  const v = await verifyBackupFile(d.storage, s.key!, {
    engine: s.cfg.database.engine, format: s.format, expectedSha256: dump.sha256, minTables: s.cfg.verify.minTables, decrypt: decryption, client: s.client,
    ...(encryption && !decryption ? { encryptedWithoutIdentity: { streamed: { tables: dump.tables, trailer: dump.trailer } } } : {}),
  });
  const checks = [...v.checks];
  let ok = v.ok;
  if (s.format === 'plain' && dump.tables !== undefined && v.tables !== undefined && v.tables !== dump.tables) {
    checks.push({ name: 'tables-match', ok: false, detail: `read back ${v.tables} CREATE TABLE, streamed ${dump.tables}` });
    ok = false;
  }
  for (const a of s.archives) {
    const av = await verifyArchiveFile(d.storage, a.key, a.sha256, encryption ? { decryption: decryption && { ...decryption, plaintextSha256: a.plaintextSha256 }, client: s.client } : undefined);
    for (const c of av.checks) checks.push({ name: `files ${a.path} ${c.name}`, ok: c.ok, detail: c.detail });
    ok &&= av.ok;
  }
  const g = await verifyStoredGlobals(s, decryption, d.storage);
  checks.push(...g.checks);
  ok &&= g.ok;
  return { ok, checks, tables: v.tables ?? dump.tables ?? null };
}

/** Every object this backup stores under a final name (the dump, its files archives, its globals file). */
function storedKeys(s: BackupState): string[] {
  return [s.key!, ...s.archives.map((a) => a.key), ...(s.globals ? [s.globals.key] : [])];
}

/** manifest.encryption of an encrypted backup: recipients (fingerprints) and the plaintext's sha256 and size. */
function encryptionOf(s: BackupState): ManifestEncryption | undefined {
  if (!s.encryptTo) return undefined;
  return { scheme: 'age', recipients: recipientInfo(s.encryptTo), plaintextSha256: s.dump!.plaintextSha256!, plaintextSizeBytes: s.dump!.plaintextBytes! };
}

async function writeManifest(s: BackupState): Promise<void> {
  const dump = s.dump!;
  const ok = (d: Destination) => s.locations.get(d.name)?.ok;
  s.manifest = {
    client: s.client, engine: s.cfg.database.engine, format: s.format, type: s.type, file: s.file!, key: s.key!, sha256: dump.sha256, sizeBytes: dump.sizeBytes,
    tables: s.tables, serverVersion: dump.serverVersion, dumpToolVersion: dump.dumpToolVersion, startedAt: s.startedAt.toISOString(),
    finishedAt: s.ctx.clock.now().toISOString(), rowCounts: dump.rowCounts, rowCountsMode: s.cfg.database.engine === 'postgres' ? 'snapshot' : 'before-dump',
    files: s.archives, ...(s.globals ? { globals: s.globals } : {}), gzipLevel: s.cfg.gzipLevel, destinations: s.destinations.filter(ok).map((d) => d.name),
    ...(s.encryptTo ? { encryption: encryptionOf(s) } : {}),
    ...(s.destinations.some((d) => d.objectLock) ? { objectLock: s.destinations.filter((d) => d.objectLock && ok(d)).map((d) => ({ destination: d.name, mode: d.objectLock!.mode, retainUntil: d.objectLock!.retainUntil.toISOString() })) } : {}),
  };
  const body = JSON.stringify(s.manifest, null, 2);
  for (const d of s.destinations.filter(ok)) {
    try {
      await d.storage.put(manifestKey(s.key!), Readable.from([Buffer.from(body)]), { contentType: 'application/json', retainUntil: d.objectLock?.retainUntil });
    } catch (err) {
      const msg = `manifest not written: ${storageFailure(d, err)}`;
      if (d.primary) s.warnings.push(msg);
      else s.locations.set(d.name, { destination: d.name, ok: false, key: s.key!, error: msg });
    }
  }
}

async function removeObjects(d: Destination, keys: string[]): Promise<void> {
  for (const k of keys) {
    await d.storage.delete(k).catch(() => {});
    await d.storage.delete(manifestKey(k)).catch(() => {});
  }
}
