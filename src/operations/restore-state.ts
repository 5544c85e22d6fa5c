import type Docker from 'dockerode';
import type { Context } from '../context.js';
import type { ClientConfig } from '../config/schema.js';
import type { DbTarget } from '../core/db-url.js';
import { decryptionFor } from '../core/crypto/keys.js';
import { downloadBackup, type LocalBackup } from '../core/restore/load-backup.js';
import type { DatabaseProps } from '../core/restore/pg-admin.js';
import type { DatabaseSettings } from '../core/restore/pg-database-props.js';
import type { MysqlDatabaseProps } from '../core/restore/mysql-admin.js';
import type { MysqlLoadResult } from '../core/restore/mysql-load.js';
import type { DatabaseChecksums } from '../core/restore/mysql-verify.js';
import type { ApprovalRow } from '../store/approvals.js';
import type { BackupRow } from '../store/backup-register.js';
import type { RestoreTestRow } from '../store/restore-test-register.js';
import type { RunTrigger } from '../store/runs.js';
import type { BackupFacts } from './manifest.js';
import type { Step } from './runbook.js';

/**
 * What the production-restore runbook's steps share (restore-steps.ts and the engine steps of restore-pg.ts
 * and restore-mysql.ts); the flags say what has changed, for the way back.
 */

export type RestoreStrategyName = 'swap' | 'replace' | 'partial';

export interface RestoreState {
  ctx: Context;
  cfg: ClientConfig;
  client: string;
  approval: ApprovalRow;
  backup: BackupRow;
  facts: BackupFacts;
  strategy: RestoreStrategyName;
  target: DbTarget;
  prodDb: string;
  docker: Docker;
  userId: string;
  actorName: string;
  trigger: RunTrigger;
  t0: number;
  runId?: string;
  local?: LocalBackup;
  appStopped: boolean;
  appStarted: boolean;
  preBackup?: BackupRow;
  /** The restored copy (swap; MySQL partial too), while it exists apart from production. */
  newDb?: string;
  /** Production's previous database (PostgreSQL) or tables (MySQL), kept aside after the switch. */
  oldDb?: string;
  swapped: boolean;
  prodDropped: boolean;
  partialApplied: boolean;
  counts: Record<string, number>;
  /** Checks recorded in the register row (name, passed). */
  checks: Array<{ name: string; ok: boolean }>;
  register?: RestoreTestRow;
  /** PostgreSQL: production's database properties (replace strategy's way back). */
  pgProps?: DatabaseProps;
  /** PostgreSQL: what production carries outside its dump (grants, settings, comment, owner, limits, default privileges), captured before the restore changes anything. */
  pgSettings?: DatabaseSettings;
  /** MySQL/MariaDB: what restore-mysql.ts's steps learnt on the way. */
  my?: { props?: MysqlDatabaseProps; load?: MysqlLoadResult; reference?: DatabaseChecksums };
}

/**
 * The steps that differ by engine (restore-pg.ts, restore-mysql.ts), in the same places of the same list.
 * `preflight` runs first in the download step: a refusal there changes nothing (e.g. missing privileges).
 */
export interface EngineSteps {
  terminate_connections: Step<RestoreState>;
  restore: Step<RestoreState>;
  verify: Step<RestoreState>;
  switch: Step<RestoreState>;
  preflight?(s: RestoreState): Promise<string>;
  /** With the pre-restore backup: what production carries outside its dump, to give back to the restored database. */
  captureSettings?(s: RestoreState): Promise<string>;
}

export const sourcesOf = (ctx: Context, b: BackupRow) => b.locations.filter((l) => l.ok).map((l) => ({ storage: ctx.storage(l.destination), key: l.key ?? b.key ?? '' }));

/** An encrypted backup's identities (decryptionFor: a UserError when none is configured), for downloadBackup. */
export async function decryptOf(s: RestoreState, b: BackupRow) {
  const decryption = await decryptionFor(s.client, s.cfg.encryption, b.manifest, b.file ?? b.key ?? 'backup');
  return decryption && { decryption, client: s.client };
}

/** Downloads (and decrypts) the verified pre-restore backup to a temp file, for the way back of replace/partial. */
export async function downloadPreRestoreBackup(s: RestoreState): Promise<LocalBackup> {
  if (!s.preBackup) throw new Error('no pre-restore backup to restore from');
  const pb = s.preBackup;
  return downloadBackup(sourcesOf(s.ctx, pb), pb.sha256, pb.file ?? 'pre-restore', await decryptOf(s, pb));
}
