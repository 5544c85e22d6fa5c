import { z } from 'zod';
import { BACKUP_TYPES, type BackupRow } from '../store/backup-register.js';

/**
 * The manifest stored beside each backup as `<key>.manifest.json` and in backup_register.manifest: what
 * was dumped, where, with which tools, its sha256 and the row counts a restore is verified against.
 * One schema; a register row's manifest is parsed once, where it is read (`manifestOf`).
 */
const count = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).pipe(z.number().int().min(0));

const backupManifestSchema = z.object({
  client: z.string(),
  engine: z.enum(['postgres', 'mysql']),
  format: z.enum(['plain', 'custom']),
  type: z.enum(BACKUP_TYPES as [string, ...string[]]),
  file: z.string(),
  key: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  sizeBytes: count,
  tables: count.nullable(),
  serverVersion: z.string(),
  dumpToolVersion: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  rowCounts: z.record(z.string(), count),
  /** How rowCounts were taken: 'snapshot' (same snapshot as the dump) or 'before-dump'. */
  rowCountsMode: z.enum(['snapshot', 'before-dump']),
  files: z.array(z.object({ path: z.string(), key: z.string(), sha256: z.string(), sizeBytes: count, plaintextSha256: z.string().optional() })),
  gzipLevel: z.number().int(),
  destinations: z.array(z.string()),
  /** Encrypted with age (core/crypto/keys.ts ManifestEncryption): `sha256`/`sizeBytes` are then the ciphertext's. */
  encryption: z.object({
    scheme: z.literal('age'),
    recipients: z.array(z.object({ fingerprint: z.string(), recipient: z.string() })),
    plaintextSha256: z.string(),
    plaintextSizeBytes: count,
  }).optional(),
  /**
   * `database.globals`: the `pg_dumpall --globals-only` file of the same backup (sha256/sizeBytes of the stored
   * bytes; plaintextSha256/plaintextSizeBytes of the gzip stream when encrypted).
   */
  globals: z.object({
    key: z.string(), sha256: z.string(), sizeBytes: count, withPasswords: z.boolean(), roles: count.nullable(),
    plaintextSha256: z.string().optional(), plaintextSizeBytes: count.optional(),
  }).optional(),
  /** S3 Object Lock per destination (core/storage/object-lock.ts ManifestObjectLock): retention keeps the backup until then. */
  objectLock: z.array(z.object({ destination: z.string(), mode: z.enum(['GOVERNANCE', 'COMPLIANCE']), retainUntil: z.string() })).optional(),
});
export type BackupManifest = z.infer<typeof backupManifestSchema>;

/**
 * What a reader of a stored backup may rely on: the manifest's fields where it is complete, else the register
 * row's own columns (rows written before a field existed, or a failed backup without a manifest).
 */
export interface BackupFacts {
  engine: 'postgres' | 'mysql' | undefined;
  format: 'plain' | 'custom';
  file: string | undefined;
  key: string | undefined;
  sha256: string | undefined;
  sizeBytes: number | undefined;
  tables: number | undefined;
  serverVersion: string | undefined;
  rowCounts: Record<string, number>;
  files: BackupManifest['files'];
  globals: BackupManifest['globals'];
  /** Set when the stored manifest does not match the schema (shown, never silently trusted). */
  problem?: string;
}

/** A file entry as much as it can be read (a damaged entry still names its key, so prune can refuse it). */
const looseFile = z.object({ key: z.string(), path: z.string().default('?'), sha256: z.string().default(''), sizeBytes: count.default(0) });

/** Each field on its own: what is valid is used, what is not is left out (and the problem named). */
function looseManifest(raw: Record<string, unknown>): Partial<BackupManifest> {
  const out: Record<string, unknown> = {};
  for (const [k, schema] of Object.entries(backupManifestSchema.shape)) {
    const r = k === 'files' ? z.array(looseFile).safeParse(raw[k]) : (schema as z.ZodType).safeParse(raw[k]);
    if (r.success) out[k] = r.data;
  }
  return out as Partial<BackupManifest>;
}

/** A damaged globals entry still names its key (prune must delete it with the backup). */
function looseGlobals(raw: Record<string, unknown> | null): BackupManifest['globals'] {
  const r = z.object({ key: z.string() }).passthrough().safeParse(raw?.globals);
  if (!r.success) return undefined;
  return { sha256: '', sizeBytes: 0, withPasswords: false, roles: null, ...r.data } as BackupManifest['globals'];
}

export function manifestOf(b: Pick<BackupRow, 'manifest' | 'engine' | 'format' | 'file' | 'key' | 'sha256' | 'size_bytes' | 'tables_counted'>): BackupFacts {
  const full = b.manifest ? backupManifestSchema.safeParse(b.manifest) : undefined;
  const m = full?.success ? full.data : b.manifest ? looseManifest(b.manifest) : {};
  const problem = full && !full.success ? `the manifest does not match its schema: ${full.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}` : undefined;
  const engine = m.engine ?? (b.engine === 'postgres' || b.engine === 'mysql' ? b.engine : undefined);
  const size = m.sizeBytes ?? (b.size_bytes !== null && /^\d+$/.test(String(b.size_bytes)) ? Number(b.size_bytes) : undefined);
  return {
    engine,
    format: m.format ?? (b.format === 'custom' ? 'custom' : 'plain'),
    file: m.file ?? b.file ?? undefined,
    key: m.key ?? b.key ?? undefined,
    sha256: m.sha256 ?? b.sha256 ?? undefined,
    sizeBytes: size,
    tables: m.tables ?? b.tables_counted ?? undefined,
    serverVersion: m.serverVersion,
    rowCounts: m.rowCounts ?? {},
    files: m.files ?? [],
    globals: m.globals ?? looseGlobals(b.manifest),
    ...(problem ? { problem } : {}),
  };
}
