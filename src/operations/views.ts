import type { AlertRow } from '../store/alerts.js';
import type { ApprovalRow, ApprovalStepEntry } from '../store/approvals.js';
import type { BackupLocation } from '../store/backup-register.js';
import type { Run } from '../store/runs.js';

/**
 * The plain data operations hand to a Reporter (and front doors to renderers): what happened, never how it
 * looks. The notify layer turns each into Block Kit (Slack) or text (console).
 */

/** A runbook's step as people read it (the list the message and the README show). */
export interface StepPlan { name: string; label: string }

export type BackupPhase = 'started' | 'dumping' | 'uploading' | 'verifying' | 'done' | 'failed';

export interface BackupProgressView {
  client: string;
  type: string;
  actorName?: string;
  file?: string;
  destinations?: string[];
  runId: string;
  actor: string;
  phase: BackupPhase;
}

export interface BackupResultView {
  ok: boolean;
  verified: boolean;
  run: Pick<Run, 'id' | 'client' | 'actor' | 'started_at'>;
  backup?: { file: string | null; size_bytes: string | null; tables_counted: number | null; sha256: string | null; type: string; executed_by: string; observations: string; ticket?: string | null; reason?: string | null };
  error?: string;
  hint?: string;
  durationMs: number;
  locations: BackupLocation[];
  /** Cancelled from outside (the bot stopping, a cancel): the run is interrupted, not failed, and nothing was kept. */
  interrupted?: boolean;
}

export interface VerifyResultView { ok: boolean; client: string; file: string; checks: Array<{ name: string; ok: boolean; detail: string }>; actor: string }

export type RestoreTestStepName = 'provisioning' | 'downloading' | 'restoring' | 'verifying' | 'destroying' | 'done' | 'failed';

export interface RestoreTestView {
  client: string;
  runId: string;
  backupFile: string;
  backupTakenAt?: Date | null;
  image?: string;
  /** The docker.hosts engine the test runs on (absent with the single engine of docker.host). */
  engine?: string;
  actorName: string;
  timezone: string;
  /** The runbook's steps, in order. */
  plan: StepPlan[];
  /** The current step (done/failed at the end). */
  step: RestoreTestStepName;
  /** Steps reached so far, in order. */
  reached: RestoreTestStepName[];
  rtoMs: number;
  result?: {
    ok: boolean;
    error?: string;
    failedStep?: RestoreTestStepName;
    checks: Array<{ name: string; ok: boolean; detail?: string }>;
    /** Download + restore, the SOP's "Tiempo Restore". */
    restoreMs?: number;
    totalMs?: number;
    registerId?: string;
    verifiedByQa?: { name: string; at: Date } | null;
    observations?: string;
  };
}

/** A production restore's live view: the request, each step's state (the runbook's step list), and where it stands. */
export interface RunbookView { approval: ApprovalRow; plan: StepPlan[]; steps: ApprovalStepEntry[]; status: string; error?: string | null }

export interface WatchdogStatus {
  client: string;
  lastVerified: { id: string; key: string | null; takenAt: Date; ageMs: number } | null;
  lastRun: { id: string; status: string; error: string | null; startedAt: Date } | null;
  /** Since when the age is measured when there is no verified backup (first scheduling of the client). */
  since: Date | null;
  intervalMs: number;
  graceMs: number;
  rpoMs: number;
  stale: boolean;
  failed: boolean;
  rpoBreach: boolean;
}

export type DigestMark = 'ok' | 'warning' | 'critical';

export interface DigestClient {
  client: string;
  status: DigestMark;
  /** Why the status is not ok, in words. */
  problems: string[];
  lastVerified: { id: string; key: string | null; takenAt: string; ageMs: number; sizeBytes: number | null } | null;
  /** Sizes of the latest OK backups, oldest first. */
  sizes: number[];
  sparkline: string;
  medianBytes: number | null;
  /** The newest backup is less than half the median of the ones before it (a shrinking dump often means lost data). */
  sizeDrop: boolean;
  rpo: { rpo: string; ok: boolean };
  restoreTest: {
    last: { id: string; testedAt: string; quarter: string; result: 'OK' | 'Fail'; qaVerified: boolean } | null;
    thisQuarter: string;
    thisQuarterDone: boolean;
    nextDue: string | null;
    overdue: boolean;
    /** Passing §12 rows (tests and production restores) not yet signed by QA; overdue past restoreTest.qaReminder. */
    awaitingQa?: Array<{ id: string; quarter: string; environment: string; testedAt: string; overdue: boolean }>;
  };
  pendingApprovals: number;
  failures24h: number;
  failuresByKind: Record<string, number>;
  openAlerts: number;
}

export interface Digest {
  generatedAt: string;
  timezone: string;
  clients: DigestClient[];
  /** The shared work queue (issue 21), when `serve` runs one: what waits now and the longest wait in 24 h. */
  queue?: { queued: number; active: number; oldestWaitSeconds: number; started24h: number; longestWait24hSeconds: number };
  /** The daily check of the evidence chains and signatures (set when the digest is posted). */
  evidence?: { ok: boolean; summary: string };
}

export type { AlertRow };
