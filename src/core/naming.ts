import { zonedParts } from './time.js';

/**
 * Backup names (SOP-001 5.4): `backup_YYYY-MM-DD_HH-MM-SS.sql.gz`, the time in the configured time zone
 * (UTC by default).
 *
 * - PostgreSQL `custom` format (`pg_dump -Fc`) is stored as `backup_….dump`: the archive is already
 *   compressed by pg_dump (`--compress=<gzipLevel>`) and `pg_restore` reads it directly, so it is NOT
 *   gzipped again.
 * - Files archives: `backup_…_files_<n>-<sanitized path>.tar.gz` beside the database dump.
 * - PostgreSQL globals (`database.globals`, `pg_dumpall --globals-only`): `backup_…_globals.sql.gz`.
 * - Two backups of one client in the same second: the second gets `_2`, the third `_3`
 *   (`backup_2026-01-06_03-00-00_2.sql.gz`); `uniqueBackupBase` picks the first free one.
 * - Logical storage key `<client>/<file>`; manifest `<key>.manifest.json`.
 * - Encrypted with age (`clients.<c>.encryption`): the same name plus `.age`
 *   (`backup_….sql.gz.age`, `backup_….dump.age`, `backup_…_files_1-….tar.gz.age`).
 */

export type DumpFormat = 'plain' | 'custom';

const BACKUP_NAME_RE = /^backup_(\d{4})-(\d{2})-(\d{2})_(\d{2})-(\d{2})-(\d{2})(?:_(\d+))?(\.sql\.gz|\.dump)(\.age)?$/;

/** The suffix of an age-encrypted file. */
export const AGE_SUFFIX = '.age';

/** An age-encrypted backup file or key (`….age`)? */
export function isEncryptedName(name: string): boolean {
  return name.endsWith(AGE_SUFFIX);
}

/** A gzip stream once decrypted (`.sql.gz`, `.tar.gz`, with or without `.age`)? */
export function isGzipName(name: string): boolean {
  return /\.gz(\.age)?$/.test(name);
}

/** `backup_2026-01-06_03-00-00` (+ `_n` when n > 1). */
export function backupBase(at: Date, timeZone = 'UTC', n = 1): string {
  const p = zonedParts(at, timeZone);
  return `backup_${p.year}-${p.month}-${p.day}_${p.hour}-${p.minute}-${p.second}${n > 1 ? `_${n}` : ''}`;
}

export function dumpExtension(format: DumpFormat, encrypted = false): string {
  return (format === 'custom' ? '.dump' : '.sql.gz') + (encrypted ? AGE_SUFFIX : '');
}

export function backupFileName(at: Date, opts: { timeZone?: string; format?: DumpFormat; n?: number; encrypted?: boolean } = {}): string {
  return backupBase(at, opts.timeZone ?? 'UTC', opts.n ?? 1) + dumpExtension(opts.format ?? 'plain', opts.encrypted);
}

/** `/var/www/html` → `var_www_html`; anything outside [A-Za-z0-9._-] becomes `_` (no shell or path metacharacters). */
export function sanitizePath(path: string): string {
  const s = path.replace(/^\/+|\/+$/g, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._-]+/, '').slice(0, 60);
  return s || 'root';
}

/** `backup_…_files_1-var_www_html.tar.gz` (n counts from 1 in config order; `.tar.gz.age` when encrypted). */
export function filesArchiveName(base: string, n: number, path: string, encrypted = false): string {
  return `${base}_files_${n}-${sanitizePath(path)}.tar.gz${encrypted ? AGE_SUFFIX : ''}`;
}

/** `backup_…_globals.sql.gz` (`.sql.gz.age` when encrypted): the roles and memberships (`pg_dumpall --globals-only`) of the same backup. */
export function globalsFileName(base: string, encrypted = false): string {
  return `${base}_globals.sql.gz${encrypted ? AGE_SUFFIX : ''}`;
}

export function backupKey(client: string, file: string): string {
  return `${client}/${file}`;
}

export function manifestKey(key: string): string {
  return `${key}.manifest.json`;
}

/** A database dump's file name (not a manifest, not a files archive)? */
export function isDumpFileName(name: string): boolean {
  return BACKUP_NAME_RE.test(name);
}

/** The instant a dump name encodes, read as `timeZone` wall time; undefined for other names. */
export function parseBackupFileName(name: string): { base: string; format: DumpFormat; n: number; encrypted: boolean } | undefined {
  const m = BACKUP_NAME_RE.exec(name);
  if (!m) return undefined;
  const suffix = m[8]! + (m[9] ?? '');
  return { base: name.slice(0, name.length - suffix.length), format: m[8] === '.dump' ? 'custom' : 'plain', n: m[7] ? Number(m[7]) : 1, encrypted: m[9] !== undefined };
}

/**
 * The first base name for `at` that is free: `taken(file)` answers whether a dump file name is already
 * used (register or storage). A base is taken when either its plain or its encrypted (`.age`) name is, so
 * that turning encryption on or off never gives two backups one base. Gives up after 100 tries.
 */
export async function uniqueBackupBase(at: Date, opts: { timeZone?: string; format?: DumpFormat }, taken: (file: string) => Promise<boolean>): Promise<string> {
  for (let n = 1; n <= 100; n++) {
    const base = backupBase(at, opts.timeZone ?? 'UTC', n);
    const ext = dumpExtension(opts.format ?? 'plain');
    if (!(await taken(base + ext)) && !(await taken(base + ext + AGE_SUFFIX))) return base;
  }
  throw new Error(`more than 100 backups named ${backupBase(at, opts.timeZone ?? 'UTC')}: refusing to pick a name`);
}
