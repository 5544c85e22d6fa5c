import type { Context } from '../context.js';
import { parseDuration } from '../config/duration.js';
import type { BrokenRecord, EvidenceReport } from '../evidence/verify.js';
import type { EvidenceReportInput, IntegrityIssue, RegisterId, RowVerification } from '../evidence/report/model.js';
import type { ApprovalRow } from '../store/approvals.js';
import type { BackupRow } from '../store/backup-register.js';
import type { RestoreTestRow } from '../store/restore-test-register.js';
import type { AuditRow } from '../store/audit.js';
import type { ChainRow } from '../store/chain.js';
import type { ReportPeriod } from './evidence-period.js';

/**
 * The evidence report's data (src/evidence/report/model.ts) read from the state database: every register row of
 * the period for each client, each with its verification status from `evidence verify` (intact, or broken and
 * why), the watchdog incidents, the newest verified backup before the period (for the RPO figure) and the
 * public keys. Nothing here trusts a status column: a row is "broken" exactly when `evidence verify` says so.
 */

const ALL = 1_000_000;
const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);
const inPeriod = (d: Date, p: ReportPeriod) => d.getTime() >= p.from.getTime() && d.getTime() < p.to.getTime();

/** Which register (and which row of it) a problem of `evidence verify` is about. */
interface Located { register: RegisterId; id: string | null; client: string | null }

interface Lookup {
  signatures: Map<string, ChainRow>;
  events: Map<string, ChainRow>;
  heads: Map<string, string>;
  clientOf: Map<string, string>;
}

const CHAIN_REGISTER: Record<string, RegisterId> = {
  audit_log: 'audit', backup_register: 'backups', backup_register_events: 'backups', restore_test_register: 'restoreTests',
  restore_incidents: 'incidents', approvals: 'approvals',
};

function locate(b: BrokenRecord, l: Lookup): Located {
  if (b.register === 'signatures') {
    const subject = String(l.signatures.get(b.id)?.subject ?? '');
    const [kind, id] = subject.split(':');
    const register: RegisterId = kind === 'restore_test' ? 'restoreTests' : 'approvals';
    return { register, id: id ?? null, client: l.clientOf.get(`${register}:${id}`) ?? (l.signatures.get(b.id)?.client as string | undefined) ?? null };
  }
  if (b.register === 'backup_register_events') {
    const backupId = l.events.get(b.id)?.backup_id;
    return { register: 'backups', id: backupId === undefined ? null : String(backupId), client: l.clientOf.get(`backups:${String(backupId)}`) ?? null };
  }
  if (b.register === 'chain_heads') {
    return { register: CHAIN_REGISTER[l.heads.get(b.id) ?? ''] ?? 'audit', id: null, client: null };
  }
  const register = CHAIN_REGISTER[b.register] ?? 'audit';
  const id = /^\d+$/.test(b.id) ? b.id : null;
  return { register, id, client: id ? l.clientOf.get(`${register}:${id}`) ?? null : null };
}

const verification = (reasons: string[] | undefined): RowVerification => (reasons?.length ? { status: 'broken', reasons } : { status: 'intact' });

function backupRow(b: BackupRow, durations: Map<string, number>, v: RowVerification) {
  return {
    id: b.id, takenAt: iso(b.taken_at)!, type: b.type, file: b.file, key: b.key, format: b.format, engine: b.engine,
    sizeBytes: b.size_bytes === null ? null : Number(b.size_bytes), durationSeconds: b.run_id ? durations.get(b.run_id) ?? null : null,
    verified: b.verified, verifiedAt: iso(b.verified_at), executedBy: b.executed_by, result: b.result, observations: b.observations ?? '',
    sha256: b.sha256, tables: b.tables_counted, locations: b.locations ?? [], deletedAt: iso(b.deleted_at), chainHash: b.row_hash ?? null, verification: v,
  };
}

function restoreTestRow(t: RestoreTestRow, sigs: Map<string, ChainRow>, v: RowVerification) {
  const sig = t.qa_signature_id ? sigs.get(t.qa_signature_id) : undefined;
  return {
    id: t.id, testedAt: iso(t.tested_at)!, quarter: t.quarter, backupUsed: t.backup_used, environment: t.environment,
    restoreMinutes: t.restore_minutes === null ? null : Number(t.restore_minutes), recordsVerified: t.records_verified ?? {}, checks: t.checks ?? [],
    executedBy: t.executed_by, verifiedByQa: t.verified_by_qa, verifiedByQaId: t.verified_by_qa_id, verifiedByQaAt: iso(t.verified_by_qa_at),
    qaSignature: sig ? {
      signerId: String(sig.signer_id), signerName: String(sig.signer_name), role: String(sig.signer_role), meaning: String(sig.meaning),
      signedAt: iso(sig.signed_at as Date)!, keyId: String(sig.key_id),
    } : null,
    result: t.result, observations: t.observations ?? '', approvalId: t.approval_id, chainHash: t.row_hash ?? null, verification: v,
  };
}

function approvalRow(a: ApprovalRow, v: RowVerification) {
  const outcome = a.status === 'completed' ? `restored${a.old_database ? `; previous database kept as ${a.old_database}` : ''}` : a.error ?? a.status;
  return {
    id: a.id, requestedAt: iso(a.requested_at)!, requestedBy: a.requested_by, requestedByName: a.requested_by_name, scope: a.scope, strategy: a.strategy,
    tables: a.tables ?? [], backup: a.backup_file ?? a.backup_key, backupSha256: a.backup_sha256, reason: a.reason, ticket: a.ticket, decision: a.meaning,
    signature: a.decision_key_id && a.decided_at ? {
      signerId: a.decided_by ?? '', signerName: a.decided_by_name ?? a.decided_by ?? '', role: a.decided_role, meaning: a.meaning ?? '',
      signedAt: iso(a.decided_at)!, keyId: a.decision_key_id,
    } : null,
    statement: a.statement, rejectReason: a.reject_reason, status: a.status, lastStep: a.last_step, startedByName: a.started_by_name,
    startedAt: iso(a.started_at), finishedAt: iso(a.finished_at), outcome, chainHash: a.row_hash ?? null, verification: v,
  };
}

function auditRow(r: AuditRow & { row_hash?: string | null }, v: RowVerification) {
  return {
    id: r.id, at: iso(r.at)!, actor: r.actor, action: r.action, client: r.client || null, target: r.target, reason: r.reason,
    details: r.details ?? {}, chainHash: r.row_hash ?? null, verification: v,
  };
}

export interface GatherInput {
  period: ReportPeriod;
  /** One client, or every configured one. */
  client?: string;
  /** The `evidence verify` result the report shows (checked just before). */
  evidence: EvidenceReport;
  botVersion: string;
}

type Store = Pick<Context, 'store'>['store'];
type Rows = Awaited<ReturnType<typeof readRegisters>>;
type Verdict = (register: RegisterId, id: string) => RowVerification;

async function readRegisters(store: Store, period: ReportPeriod) {
  const [backups, tests, approvals, incidents, sigRows, eventRows, heads, auditChain, alerts, runs] = await Promise.all([
    store.backups.list({ includeDeleted: true, limit: ALL }), store.restoreTests.list({ limit: ALL }), store.approvals.list({ limit: ALL }),
    store.incidents.list({}), store.chains.read('signatures'), store.chains.read('backup_register_events'), store.heads.list(),
    store.chains.read('audit_log'), store.alerts.list({ limit: ALL }), store.runs.list({ kind: 'backup', since: new Date(period.from.getTime() - 86_400_000), limit: ALL }),
  ]);
  const durations = new Map<string, number>();
  for (const r of runs) if (r.finished_at) durations.set(r.id, Math.max(0, (new Date(r.finished_at).getTime() - new Date(r.started_at).getTime()) / 1000));
  const audit = (auditChain as unknown as Array<AuditRow & { row_hash: string | null }>).filter((r) => inPeriod(new Date(r.at), period)).sort((a, b) => Number(a.id) - Number(b.id));
  const sigById = new Map(sigRows.map((x) => [x.id, x]));
  return { backups, tests, approvals, incidents, sigById, eventRows, heads, auditChain, alerts, durations, audit };
}

/** Each problem of `evidence verify` on the row it is about (and in the integrity list); another client's are left out of a one-client report. */
function placeProblems(rows: Rows, evidence: EvidenceReport, client: string | undefined): { issues: IntegrityIssue[]; verdict: Verdict } {
  const clientOf = new Map<string, string>();
  for (const b of rows.backups) clientOf.set(`backups:${b.id}`, b.client);
  for (const t of rows.tests) clientOf.set(`restoreTests:${t.id}`, t.client);
  for (const a of rows.approvals) clientOf.set(`approvals:${a.id}`, a.client);
  for (const i of rows.incidents) clientOf.set(`incidents:${i.id}`, i.client);
  for (const r of rows.auditChain) if (r.client) clientOf.set(`audit:${r.id}`, String(r.client));
  const lookup: Lookup = {
    signatures: rows.sigById, events: new Map(rows.eventRows.map((e) => [e.id, e])), heads: new Map(rows.heads.map((h) => [h.id, h.chain])), clientOf,
  };
  const reasons = new Map<string, string[]>();
  const issues: IntegrityIssue[] = [];
  for (const b of evidence.broken) {
    const at = locate(b, lookup);
    if (client && at.client !== null && at.client !== client) continue;
    issues.push({ register: at.register, client: at.client, id: at.id, what: b.what, detail: `${b.register} ${b.id}: ${b.detail}` });
    if (at.id) reasons.set(`${at.register}:${at.id}`, [...(reasons.get(`${at.register}:${at.id}`) ?? []), `${b.what}: ${b.detail}`]);
  }
  return { issues, verdict: (register, id) => verification(reasons.get(`${register}:${id}`)) };
}

function clientPart(ctx: Pick<Context, 'config' | 'signer'>, client: string, rows: Rows, period: ReportPeriod, v: Verdict) {
  const c = ctx.config.clients[client]!;
  const mine = rows.backups.filter((b) => b.client === client).sort((a, b) => a.taken_at.getTime() - b.taken_at.getTime() || Number(a.id) - Number(b.id));
  const before = mine.filter((b) => b.taken_at.getTime() < period.from.getTime() && b.result === 'OK' && b.verified).pop();
  const overlaps = (from: Date, until: Date | null) => from.getTime() < period.to.getTime() && (until === null || new Date(until).getTime() >= period.from.getTime());
  return {
    client,
    rpoMs: parseDuration(c.rpo) ?? 7 * 86_400_000,
    rtoMs: parseDuration(c.rto) ?? 4 * 3_600_000,
    lastVerifiedBeforePeriod: before ? { takenAt: iso(before.taken_at)!, verifiedAt: iso(before.verified_at), deletedAt: iso(before.deleted_at) } : null,
    backups: mine.filter((b) => inPeriod(b.taken_at, period)).map((b) => backupRow(b, rows.durations, v('backups', b.id))),
    restoreTests: rows.tests.filter((t) => t.client === client && inPeriod(t.tested_at, period)).reverse()
      .map((t) => restoreTestRow(t, rows.sigById, v('restoreTests', t.id))),
    incidents: rows.incidents.filter((i) => i.client === client && inPeriod(new Date(i.opened_at), period)).map((i) => ({
      id: i.id, approvalId: i.approval_id, at: iso(i.opened_at)!, description: i.description, backupUsed: i.backup_used,
      recoveryMinutes: i.recovery_minutes === null ? null : Number(i.recovery_minutes), dataLost: i.data_lost ?? '', correctiveActions: i.corrective_actions ?? '',
      chainHash: (i as { row_hash?: string | null }).row_hash ?? null, verification: v('incidents', i.id),
    })),
    // Requests of the period, and earlier ones that ran or ended in it.
    approvals: rows.approvals.filter((a) => a.client === client && (inPeriod(a.requested_at, period) || (a.requested_at.getTime() < period.from.getTime() && a.finished_at !== null && overlaps(a.requested_at, a.finished_at))))
      .reverse().map((a) => approvalRow(a, v('approvals', a.id))),
    audit: rows.audit.filter((r) => r.client === client).map((r) => auditRow(r, v('audit', r.id))),
    alerts: rows.alerts.filter((a) => a.client === client && overlaps(a.opened_at, a.resolved_at)).reverse().map((a) => ({
      id: a.id, kind: a.kind, severity: a.severity, summary: a.message, openedAt: iso(a.opened_at)!, resolvedAt: iso(a.resolved_at), resolution: a.resolved_message,
    })),
  };
}

/** Reads every register of the period and marks each row with what `evidence verify` found. */
export async function gatherEvidenceReport(ctx: Pick<Context, 'config' | 'store' | 'signer' | 'clock'>, input: GatherInput): Promise<EvidenceReportInput> {
  const { period } = input;
  const clients = input.client ? [input.client] : Object.keys(ctx.config.clients);
  const now = ctx.clock.now();
  const rows = await readRegisters(ctx.store, period);
  const { issues, verdict } = placeProblems(rows, input.evidence, input.client);
  const shown = new Set(clients);
  const general = rows.audit.filter((r) => (input.client ? !r.client : !r.client || !shown.has(String(r.client))));
  const keys = [...ctx.signer.trusted].filter(([id]) => id !== ctx.signer.keyId).map(([keyId, k]) => ({ keyId, publicKeyPem: k.pem }));
  return {
    meta: {
      // A quarter or a month is named; a range of days is already what the report prints as the period.
      period: { from: period.from.toISOString(), to: period.to.toISOString(), label: /^\d{4}-(Q[1-4]|\d{2})$/.test(period.label) ? period.label : null },
      generatedAt: now.toISOString(),
      timezone: ctx.config.timezone,
      botVersion: input.botVersion,
      signingKey: { keyId: ctx.signer.keyId, publicKeyPem: ctx.signer.publicKeyPem },
      previousKeys: keys,
      verification: { checkedAt: now.toISOString(), ok: input.evidence.ok, summary: input.evidence.summary },
    },
    clients: clients.map((client) => clientPart(ctx, client, rows, period, verdict)),
    integrityIssues: issues,
    generalAudit: general.map((r) => auditRow(r, verdict('audit', r.id))),
  };
}
