import { describeInputIssues } from './input-issues.js';
import { z } from 'zod';
import type { Context } from '../context.js';
import { parseDbUrl } from '../core/db-url.js';
import { errorMessage } from '../core/errors.js';
import { requestHash } from '../core/request-hash.js';
import { countRows, withDb } from '../core/restore/pg-admin.js';
import { checkPartialRestore } from '../core/restore/partial.js';
import { formatOf } from '../core/restore/load-backup.js';
import { parseDuration, formatDuration } from '../config/duration.js';
import type { BackupRow } from '../store/backup-register.js';
import type { ApprovalRow, ApprovalScope, RestoreStrategy } from '../store/approvals.js';
import type { Role } from '../config/schema.js';
import { authorize } from './authorize.js';
import { manifestOf } from './manifest.js';
import { checkMysqlRequest, mysqlProductionCounts } from './restore-mysql.js';
import type { MessageRef } from './reporter.js';
import { plannedSkips } from './restore-skips.js';

/** SOP-001 13.3 "Checklist Pre-Restore Produccion" (+ 9.2 "Plan de rollback definido"). `by` says who fulfils it. */
export const RESTORE_CHECKLIST = [
  { id: 'approval', text: 'Aprobacion escrita del System Owner obtenida', by: 'bot' },
  { id: 'reason', text: 'Motivo del restore documentado', by: 'requester' },
  { id: 'users_notified', text: 'Usuarios notificados de indisponibilidad', by: 'requester' },
  { id: 'time_communicated', text: 'Tiempo estimado comunicado', by: 'requester' },
  { id: 'pre_restore_backup', text: 'Backup del estado actual realizado', by: 'bot' },
  { id: 'support_available', text: 'Personal de soporte disponible', by: 'requester' },
  { id: 'backup_verified', text: 'Backup a restaurar identificado y verificado', by: 'requester' },
  { id: 'post_comms', text: 'Plan de comunicacion post-restore preparado', by: 'requester' },
  { id: 'rollback_plan', text: 'Plan de rollback definido', by: 'requester' },
] as const;
export const REQUESTER_CHECKLIST_IDS = RESTORE_CHECKLIST.filter((c) => c.by === 'requester').map((c) => c.id);

/** Who must approve: the System Owner for a full restore, the IT Manager for a partial one (SOP-001 9.1). */
export function approverRole(scope: ApprovalScope): Role {
  return scope === 'full' ? 'systemOwners' : 'itManagers';
}

const tableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$/, 'must be a table name (optionally schema.table)');

const requestRestoreInput = z.strictObject({
  client: z.string().min(1).max(63),
  backupId: z.string().regex(/^\d{1,18}$/, 'must be the id of a backup in the register'),
  scope: z.enum(['full', 'partial']),
  tables: z.array(tableName).max(100).default([]),
  reason: z.string().trim().min(1, 'a reason is required (SOP-001 13.3: "Motivo del restore documentado")').max(2000),
  ticket: z.string().trim().max(200).optional().transform((v) => (v ? v : undefined)),
  plannedStart: z.date().optional(),
  checklist: z.array(z.string()).default([]),
  requestedBy: z.string().min(1).max(40),
  requestedByName: z.string().max(200).optional(),
  trigger: z.enum(['cli', 'slack', 'schedule', 'system']).default('slack'),
});
export type RequestRestoreInput = z.input<typeof requestRestoreInput>;

interface RestoreImpact {
  measuredAt: string;
  backupTakenAt: string;
  /** Time between the backup and the request: data entered in it will be lost. */
  dataLossMs: number;
  dataLossText: string;
  /** Per verified table: rows in the backup (manifest), in production now, and the difference. */
  rows: Array<{ table: string; backup: number; production: number | null; difference: number | null }>;
  rowsNote?: string;
  expectedDowntimeMinutes: number | null;
  lastRestoreTestAt: string | null;
  rtoMinutes: number;
  withinRto: boolean | null;
}

export type RequestRestoreResult = { ok: true; approval: ApprovalRow; message?: MessageRef } | { ok: false; message: string };

/** "how much data will be lost" and the expected downtime, measured now. */
async function measureImpact(ctx: Context, client: string, backup: BackupRow, now: Date): Promise<RestoreImpact> {
  const cfg = ctx.client(client);
  const dataLossMs = Math.max(0, now.getTime() - backup.taken_at.getTime());
  const manifestCounts = manifestOf(backup).rowCounts;
  const rows: RestoreImpact['rows'] = [];
  let rowsNote: string | undefined;
  const tables = Object.keys(manifestCounts);
  if (tables.length === 0) {
    rowsNote = 'not measurable: the backup has no row counts (configure verify.tables)';
  } else {
    let prod: Record<string, number> = {};
    try {
      if (cfg.database.engine === 'mysql') prod = await mysqlProductionCounts(cfg, tables);
      else prod = await pgProductionCounts(cfg.database.url, tables);
    } catch (err) {
      rowsNote = `production not reachable: ${errorMessage(err).slice(0, 200)}`;
    }
    for (const t of tables) {
      const p = prod[t];
      rows.push({ table: t, backup: manifestCounts[t]!, production: p ?? null, difference: p === undefined ? null : p - manifestCounts[t]! });
    }
  }
  const rtoMs = parseDuration(cfg.rto) ?? 4 * 3_600_000;
  const last = (await ctx.store.restoreTests.list({ client, result: 'OK', limit: 1 }))[0];
  const minutes = last?.restore_minutes != null ? Number(last.restore_minutes) : null;
  return {
    measuredAt: now.toISOString(),
    backupTakenAt: backup.taken_at.toISOString(),
    dataLossMs,
    dataLossText: formatDuration(dataLossMs),
    rows,
    ...(rowsNote ? { rowsNote } : {}),
    expectedDowntimeMinutes: minutes,
    lastRestoreTestAt: last ? last.tested_at.toISOString() : null,
    rtoMinutes: Math.round(rtoMs / 60_000),
    withinRto: minutes === null ? null : minutes * 60_000 <= rtoMs,
  };
}

/** Rows in production now of the manifest's tables (PostgreSQL); a missing table is left out. */
async function pgProductionCounts(url: string, tables: string[]): Promise<Record<string, number>> {
  const target = parseDbUrl(url, 'postgres');
  return withDb(target, target.database, async (c) => {
    const out: Record<string, number> = {};
    for (const t of tables) {
      try { Object.assign(out, await countRows(c, [t])); } catch { /* table gone: shown as not measured */ }
    }
    return out;
  });
}

type RequestInput = z.output<typeof requestRestoreInput>;
type Checked = { ok: true; backup: BackupRow; strategy: RestoreStrategy; tables: string[] } | { ok: false; message: string; details?: Record<string, unknown> };

/**
 * Stores a pending production-restore request (verified backups only), measures what it will cost, audits it
 * and reports the request (the approvers are asked to decide).
 */
export async function requestRestore(ctx: Context, raw: RequestRestoreInput): Promise<RequestRestoreResult> {
  const refuse = async (message: string, details: Record<string, unknown> = {}): Promise<RequestRestoreResult> => {
    const r = raw as Partial<Record<string, unknown>>;
    await ctx.store.audit.append({ actor: String(r.requestedBy ?? 'unknown').slice(0, 40), action: 'restore.request_refused', client: typeof r.client === 'string' ? r.client.slice(0, 63) : null, reason: message, details });
    return { ok: false, message };
  };
  const parsed = requestRestoreInput.safeParse(raw);
  if (!parsed.success) return refuse(describeInputIssues(parsed.error));
  const input = parsed.data;
  const authz = await authorize(ctx, { client: input.client, userId: input.requestedBy, role: 'operators', action: `request a production restore of ${input.client}` });
  if (!authz.ok) return { ok: false, message: authz.message };
  const checked = await checkRequest(ctx, input);
  if (!checked.ok) return refuse(checked.message, checked.details);
  const approval = await storeRequest(ctx, input, checked);
  const message = await ctx.reporter.report({ kind: 'restore.request', client: input.client, approval, approverRole: approverRole(approval.scope) });
  if (message) await ctx.store.approvals.setMessage(approval.id, message.channel, message.ts);
  return { ok: true, approval: { ...approval, slack_channel: message?.channel ?? null, slack_ts: message?.ts ?? null }, message };
}

/** What may be requested: a verified backup of this client, the checklist complete, tables only for a partial restore. */
async function checkRequest(ctx: Context, input: RequestInput): Promise<Checked> {
  const cfg = ctx.client(input.client);
  const no = (message: string, details?: Record<string, unknown>): Checked => ({ ok: false, message, ...(details ? { details } : {}) });
  const backup = await ctx.store.backups.get(input.backupId);
  if (!backup || backup.client !== input.client) return no(`backup ${input.backupId} is not a backup of ${input.client}`);
  if (backup.deleted_at) return no(`backup ${backup.file ?? backup.id} was deleted by retention and cannot be restored`);
  if (backup.result !== 'OK' || !backup.verified) return no(`backup ${backup.file ?? backup.id} is not verified; only verified backups can be restored to production (run \`verify\` first)`);
  const missing = REQUESTER_CHECKLIST_IDS.filter((id) => !input.checklist.includes(id));
  if (missing.length) {
    return no(`the pre-restore checklist (SOP-001 13.3) is not complete; still to confirm: ${missing.map((id) => RESTORE_CHECKLIST.find((c) => c.id === id)!.text).join('; ')}`);
  }
  if (input.scope !== 'partial') {
    if (input.tables.length) return no('tables can only be chosen for a partial restore (scope "partial")');
    if (cfg.database.engine === 'mysql') {
      const my = await checkMysqlRequest(cfg, 'full', ctx.config.approvals.strategy, []).catch((err) => ({ ok: false as const, reason: `cannot check the production database: ${errorMessage(err)}` }));
      if (!my.ok) return no(my.reason);
    }
    return { ok: true, backup, strategy: ctx.config.approvals.strategy, tables: [] };
  }
  if (cfg.database.engine === 'mysql') {
    const chosen = [...new Set(input.tables)];
    if (chosen.length === 0) return no('a partial restore needs the tables to restore (accepted: table names)');
    const my = await checkMysqlRequest(cfg, 'partial', 'swap', chosen).catch((err) => ({ ok: false as const, reason: `cannot check the production database: ${errorMessage(err)}` }));
    if (!my.ok) return no(my.reason, { tables: chosen });
    return { ok: true, backup, strategy: 'partial', tables: my.tables };
  }
  if (formatOf(backup.format ?? backup.file) !== 'custom') {
    return no(`a partial restore needs a custom-format PostgreSQL backup (${backup.file ?? backup.id} is ${backup.format ?? 'plain'}); restore the whole database instead`);
  }
  const tables = [...new Set(input.tables)];
  if (tables.length === 0) return no('a partial restore needs the tables to restore (accepted: table names, optionally schema.table)');
  const target = parseDbUrl(cfg.database.url, 'postgres');
  const check = await withDb(target, target.database, (c) => checkPartialRestore(c, tables)).catch((err) => ({ ok: false as const, reason: `cannot check the production database: ${errorMessage(err)}` }));
  if (!check.ok) return no(check.reason, { tables });
  return { ok: true, backup, strategy: 'partial', tables };
}

/** The pending request, its hash and its audit entry, in one transaction. */
async function storeRequest(ctx: Context, input: RequestInput, c: Extract<Checked, { ok: true }>): Promise<ApprovalRow> {
  const { backup, strategy, tables } = c;
  const now = ctx.clock.now();
  const impact = { ...await measureImpact(ctx, input.client, backup, now), skippedSteps: plannedSkips(input.client, ctx.client(input.client), strategy) };
  const ttl = parseDuration(ctx.config.approvals.ttl) ?? 86_400_000;
  const checklist = RESTORE_CHECKLIST.map((x) => ({ item: x.text, confirmed: x.by === 'requester' }));
  return ctx.store.transaction(async (tx) => {
    const id = await tx.approvals.nextId();
    const fields = {
      id, client: input.client, scope: input.scope, strategy, tables, backup_id: backup.id, backup_key: backup.key ?? backup.file ?? backup.id,
      backup_file: backup.file, backup_sha256: backup.sha256, backup_taken_at: backup.taken_at, reason: input.reason, ticket: input.ticket ?? null,
      planned_start: input.plannedStart ?? null, checklist, impact: impact as unknown as Record<string, unknown>, requested_by: input.requestedBy,
      requested_by_name: input.requestedByName ?? null, requested_at: now, expires_at: new Date(now.getTime() + ttl),
    };
    const row = await tx.approvals.insert({
      id, client: fields.client, scope: fields.scope, strategy, tables, backupId: backup.id, backupKey: fields.backup_key, backupFile: fields.backup_file,
      backupSha256: fields.backup_sha256, backupTakenAt: backup.taken_at, reason: fields.reason, ticket: fields.ticket, plannedStart: fields.planned_start,
      checklist, impact: fields.impact, requestedBy: fields.requested_by, requestedByName: fields.requested_by_name, requestedAt: now,
      expiresAt: fields.expires_at, requestHash: requestHash(fields),
    });
    await tx.audit.append({
      actor: input.requestedBy, action: 'restore.requested', client: input.client, target: `approval:${id}`, reason: input.reason,
      details: { scope: input.scope, strategy, tables, backup: backup.file, backupId: backup.id, ticket: input.ticket ?? null, requestHash: row.request_hash, expiresAt: row.expires_at.toISOString(), dataLoss: impact.dataLossText, trigger: input.trigger },
    });
    return row;
  });
}
