import { z } from 'zod';
import { OperationError } from '../../core/errors.js';

/**
 * What the inspector's evidence report is made from (issue 19): plain data, filled by the caller from the
 * state database (src/store) and `evidence verify`, validated here, rendered by ./html.ts, exported by
 * ./registers.ts. Instants are ISO 8601 strings (`Date#toISOString()`), so the model is JSON as it stands and
 * a report can be re-rendered from a saved model.
 *
 * Rows mirror the registers' columns (src/store/migrations/*.sql) with the field names of the existing JSON
 * exports (`register backups|restore-tests|approvals --format json`), plus each row's verification status
 * and chain hash from `evidence verify`.
 */

const instant = z.iso.datetime({ offset: true });
const text = z.string();
const nullableText = z.string().nullable();

/** Result of `evidence verify` for one row: intact, or broken and why (edited, inserted, reordered, bad signature, …). */
const rowVerificationSchema = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('intact') }),
  z.strictObject({ status: z.literal('broken'), reasons: z.array(z.string().min(1)).min(1) }),
]);
export type RowVerification = z.infer<typeof rowVerificationSchema>;

const evidenceFields = {
  verification: rowVerificationSchema,
  /** The row's hash in its register's chain (hex), when the register is chained. */
  chainHash: nullableText.default(null),
};

/** A signature over a decision (approval, rejection, QA verification): who, in what role, meaning what, when, with which key. */
const signatureInfoSchema = z.strictObject({
  signerId: text,
  signerName: text,
  role: nullableText.default(null),
  meaning: text,
  signedAt: instant,
  keyId: text,
});

/** SOP-001 §11 "Registro de Backups" (table backup_register). */
const backupRowSchema = z.strictObject({
  id: text,
  takenAt: instant,
  type: z.enum(['scheduled', 'manual', 'pre-change', 'pre-restore']),
  file: nullableText,
  key: nullableText.default(null),
  format: nullableText.default(null),
  engine: nullableText.default(null),
  sizeBytes: z.number().nonnegative().nullable(),
  /** How long the backup run took (runs.finished_at − runs.started_at); the register itself has no duration. */
  durationSeconds: z.number().nonnegative().nullable().default(null),
  verified: z.boolean(),
  verifiedAt: instant.nullable().default(null),
  executedBy: text,
  result: z.enum(['OK', 'Error']),
  observations: text.default(''),
  sha256: nullableText.default(null),
  tables: z.number().int().nonnegative().nullable().default(null),
  locations: z.array(z.strictObject({ destination: text, ok: z.boolean(), key: text.optional(), error: text.optional() })).default([]),
  deletedAt: instant.nullable().default(null),
  ...evidenceFields,
});

/** SOP-001 §12 "Registro de Pruebas de Restore" (table restore_test_register); `Prod` rows are production restores. */
const restoreTestRowSchema = z.strictObject({
  id: text,
  testedAt: instant,
  quarter: z.string().regex(/^\d{4}-Q[1-4]$/, 'a quarter like 2026-Q1'),
  backupUsed: nullableText,
  environment: z.enum(['Test', 'Prod']),
  restoreMinutes: z.number().nonnegative().nullable(),
  recordsVerified: z.record(z.string(), z.union([z.number(), z.strictObject({ staging: z.number(), production: z.number().nullable().optional() })])).default({}),
  checks: z.array(z.strictObject({ name: text, ok: z.boolean(), detail: text.optional() })).default([]),
  executedBy: text,
  verifiedByQa: nullableText.default(null),
  verifiedByQaId: nullableText.default(null),
  verifiedByQaAt: instant.nullable().default(null),
  /** The QA verification's signature (issue 14), when signed. */
  qaSignature: signatureInfoSchema.nullable().default(null),
  result: z.enum(['OK', 'Fail']),
  observations: text.default(''),
  approvalId: nullableText.default(null),
  ...evidenceFields,
});

/** SOP-001 §13.5 "Historial de Incidentes de Restore" (table restore_incidents). */
const incidentRowSchema = z.strictObject({
  id: text,
  approvalId: nullableText.default(null),
  at: instant,
  description: text,
  backupUsed: nullableText,
  recoveryMinutes: z.number().nonnegative().nullable(),
  dataLost: text.default(''),
  correctiveActions: text.default(''),
  ...evidenceFields,
});

const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'running', 'completed', 'failed', 'rolled_back', 'interrupted'] as const;

/** A production-restore request and its signed decision (table approvals). */
const approvalRowSchema = z.strictObject({
  id: text,
  requestedAt: instant,
  requestedBy: text,
  requestedByName: nullableText.default(null),
  scope: z.enum(['full', 'partial']),
  strategy: z.enum(['swap', 'replace', 'partial']).nullable().default(null),
  tables: z.array(text).default([]),
  backup: text,
  backupSha256: nullableText.default(null),
  reason: text,
  ticket: nullableText.default(null),
  decision: z.enum(['approved', 'rejected']).nullable(),
  /** The decision's signature (signer, role, meaning, time, key id); null while pending. */
  signature: signatureInfoSchema.nullable().default(null),
  statement: nullableText.default(null),
  rejectReason: nullableText.default(null),
  status: z.enum(APPROVAL_STATUSES),
  lastStep: nullableText.default(null),
  startedByName: nullableText.default(null),
  startedAt: instant.nullable().default(null),
  finishedAt: instant.nullable().default(null),
  /** What happened in the end, in words (restored / the error / the status). */
  outcome: text.default(''),
  ...evidenceFields,
});

/** One audit-log entry of the period (table audit_log). */
const auditRowSchema = z.strictObject({
  id: text,
  at: instant,
  actor: text,
  action: text,
  client: nullableText.default(null),
  target: nullableText.default(null),
  reason: nullableText.default(null),
  details: z.record(z.string(), z.unknown()).default({}),
  ...evidenceFields,
});
export type AuditRow = z.infer<typeof auditRowSchema>;

/** A watchdog / restore incident (table alerts): open while resolvedAt is null. `summary` is plain text, not mrkdwn. */
const alertRowSchema = z.strictObject({
  id: text,
  kind: text,
  severity: text,
  summary: text,
  openedAt: instant,
  resolvedAt: instant.nullable().default(null),
  resolution: nullableText.default(null),
});

/** The newest verified OK backup taken before the period (the age of the last verified backup at the period's start). */
const priorBackupSchema = z.strictObject({ takenAt: instant, verifiedAt: instant.nullable().default(null), deletedAt: instant.nullable().default(null) });

const clientEvidenceSchema = z.strictObject({
  client: z.string().min(1),
  rpoMs: z.number().positive(),
  rtoMs: z.number().positive(),
  lastVerifiedBeforePeriod: priorBackupSchema.nullable().default(null),
  backups: z.array(backupRowSchema),
  restoreTests: z.array(restoreTestRowSchema),
  incidents: z.array(incidentRowSchema),
  approvals: z.array(approvalRowSchema),
  audit: z.array(auditRowSchema),
  alerts: z.array(alertRowSchema).default([]),
});
export type ClientEvidence = z.infer<typeof clientEvidenceSchema>;

const REGISTERS = ['backups', 'restoreTests', 'incidents', 'approvals', 'audit'] as const;
export type RegisterId = (typeof REGISTERS)[number];

/** A problem `evidence verify` found that is not a row shown (a deleted row, a signed head that does not match, …). */
const integrityIssueSchema = z.strictObject({
  register: z.enum(REGISTERS),
  client: nullableText.default(null),
  id: nullableText.default(null),
  what: text,
  detail: text.default(''),
});
export type IntegrityIssue = z.infer<typeof integrityIssueSchema>;

const publicKeySchema = z.strictObject({
  keyId: z.string().min(1),
  algorithm: z.literal('Ed25519').default('Ed25519'),
  publicKeyPem: z.string().regex(/^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\r?\n?$/, 'a PEM public key (-----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----)'),
  /** Keys kept after a rotation so that older records stay verifiable. */
  retiredAt: instant.nullable().default(null),
});

const evidenceReportDataSchema = z.strictObject({
  meta: z.strictObject({
    /** [from, to): the period the report covers. */
    period: z.strictObject({ from: instant, to: instant, label: nullableText.default(null) }).refine((p) => Date.parse(p.from) < Date.parse(p.to), 'period.from must be before period.to'),
    generatedAt: instant,
    /** IANA zone the dates are shown in (config `timezone`). */
    timezone: z.string().min(1).default('UTC'),
    botVersion: z.string().min(1),
    signingKey: publicKeySchema,
    previousKeys: z.array(publicKeySchema).default([]),
    /** The one-line summary of `evidence verify` and when it ran. */
    verification: z.strictObject({ checkedAt: instant, ok: z.boolean(), summary: text }),
  }),
  clients: z.array(clientEvidenceSchema).min(1),
  /** Every problem `evidence verify` reported for the period, including those attached to rows. */
  integrityIssues: z.array(integrityIssueSchema).default([]),
  /** Audit entries of the period that belong to no client (config, keys, users). */
  generalAudit: z.array(auditRowSchema).default([]),
});
export type EvidenceReportData = z.infer<typeof evidenceReportDataSchema>;
/** What callers write (defaults may be left out). */
export type EvidenceReportInput = z.input<typeof evidenceReportDataSchema>;

/** Validates a model; the error names each key path and what is accepted. */
export function parseEvidenceReportData(input: unknown): EvidenceReportData {
  const r = evidenceReportDataSchema.safeParse(input);
  if (r.success) return r.data;
  const problems = r.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  const more = r.error.issues.length > 10 ? ` (and ${r.error.issues.length - 10} more)` : '';
  throw new OperationError(`invalid evidence report data: ${problems.join('; ')}${more}`);
}
