import type { Role } from '../config/schema.js';
import type { AlertRow } from '../store/alerts.js';
import type {
  BackupProgressView, BackupResultView, Digest, RestoreTestView, RunbookView, VerifyResultView, WatchdogStatus,
} from './views.js';

/**
 * How operations tell people what happens. An operation hands a Reporter plain data (one of the events
 * below) and gets back where it was shown, so that a later event can replace it (a live progress message).
 * The notify layer implements it: Slack (Block Kit, channels, mentions, button IDs) or the console.
 * A reporter never throws: a report that could not be delivered is logged there and answered `undefined`.
 */
export interface MessageRef { channel: string; ts: string }

export interface Reporter {
  /** Shows `event`; with `replace`, replaces what was shown there before. Resolves where it is shown, or undefined. */
  report(event: ReportEvent, replace?: MessageRef): Promise<MessageRef | undefined>;
}

/** Who an alert is for: people with these roles on the client are called by name. */
export type Audience = Role[];

export type ReportEvent =
  // Runs with a live message (started, each step, finished).
  | { kind: 'backup.progress'; client: string; view: BackupProgressView }
  | { kind: 'backup.result'; client: string; view: BackupResultView }
  | { kind: 'verify.result'; client: string; view: VerifyResultView }
  | { kind: 'restore_test.progress'; client: string; view: RestoreTestView }
  /** A passing §12 row (restore test or production restore) put to QA, or a reminder that it is still unsigned. */
  | { kind: 'restore_test.qa_requested'; client: string; registerId: string; environment: 'Test' | 'Prod'; quarter: string; backupFile: string; testedAt: Date; approvalId: string | null; reminder: boolean; audience: Audience; incidentId?: string }
  | { kind: 'restore.runbook'; client: string; view: RunbookView }
  // Production-restore requests and decisions.
  | { kind: 'restore.request'; client: string; approval: RunbookView['approval']; approverRole: Role }
  | { kind: 'restore.decided'; client: string; approval: RunbookView['approval'] }
  // Notices to the system's users (SOP 9.2 steps 2 and 12); shown in the client's notifyChannel.
  | { kind: 'users.maintenance'; client: string; from: Date; until: Date }
  | { kind: 'users.restored'; client: string; dataAsOf: Date }
  // Alerts and notices to the team.
  // `incidentId`: the §13.5 incident the alert opened (the message offers to record its cause and corrective action).
  | { kind: 'alert.restore_test_failed'; client: string; backupFile: string; failedStep?: string; error: string; runId: string; severity: 'S1' | 'S2'; audience: Audience; incidentId?: string }
  | { kind: 'alert.restore_failed'; client: string; approvalId: string; step: string; summary: string; severity: 'S1' | 'S2'; audience: Audience; incidentId?: string }
  | { kind: 'alert.check_failed'; client: string; check: 'retention' | 'integrity'; runId?: string; error: string; severity: 'S1' | 'S2'; audience: Audience; incidentId?: string }
  /** A tracked alert resolved: the alert message edited in place (notice false) or a notice posted (notice true). */
  | { kind: 'alert.resolved'; client: string; alert: AlertRow; message: string; now: Date; notice: boolean }
  | { kind: 'alert.job_failed'; client: string; job: string; runId?: string; error: string; audience: Audience }
  | { kind: 'alert.watchdog_opened'; client: string; status: WatchdogStatus; schedule: string; rpo: string; audience: Audience; incidentIds?: string[] }
  | { kind: 'alert.watchdog_resolved'; client: string; alert: AlertRow; status: WatchdogStatus; now: Date }
  | { kind: 'alert.watchdog_resolved_notice'; client: string; resolved: AlertRow[]; status: WatchdogStatus; now: Date }
  // A finding for the team with its severity (a backup far smaller than usual, an RTO exceeded).
  | { kind: 'alert.team'; client: string; severity: 'S1' | 'S2'; title: string; detail: string; audience: Audience }
  | { kind: 'alert.evidence_broken'; client: string; title: string; problems: string[]; audience: Audience }
  | { kind: 'notice.run_interrupted'; client: string; runKind: string; runId: string; startedAt: Date; step: string | null }
  | { kind: 'notice.recovered'; client: string; recovery: RecoveryView }
  | { kind: 'notice.restore_interrupted'; client: string; approval: RunbookView['approval'] }
  | { kind: 'notice.restore_test_due'; client: string; quarter: string; audience: Audience }
  | { kind: 'integrity.summary'; results: Array<{ client: string; ok: boolean; error?: string; runId?: string }> }
  | { kind: 'digest'; digest: Digest; chart?: { filename: string; title: string; png: Uint8Array } }
  // The monthly evidence report (issue 19): its PDF shared in the client's channel.
  | { kind: 'evidence.report'; client: string; period: string; pdf: { filename: string; bytes: Uint8Array }; reportSha256: string; keyId: string; evidenceOk: boolean; brokenRows: number };

/** What a recovery cleaned for one client (recover-client.ts): dead runs, storage leftovers, staging leftovers. */
export interface RecoveryView {
  client: string;
  runs: Array<{ id: string; kind: string; step: string | null; startedAt: Date }>;
  leftovers: Array<{ destination: string; removed: number }>;
  containers: string[];
  networks: string[];
  errors: string[];
}

/** A reporter that shows nothing (CLI --json, where only the result is printed). */
export const silentReporter: Reporter = { report: async () => undefined };
