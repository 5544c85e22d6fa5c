import type { Context } from '../context.js';
import { errorMessage, OperationError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { isDumpFileName } from '../core/naming.js';
import { type BackupRow } from '../store/backup-register.js';

export interface StoredBackup {
  key: string;
  file: string;
  takenAt: Date | null;
  type: string | null;
  sizeBytes: number | null;
  tables: number | null;
  sha256: string | null;
  verified: boolean;
  verifiedAt: Date | null;
  result: 'OK' | 'Error' | null;
  /** Destinations where the object is present now. */
  locations: string[];
  /** Every destination of the client: is the copy there, and did its latest read-back pass (null: never read back). */
  copies: CopyStatus[];
  /** In the register (false: found only in storage). */
  registered: boolean;
  /** Registered as stored but found in no destination. */
  missing: boolean;
  backupId: string | null;
}

export interface CopyStatus { destination: string; present: boolean; verified: boolean | null; error?: string }

/** "local verified, nas FAILED" — one word per destination. */
export function copyStatusText(c: CopyStatus): string {
  if (!c.present) return `${c.destination} absent`;
  return `${c.destination} ${c.verified === null ? 'not read back' : c.verified ? 'verified' : 'FAILED'}`;
}

export interface ListBackupsResult { backups: StoredBackup[]; errors: Array<{ destination: string; error: string }> }

/**
 * Stored backups of a client, newest first: every database dump found in the client's destinations,
 * joined with its register row (verified, size, tables, type); register rows whose object is gone from
 * every destination are listed as `missing`.
 */
export async function listStoredBackups(ctx: Context, client: string): Promise<StoredBackup[]> {
  const r = await listStoredBackupsDetailed(ctx, client);
  if (r.errors.length && r.errors.length === ctx.client(client).storage.length) throw new OperationError(`cannot list the backups of "${client}": ${r.errors.map((e) => e.error).join('; ')}`);
  return r.backups;
}

/** Same, plus the destinations that could not be listed. */
export async function listStoredBackupsDetailed(ctx: Context, client: string): Promise<ListBackupsResult> {
  const cfg = ctx.client(client);
  const rows = await ctx.store.backups.list({ client, limit: 5000 });
  const byKey = new Map<string, BackupRow>();
  for (const r of rows) if (r.key && !byKey.has(r.key)) byKey.set(r.key, r);
  const found = new Map<string, { size: number; lastModified: Date; locations: string[] }>();
  const errors: ListBackupsResult['errors'] = [];
  for (const name of cfg.storage) {
    try {
      for (const o of await ctx.storage(name).list(`${client}/`)) {
        const file = o.key.slice(client.length + 1);
        if (file.includes('/') || !isDumpFileName(file)) continue;
        const f = found.get(o.key) ?? { size: o.size, lastModified: o.lastModified, locations: [] };
        f.locations.push(name);
        found.set(o.key, f);
      }
    } catch (err) {
      errors.push({ destination: name, error: redactSecrets(errorMessage(err)) });
    }
  }
  const lastChecks = await latestCopyChecks(ctx, client);
  const copiesOf = (key: string, r: BackupRow | undefined, present: string[]): CopyStatus[] => cfg.storage.map((d) => {
    const later = lastChecks.get(`${key}\u0000${d}`);
    const loc = r?.locations.find((l) => l.destination === d);
    const verified = later ? later.ok : loc?.verified ?? (loc?.ok && r?.verified && d === cfg.storage[0] ? true : null);
    const error = later ? later.error : loc?.verifyError;
    return { destination: d, present: present.includes(d), verified, ...(verified === false && error ? { error } : {}) };
  });
  const out: StoredBackup[] = [];
  for (const [key, f] of found) {
    const r = byKey.get(key);
    out.push({
      key, file: key.slice(client.length + 1), takenAt: r?.taken_at ?? f.lastModified, type: r?.type ?? null,
      sizeBytes: r?.size_bytes != null ? Number(r.size_bytes) : f.size, tables: r?.tables_counted ?? null, sha256: r?.sha256 ?? null,
      verified: r?.verified ?? false, verifiedAt: r?.verified_at ?? null, result: r?.result ?? null, locations: f.locations, copies: copiesOf(key, r, f.locations),
      registered: !!r, missing: false, backupId: r?.id ?? null,
    });
  }
  for (const [key, r] of byKey) {
    if (found.has(key) || errors.length) continue;
    out.push({
      key, file: r.file ?? key, takenAt: r.taken_at, type: r.type, sizeBytes: r.size_bytes != null ? Number(r.size_bytes) : null, tables: r.tables_counted,
      sha256: r.sha256, verified: r.verified, verifiedAt: r.verified_at, result: r.result, locations: [], copies: copiesOf(key, r, []), registered: true, missing: true, backupId: r.id,
    });
  }
  out.sort((a, b) => (b.takenAt?.getTime() ?? 0) - (a.takenAt?.getTime() ?? 0) || b.file.localeCompare(a.file));
  return { backups: out, errors };
}

/** The newest read-back of each (backup key, destination) by `verify` runs (the monthly check, `backup-bot verify`). */
async function latestCopyChecks(ctx: Context, client: string): Promise<Map<string, { ok: boolean; error?: string }>> {
  const out = new Map<string, { ok: boolean; error?: string }>();
  const runs = await ctx.store.runs.list({ client, kind: 'verify', limit: 500 });
  for (const run of runs) { // newest first
    const d = run.details as { key?: string; copies?: Array<{ destination: string; ok: boolean; error?: string }> };
    if (!d.key || !Array.isArray(d.copies)) continue;
    for (const c of d.copies) {
      const k = `${d.key}\u0000${c.destination}`;
      if (!out.has(k)) out.set(k, { ok: c.ok, ...(c.error ? { error: c.error } : {}) });
    }
  }
  return out;
}
