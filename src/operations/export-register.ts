import { UserError } from '../core/errors.js';
import { toCsv } from '../core/csv.js';
import { formatBytes, formatDate, formatTime } from '../core/time.js';
import type { BackupRow } from '../store/backup-register.js';
import type { RestoreTestRow } from '../store/restore-test-register.js';
import type { IncidentRow } from '../store/incidents.js';
import type { Context } from '../context.js';
import type { BoundQueries } from '../store/store.js';
import { signChainHeads } from '../evidence/verify.js';
import { verifyDecision } from '../evidence/decisions.js';

export type RegisterName = 'backups' | 'restore-tests' | 'incidents';
export type RegisterFormat = 'csv' | 'json';

const TYPE_LABEL: Record<string, string> = { scheduled: 'Auto', manual: 'Manual', 'pre-change': 'Manual (pre-cambio)', 'pre-restore': 'Manual (pre-restore)' };

/** SOP-001 section 11, "Registro de Backups", with its own column names, plus sha256, tables and locations. */
const BACKUP_REGISTER_COLUMNS = ['Fecha', 'Hora', 'Tipo', 'Archivo', 'Tamano', 'Verificado', 'Ejecutado Por', 'Resultado', 'Observaciones', 'SHA256', 'Tablas', 'Ubicaciones'];
/** SOP-001 section 12, "Registro de Pruebas de Restore". */
const RESTORE_TEST_REGISTER_COLUMNS = ['Fecha', 'Trimestre', 'Backup Usado', 'Ambiente', 'Tiempo Restore (min)', 'Registros Verificados', 'Ejecutado Por', 'Verificado Por (QA)', 'Resultado', 'Observaciones'];

/** SOP-001 §13.5, "Historial de Incidentes de Restore", with the columns the issue asks for (system, cause, responsible, status). */
const INCIDENT_REGISTER_COLUMNS = ['Incidente', 'Fecha', 'Sistema', 'Descripcion del Incidente', 'Backup Usado', 'Tiempo de Recuperacion (min)', 'Datos Perdidos', 'Causa', 'Acciones Correctivas', 'Responsable', 'Fecha Cierre', 'Estado', 'Severidad', 'Origen'];

const STATUS_LABEL: Record<string, string> = { open: 'Abierto', resolved: 'Resuelto (sin cerrar)', closed: 'Cerrado' };

function incidentRegisterRow(i: IncidentRow, tz: string): string[] {
  return [
    i.id, `${formatDate(i.opened_at, tz)} ${formatTime(i.opened_at, tz)}`, i.client, i.description, i.backup_used,
    i.recovery_minutes === null ? '' : String(Number(i.recovery_minutes)), i.data_lost, i.cause, i.corrective_actions, i.responsible,
    i.closed_at ? `${formatDate(i.closed_at, tz)} ${formatTime(i.closed_at, tz)}` : '', STATUS_LABEL[i.status] ?? i.status, i.severity ?? '', i.source ?? '',
  ];
}

function backupRegisterRow(b: BackupRow, tz: string): string[] {
  return [
    formatDate(b.taken_at, tz), formatTime(b.taken_at, tz), TYPE_LABEL[b.type] ?? b.type, b.file ?? '',
    b.size_bytes === null ? '' : formatBytes(b.size_bytes), b.verified ? 'Si' : 'No', b.executed_by, b.result,
    [b.ticket ? `Ticket ${b.ticket}: ${b.reason ?? ''}` : '', b.observations, b.deleted_at ? `eliminado por retencion ${formatDate(b.deleted_at, tz)}` : ''].filter(Boolean).join('; '),
    b.sha256 ?? '', b.tables_counted === null ? '' : String(b.tables_counted),
    b.locations.map((l) => `${l.destination}:${l.ok ? 'ok' : 'error'}`).join(' '),
  ];
}

function recordsVerifiedText(r: RestoreTestRow['records_verified']): string {
  return Object.entries(r).map(([t, v]) => `${t}:${typeof v === 'number' ? v : v.staging}`).join(' ');
}

function restoreTestRegisterRow(t: RestoreTestRow, tz: string): string[] {
  return [
    formatDate(t.tested_at, tz), t.quarter.replace(/^\d{4}-/, ''), t.backup_used ?? '', t.environment,
    t.restore_minutes === null ? '' : String(Number(t.restore_minutes)), recordsVerifiedText(t.records_verified),
    t.executed_by, t.verified_by_qa ? `${t.verified_by_qa} ${formatDate(t.verified_by_qa_at!, tz)} ${formatTime(t.verified_by_qa_at!, tz)}` : '',
    t.result, t.observations,
  ];
}

export interface ExportOptions { register: RegisterName; client?: string; format: RegisterFormat; timezone: string }

type ExportContext = Pick<Context, 'signer' | 'clock'> & { store: BoundQueries };

/** Every export signs the chain heads first, so a copy handed to an inspector pins the registers as they were. */
async function pinHeads(ctx: ExportContext): Promise<void> {
  await signChainHeads(ctx.store, ctx.signer, 'export', ctx.clock.now());
}

/** Exports a register, oldest first (the order of the paper form), each row with its place and hash in the chain. */
export async function exportRegister(ctx: ExportContext, o: ExportOptions): Promise<string> {
  const store = ctx.store;
  await pinHeads(ctx);
  if (o.register === 'backups') {
    const rows = (await store.backups.list({ client: o.client, includeDeleted: true, limit: 1_000_000 })).reverse();
    if (o.format === 'json') {
      return JSON.stringify(rows.map((b) => ({
        client: b.client, takenAt: b.taken_at.toISOString(), type: b.type, file: b.file, key: b.key, sizeBytes: b.size_bytes === null ? null : Number(b.size_bytes),
        verified: b.verified, verifiedAt: b.verified_at?.toISOString() ?? null, executedBy: b.executed_by, result: b.result, observations: b.observations,
        ticket: b.ticket ?? null, reason: b.reason ?? null,
        sha256: b.sha256, tables: b.tables_counted, locations: b.locations, deletedAt: b.deleted_at?.toISOString() ?? null,
        chainSeq: b.chain_seq ?? null, rowHash: b.row_hash ?? null,
      })), null, 2);
    }
    return toCsv(['Cliente', ...BACKUP_REGISTER_COLUMNS, ...CHAIN_COLUMNS], rows.map((b) => [b.client, ...backupRegisterRow(b, o.timezone), b.chain_seq ?? '', b.row_hash ?? '']));
  }
  if (o.register === 'restore-tests') {
    const rows = (await store.restoreTests.list({ client: o.client, limit: 1_000_000 })).reverse();
    if (o.format === 'json') {
      return JSON.stringify(rows.map((t) => ({
        client: t.client, testedAt: t.tested_at.toISOString(), quarter: t.quarter, backupUsed: t.backup_used, environment: t.environment,
        restoreMinutes: t.restore_minutes === null ? null : Number(t.restore_minutes), recordsVerified: t.records_verified, checks: t.checks,
        executedBy: t.executed_by, verifiedByQa: t.verified_by_qa, verifiedByQaAt: t.verified_by_qa_at?.toISOString() ?? null, result: t.result, observations: t.observations,
        qaSignature: t.qa_signature ?? null, qaKeyId: t.qa_key_id ?? null, chainSeq: t.chain_seq ?? null, rowHash: t.row_hash ?? null,
      })), null, 2);
    }
    return toCsv(['Cliente', ...RESTORE_TEST_REGISTER_COLUMNS, 'Firma QA (Ed25519)', 'Clave', ...CHAIN_COLUMNS],
      rows.map((t) => [t.client, ...restoreTestRegisterRow(t, o.timezone), t.qa_signature ?? '', t.qa_key_id ?? '', t.chain_seq ?? '', t.row_hash ?? '']));
  }
  if (o.register === 'incidents') {
    const rows = await store.incidents.list({ client: o.client });
    if (o.format === 'json') {
      const out = [];
      for (const i of rows) {
        out.push({
          id: i.id, client: i.client, openedAt: new Date(i.opened_at).toISOString(), description: i.description, backupUsed: i.backup_used || null,
          recoveryMinutes: i.recovery_minutes === null ? null : Number(i.recovery_minutes), dataLost: i.data_lost, cause: i.cause, correctiveActions: i.corrective_actions,
          responsible: i.responsible, closedAt: i.closed_at ? new Date(i.closed_at).toISOString() : null, status: i.status, severity: i.severity, source: i.source,
          approvalId: i.approval_id, chainSeq: i.chain_seq, rowHash: i.row_hash,
          history: (await store.incidents.history(i.id)).map((e) => ({ at: new Date(e.at).toISOString(), status: e.status ?? 'open', note: e.description, recordedBy: e.recorded_by, chainSeq: e.chain_seq, rowHash: e.row_hash })),
        });
      }
      return JSON.stringify(out, null, 2);
    }
    return toCsv([...INCIDENT_REGISTER_COLUMNS, ...CHAIN_COLUMNS], rows.map((i) => [...incidentRegisterRow(i, o.timezone), i.chain_seq ?? '', i.row_hash ?? '']));
  }
  throw new UserError(`unknown register "${String(o.register)}" (accepted: backups, restore-tests, incidents)`);
}

/** The place and hash of a row in its register's chain (check with `backup-bot evidence verify`, or by hand: README). */
const CHAIN_COLUMNS = ['Cadena #', 'Hash Cadena'];

/** Every production-restore request with its signed decision; the signature is re-verified on export (21 CFR 11.70). */
const APPROVALS_REGISTER_COLUMNS = ['Solicitud', 'Cliente', 'Fecha Solicitud', 'Solicitado Por', 'Alcance', 'Tablas', 'Backup', 'Motivo', 'Ticket', 'Decision', 'Firmado Por', 'Rol', 'Fecha Firma (UTC)', 'Declaracion', 'Motivo Rechazo', 'Hash Solicitud', 'Firma (Ed25519)', 'Clave', 'Firma Verificada', 'Estado', 'Ultimo Paso', 'Resultado', ...CHAIN_COLUMNS];

export async function exportApprovalsRegister(ctx: ExportContext, o: { client?: string; format: RegisterFormat; timezone: string }): Promise<string> {
  await pinHeads(ctx);
  const rows = (await ctx.store.approvals.list({ client: o.client, limit: 1_000_000 })).reverse();
  const outcome = (a: (typeof rows)[number]) => a.status === 'completed' ? `restored${a.old_database ? `; previous database kept as ${a.old_database}` : ''}` : a.error ?? a.status;
  const items = [];
  for (const a of rows) {
    const d = verifyDecision(ctx.signer, a, await ctx.store.signatures.forSubject(`approval:${a.id}`));
    const problems = [...d.problems, ...(a.meaning && !d.approved && !d.rejected ? ['no valid signature for the recorded decision'] : [])];
    items.push({ a, v: { ok: problems.length === 0, problems } });
  }
  if (o.format === 'json') {
    return JSON.stringify(items.map(({ a, v }) => ({
      id: a.id, client: a.client, requestedAt: a.requested_at.toISOString(), requestedBy: a.requested_by, requestedByName: a.requested_by_name, scope: a.scope,
      strategy: a.strategy, tables: a.tables, backup: a.backup_file ?? a.backup_key, backupSha256: a.backup_sha256, reason: a.reason, ticket: a.ticket,
      decision: a.meaning, signerId: a.decided_by, signerName: a.decided_by_name, signerRole: a.decided_role, signedAt: a.decided_at?.toISOString() ?? null,
      statement: a.statement, rejectReason: a.reject_reason, requestHash: a.request_hash, signature: a.decision_signature, keyId: a.decision_key_id,
      signatureVerified: v.ok, signatureProblems: v.problems,
      status: a.status, lastStep: a.last_step, outcome: outcome(a), preRestoreBackupId: a.pre_restore_backup_id, registerId: a.register_id,
      chainSeq: a.chain_seq, rowHash: a.row_hash,
    })), null, 2);
  }
  return toCsv(APPROVALS_REGISTER_COLUMNS, items.map(({ a, v }) => [
    a.id, a.client, `${formatDate(a.requested_at, o.timezone)} ${formatTime(a.requested_at, o.timezone)}`, a.requested_by_name ?? a.requested_by, a.scope, a.tables.join(' '),
    a.backup_file ?? a.backup_key, a.reason, a.ticket ?? '', a.meaning ?? '', a.decided_by_name ? `${a.decided_by_name} (${a.decided_by})` : '', a.decided_role ?? '',
    a.decided_at?.toISOString() ?? '', a.statement ?? '', a.reject_reason ?? '', a.request_hash, a.decision_signature ?? '', a.decision_key_id ?? '',
    v.ok ? (a.decision_signature ? 'Si' : '') : `NO: ${v.problems.join('; ')}`, a.status, a.last_step ?? '', outcome(a), a.chain_seq ?? '', a.row_hash ?? '',
  ]));
}
