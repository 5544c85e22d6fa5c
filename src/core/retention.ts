import type { ClientConfig } from '../config/schema.js';
import type { BackupRow, BackupType } from '../store/backup-register.js';
import { lockedUntil } from './storage/object-lock.js';

export type RetentionPolicy = ClientConfig['retention'];

export interface RetentionDecision {
  row: BackupRow;
  reason: string;
  /** Kept because a copy is under S3 Object Lock until this date (ISO 8601). */
  lockedUntil?: string;
}
export interface RetentionPlan { keep: RetentionDecision[]; delete: RetentionDecision[] }

export interface RetentionOptions {
  /** Backup ids referenced by an approvals row (a production restore's record): never deleted. */
  protectedIds?: Iterable<string>;
}

const DAY = 86_400_000;

/**
 * The retention plan for one client's backups (SOP-001 5.1, runbook §retention). Pure: no I/O, `now` given.
 *
 * Rows already marked deleted are ignored. "Good" means result OK and verified (read back). Each
 * remaining row is decided by the first rule that applies, in this order:
 *
 *  0. Locked: a backup with a copy under S3 Object Lock (manifest.objectLock, retain-until after `now`)
 *     is kept ("kept: locked until …"): its objects cannot be deleted, so they are never tried. It is not
 *     counted against `scheduled.keep` (neither in the safety net nor in the scheduled ranks): `keep`
 *     counts the backups that retention can delete.
 *  1. Protected: a backup referenced by an approvals row (the record of a production restore) is kept.
 *  2. Safety net: the newest `scheduled.keep` good backups of the client, of any type, are kept whatever
 *     their age — when backups have been failing for a month, the last good ones stay.
 *  3. scheduled, result OK: kept while it is among the newest `scheduled.keep` OK scheduled backups AND
 *     at most `scheduled.days` old; deleted as soon as either limit is exceeded.
 *  4. manual: kept while at most `manual.days` old; pre-change: `preChange.days`; pre-restore:
 *     `preRestore.days` (it stays with the restore record).
 *  5. A failed or unverified backup counts for no limit but is kept while within its type's window
 *     (`scheduled.days`, `manual.days`, ...) as evidence, and may go once older than it.
 *
 * Ages are whole milliseconds since `taken_at`: "older than N days" means more than N × 24 h ago.
 * A backup dated in the future (clock skew) is never deleted by age. Both lists are newest first.
 */
export function planRetention(backups: readonly BackupRow[], policy: RetentionPolicy, now: Date, opts: RetentionOptions = {}): RetentionPlan {
  const protectedIds = new Set([...(opts.protectedIds ?? [])].map(String));
  const rows = backups.filter((b) => !b.deleted_at).sort(newestFirst);
  const keepN = policy.scheduled.keep;
  const locks = new Map(rows.map((b) => [b.id, lockedUntil(b.manifest, now)] as const).filter(([, l]) => l !== undefined));
  const counted = rows.filter((b) => !locks.has(b.id));

  const safety = new Set(counted.filter(isGood).slice(0, keepN).map((b) => b.id));
  const scheduledOkRank = new Map<string, number>();
  counted.filter((b) => b.type === 'scheduled' && b.result === 'OK').forEach((b, i) => scheduledOkRank.set(b.id, i + 1));

  const plan: RetentionPlan = { keep: [], delete: [] };
  const keep = (row: BackupRow, reason: string) => plan.keep.push({ row, reason });
  const del = (row: BackupRow, reason: string) => plan.delete.push({ row, reason });

  for (const row of rows) {
    const ageMs = now.getTime() - new Date(row.taken_at).getTime();
    const age = describeAge(ageMs);
    const days = windowDays(row.type, policy);
    const tooOld = ageMs > days * DAY;

    const lock = locks.get(row.id);
    if (lock) {
      plan.keep.push({ row, reason: `kept: locked until ${lock.retainUntil} (Object Lock ${lock.mode} on ${lock.destination}); not counted against keep`, lockedUntil: lock.retainUntil });
      continue;
    }
    if (protectedIds.has(String(row.id))) {
      keep(row, `referenced by a production restore record (approvals): kept while referenced`);
      continue;
    }
    if (safety.has(row.id)) {
      keep(row, `one of the newest ${keepN} verified backups: always kept${tooOld ? ` (${age}, beyond the ${days}-day window)` : ''}`);
      continue;
    }
    if (!isGood(row)) {
      const what = row.result === 'OK' ? 'unverified' : 'failed';
      if (tooOld) del(row, `${what} ${row.type} backup older than ${days} days (${age})`);
      else keep(row, `${what} ${row.type} backup within ${days} days (${age}), kept as evidence`);
      continue;
    }
    if (row.type === 'scheduled') {
      const rank = scheduledOkRank.get(row.id) ?? Number.POSITIVE_INFINITY;
      if (tooOld) del(row, `scheduled backup older than ${days} days (${age})`);
      else if (rank > keepN) del(row, `beyond the newest ${keepN} scheduled backups (#${rank})`);
      else keep(row, `scheduled backup #${rank} of ${keepN}, ${age} (kept ${days} days)`);
      continue;
    }
    if (tooOld) del(row, `${row.type} backup older than ${days} days (${age})`);
    else keep(row, `${row.type} backup, ${age} (kept ${days} days)`);
  }
  return plan;
}

function windowDays(type: BackupType, policy: RetentionPolicy): number {
  switch (type) {
    case 'scheduled': return policy.scheduled.days;
    case 'manual': return policy.manual.days;
    case 'pre-change': return policy.preChange.days;
    case 'pre-restore': return policy.preRestore.days;
  }
}

function isGood(b: BackupRow): boolean {
  return b.result === 'OK' && b.verified;
}

function newestFirst(a: BackupRow, b: BackupRow): number {
  const d = new Date(b.taken_at).getTime() - new Date(a.taken_at).getTime();
  if (d !== 0) return d;
  return Number(b.id) - Number(a.id) || String(b.id).localeCompare(String(a.id));
}

function describeAge(ms: number): string {
  if (ms < 0) return 'dated in the future';
  const d = Math.floor(ms / DAY);
  if (d >= 1) return `${d} day${d === 1 ? '' : 's'} old`;
  const h = Math.floor(ms / 3_600_000);
  return `${h} hour${h === 1 ? '' : 's'} old`;
}
