import { toCsv } from '../../core/csv.js';
import { formatDate, formatTime } from '../../core/time.js';
import { SOP_BACKUP_COLUMNS, SOP_INCIDENT_COLUMNS, SOP_RESTORE_TEST_COLUMNS } from './labels.js';
import { parseEvidenceReportData, type EvidenceReportData, type EvidenceReportInput, type RowVerification } from './model.js';

/**
 * Each register of the report as CSV and JSON, for evidence.zip: every client's rows of the period, the
 * SOP's column names (Spanish) first, then the bot's additions, the row id, its chain hash and its
 * verification status. JSON rows are the model's rows with their client: the field names of the
 * existing `register … --format json` exports.
 */

export interface RegisterFile { name: string; data: string }

const integrity = (v: RowVerification) => (v.status === 'intact' ? 'intacto' : `roto: ${v.reasons.join('; ')}`);
const TYPE_LABEL: Record<string, string> = { scheduled: 'Auto', manual: 'Manual', 'pre-change': 'Manual (pre-cambio)', 'pre-restore': 'Manual (pre-restore)' };

export function registerFiles(input: EvidenceReportInput | EvidenceReportData): RegisterFile[] {
  const data = parseEvidenceReportData(input);
  const tz = data.meta.timezone;
  const d = (iso: string | null) => (iso ? formatDate(new Date(iso), tz) : '');
  const t = (iso: string | null) => (iso ? formatTime(new Date(iso), tz) : '');
  const dt = (iso: string | null) => (iso ? `${d(iso)} ${t(iso)}` : '');
  const tail = ['Id', 'Hash de Cadena', 'Integridad'];
  const files: RegisterFile[] = [];
  const add = (name: string, header: string[], rows: Array<Array<string | number | null>>, json: unknown[]) => {
    files.push({ name: `registers/${name}.csv`, data: toCsv(header, rows) }, { name: `registers/${name}.json`, data: `${JSON.stringify(json, null, 2)}\n` });
  };
  const each = <T>(pick: (c: EvidenceReportData['clients'][number]) => T[]) => data.clients.flatMap((c) => pick(c).map((row) => ({ client: c.client, row })));

  const backups = each((c) => c.backups);
  add('backups', ['Cliente', ...SOP_BACKUP_COLUMNS, 'SHA256', 'Tablas', 'Ubicaciones', 'Duracion (s)', ...tail], backups.map(({ client, row: b }) => [
    client, d(b.takenAt), t(b.takenAt), TYPE_LABEL[b.type] ?? b.type, b.file, b.sizeBytes, b.verified ? 'Si' : 'No', b.executedBy, b.result,
    [b.observations, b.deletedAt ? `eliminado por retencion ${d(b.deletedAt)}` : ''].filter(Boolean).join('; '), b.sha256, b.tables,
    b.locations.map((l) => `${l.destination}:${l.ok ? 'ok' : 'error'}`).join(' '), b.durationSeconds, b.id, b.chainHash, integrity(b.verification),
  ]), backups.map(({ client, row }) => ({ client, ...row })));

  const tests = each((c) => c.restoreTests);
  add('restore-tests', ['Cliente', ...SOP_RESTORE_TEST_COLUMNS, 'Firma QA (clave)', 'Aprobacion', ...tail], tests.map(({ client, row: r }) => [
    client, d(r.testedAt), r.quarter.replace(/^\d{4}-/, ''), r.backupUsed, r.environment, r.restoreMinutes,
    Object.entries(r.recordsVerified).map(([k, v]) => `${k}:${typeof v === 'number' ? v : v.staging}`).join(' '), r.executedBy,
    r.verifiedByQa ? `${r.verifiedByQa} ${dt(r.verifiedByQaAt)}` : '', r.result, r.observations, r.qaSignature?.keyId ?? '', r.approvalId, r.id, r.chainHash, integrity(r.verification),
  ]), tests.map(({ client, row }) => ({ client, ...row })));

  const incidents = each((c) => c.incidents);
  add('incidents', ['Cliente', ...SOP_INCIDENT_COLUMNS, 'Aprobacion', ...tail], incidents.map(({ client, row: i }) => [
    client, dt(i.at), i.description, i.backupUsed, i.recoveryMinutes, i.dataLost, i.correctiveActions, i.approvalId, i.id, i.chainHash, integrity(i.verification),
  ]), incidents.map(({ client, row }) => ({ client, ...row })));

  const approvals = each((c) => c.approvals);
  add('approvals', ['Cliente', 'Solicitud', 'Fecha Solicitud', 'Solicitado Por', 'Alcance', 'Tablas', 'Backup', 'SHA256 Backup', 'Motivo', 'Ticket', 'Decision', 'Firmado Por', 'Rol',
    'Fecha Firma (UTC)', 'Clave', 'Declaracion', 'Motivo Rechazo', 'Estado', 'Ultimo Paso', 'Resultado', 'Hash de Cadena', 'Integridad'], approvals.map(({ client, row: a }) => [
    client, a.id, dt(a.requestedAt), a.requestedByName ? `${a.requestedByName} (${a.requestedBy})` : a.requestedBy, a.scope, a.tables.join(' '), a.backup, a.backupSha256, a.reason, a.ticket,
    a.decision, a.signature ? `${a.signature.signerName} (${a.signature.signerId})` : '', a.signature?.role ?? '', a.signature?.signedAt ?? '', a.signature?.keyId ?? '',
    a.statement, a.rejectReason, a.status, a.lastStep, a.outcome, a.chainHash, integrity(a.verification),
  ]), approvals.map(({ client, row }) => ({ client, ...row })));

  const audit = [...each((c) => c.audit), ...data.generalAudit.map((row) => ({ client: row.client, row }))];
  add('audit', ['Cliente', 'Fecha/Hora (UTC)', 'Actor', 'Accion', 'Objetivo', 'Motivo', 'Detalles', ...tail], audit.map(({ client, row: a }) => [
    client, a.at, a.actor, a.action, a.target, a.reason, JSON.stringify(a.details), a.id, a.chainHash, integrity(a.verification),
  ]), audit.map(({ client, row }) => ({ ...row, client })));
  return files;
}
