import { UserError } from '../core/errors.js';
import { toCsv } from '../core/csv.js';
import { formatBytes, formatDate, formatTime } from '../core/time.js';
import { listBackups, type BackupRow } from '../store/backup-register.js';
import { listRestoreTests, type RestoreTestRow } from '../store/restore-test-register.js';
import type { Queryable } from '../store/queryable.js';

export type RegisterName = 'backups' | 'restore-tests';
export type RegisterFormat = 'csv' | 'json';

const TYPE_LABEL: Record<string, string> = { scheduled: 'Auto', manual: 'Manual', 'pre-change': 'Manual (pre-cambio)', 'pre-restore': 'Manual (pre-restore)' };

/** SOP-001 section 11, "Registro de Backups", with its own column names, plus sha256, tables and locations. */
export const BACKUP_REGISTER_COLUMNS = ['Fecha', 'Hora', 'Tipo', 'Archivo', 'Tamano', 'Verificado', 'Ejecutado Por', 'Resultado', 'Observaciones', 'SHA256', 'Tablas', 'Ubicaciones'];
/** SOP-001 section 12, "Registro de Pruebas de Restore". */
export const RESTORE_TEST_REGISTER_COLUMNS = ['Fecha', 'Trimestre', 'Backup Usado', 'Ambiente', 'Tiempo Restore (min)', 'Registros Verificados', 'Ejecutado Por', 'Verificado Por (QA)', 'Resultado', 'Observaciones'];

export function backupRegisterRow(b: BackupRow, tz: string): string[] {
  return [
    formatDate(b.taken_at, tz), formatTime(b.taken_at, tz), TYPE_LABEL[b.type] ?? b.type, b.file ?? '',
    b.size_bytes === null ? '' : formatBytes(b.size_bytes), b.verified ? 'Si' : 'No', b.executed_by, b.result,
    [b.observations, b.deleted_at ? `eliminado por retencion ${formatDate(b.deleted_at, tz)}` : ''].filter(Boolean).join('; '),
    b.sha256 ?? '', b.tables_counted === null ? '' : String(b.tables_counted),
    b.locations.map((l) => `${l.destination}:${l.ok ? 'ok' : 'error'}`).join(' '),
  ];
}

export function recordsVerifiedText(r: RestoreTestRow['records_verified']): string {
  return Object.entries(r).map(([t, v]) => `${t}:${typeof v === 'number' ? v : v.staging}`).join(' ');
}

export function restoreTestRegisterRow(t: RestoreTestRow, tz: string): string[] {
  return [
    formatDate(t.tested_at, tz), t.quarter.replace(/^\d{4}-/, ''), t.backup_used ?? '', t.environment,
    t.restore_minutes === null ? '' : String(Number(t.restore_minutes)), recordsVerifiedText(t.records_verified),
    t.executed_by, t.verified_by_qa ? `${t.verified_by_qa} ${formatDate(t.verified_by_qa_at!, tz)} ${formatTime(t.verified_by_qa_at!, tz)}` : '',
    t.result, t.observations,
  ];
}

export interface ExportOptions { register: RegisterName; client?: string; format: RegisterFormat; timezone: string }

/** Exports a register, oldest first (the order of the paper form). */
export async function exportRegister(db: Queryable, o: ExportOptions): Promise<string> {
  if (o.register === 'backups') {
    const rows = (await listBackups(db, { client: o.client, includeDeleted: true, limit: 1_000_000 })).reverse();
    if (o.format === 'json') {
      return JSON.stringify(rows.map((b) => ({
        client: b.client, takenAt: b.taken_at.toISOString(), type: b.type, file: b.file, key: b.key, sizeBytes: b.size_bytes === null ? null : Number(b.size_bytes),
        verified: b.verified, verifiedAt: b.verified_at?.toISOString() ?? null, executedBy: b.executed_by, result: b.result, observations: b.observations,
        sha256: b.sha256, tables: b.tables_counted, locations: b.locations, deletedAt: b.deleted_at?.toISOString() ?? null,
      })), null, 2);
    }
    return toCsv(['Cliente', ...BACKUP_REGISTER_COLUMNS], rows.map((b) => [b.client, ...backupRegisterRow(b, o.timezone)]));
  }
  if (o.register === 'restore-tests') {
    const rows = (await listRestoreTests(db, { client: o.client, limit: 1_000_000 })).reverse();
    if (o.format === 'json') {
      return JSON.stringify(rows.map((t) => ({
        client: t.client, testedAt: t.tested_at.toISOString(), quarter: t.quarter, backupUsed: t.backup_used, environment: t.environment,
        restoreMinutes: t.restore_minutes === null ? null : Number(t.restore_minutes), recordsVerified: t.records_verified, checks: t.checks,
        executedBy: t.executed_by, verifiedByQa: t.verified_by_qa, verifiedByQaAt: t.verified_by_qa_at?.toISOString() ?? null, result: t.result, observations: t.observations,
      })), null, 2);
    }
    return toCsv(['Cliente', ...RESTORE_TEST_REGISTER_COLUMNS], rows.map((t) => [t.client, ...restoreTestRegisterRow(t, o.timezone)]));
  }
  throw new UserError(`unknown register "${String(o.register)}" (accepted: backups, restore-tests)`);
}
