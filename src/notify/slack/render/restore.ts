import type { OutMessage } from '../../sink.js';
import { fitMessage } from '../limits.js';
import { formatBytes, formatDateTime } from '../../../core/time.js';
import type { ApprovalRow, ApprovalStepEntry } from '../../../store/approvals.js';
import type { RunbookView } from '../../../operations/views.js';
import type { BackupRow } from '../../../store/backup-register.js';
import { code, literal, plainText, typedFields } from '../literal.js';
import { mention } from '../mentions.js';

/**
 * Block Kit for production restores: the request message, the decision, the runbook's live progress, and the modals.
 * What people typed (reason, ticket, rejection reason, the signed statement) is shown in plain_text; names, tables,
 * file names and error texts inside mrkdwn go through literal()/code() (../literal.ts).
 */

export interface RequestButtons { approve: string; reject: string }

interface Impact {
  dataLossText?: string;
  backupTakenAt?: string;
  rows?: Array<{ table: string; backup: number; production: number | null; difference: number | null }>;
  rowsNote?: string;
  expectedDowntimeMinutes?: number | null;
  rtoMinutes?: number;
  withinRto?: boolean | null;
  /** Steps that will be skipped (operations/restore-skips.ts), known before approval. */
  skippedSteps?: Array<{ step: string; label: string; reason: string }>;
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const context = (text: string) => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

function scopeText(a: ApprovalRow): string {
  return a.scope === 'full' ? `*full* restore (strategy ${a.strategy ?? 'swap'})` : `*partial* restore of ${a.tables.map(code).join(', ')}`;
}

export function impactLines(a: ApprovalRow, tz: string): string[] {
  const i = a.impact as Impact;
  const out: string[] = [];
  out.push(`*Data that will be lost:* everything entered after ${a.backup_taken_at ? formatDateTime(a.backup_taken_at, tz) : '?'} — ${i.dataLossText ?? '?'} of data.`);
  const diffs = (i.rows ?? []).map((r) => r.difference === null
    ? `• ${code(r.table)}: ${r.backup} rows in the backup (production not measured)`
    : `• ${code(r.table)}: ${r.backup} in the backup, ${r.production} now → ${r.difference > 0 ? `*${r.difference} rows lost*` : r.difference === 0 ? 'no change in count' : `${-r.difference} rows come back`}`);
  if (diffs.length) out.push(diffs.slice(0, 20).join('\n'));
  if (i.rowsNote) out.push(`_Row counts: ${literal(i.rowsNote)}_`);
  out.push(i.expectedDowntimeMinutes == null
    ? `*Expected downtime:* unknown (no successful restore test yet); RTO ${i.rtoMinutes ?? '?'} min.`
    : `*Expected downtime:* about ${Math.ceil(i.expectedDowntimeMinutes)} min (last restore test) against an RTO of ${i.rtoMinutes} min${i.withinRto === false ? ' — :warning: *over the RTO*' : ''}.`);
  if (i.skippedSteps?.length) out.push(`*Steps that will be skipped:*\n${i.skippedSteps.map((k) => `• ${literal(k.label)}: skipped — ${literal(k.reason)}`).join('\n')}`);
  return out;
}

export function renderRestoreRequest(a: ApprovalRow, o: { approvers: string[]; roleLabel: string; timezone: string; buttons?: RequestButtons }): OutMessage {
  const tz = o.timezone;
  const head = `:rotating_light: Production restore requested for *${a.client}* by ${mention(a.requested_by)} — ${scopeText(a)}`;
  const blocks: unknown[] = [
    section(head),
    section([
      `*Backup:* ${code(a.backup_file ?? a.backup_key)} taken ${a.backup_taken_at ? formatDateTime(a.backup_taken_at, tz) : '?'}`,
      a.planned_start ? `*Planned start:* ${formatDateTime(a.planned_start, tz)}` : '',
    ].filter(Boolean).join('\n')),
    typedFields([['*Reason:*', a.reason], ['*Ticket:*', a.ticket]]),
    section(impactLines(a, tz).join('\n')),
    section(`*Checklist (SOP-001 13.3):*\n${a.checklist.map((c) => `${c.confirmed ? ':white_check_mark:' : ':hourglass:'} ${c.item}`).join('\n')}`),
    context(`Needs the written approval of the ${o.roleLabel}: ${o.approvers.map(mention).join(' ') || '_no approver configured_'} · expires ${formatDateTime(a.expires_at, tz)} · request #${a.id} · sha256 ${a.request_hash.slice(0, 16)}…`),
  ].filter(Boolean);
  if (o.buttons) {
    blocks.push({
      type: 'actions',
      elements: [
        { type: 'button', action_id: o.buttons.approve, text: { type: 'plain_text', text: 'Approve' }, style: 'primary', value: a.id },
        { type: 'button', action_id: o.buttons.reject, text: { type: 'plain_text', text: 'Reject' }, style: 'danger', value: a.id },
      ],
    });
  }
  const text = `Production restore of ${a.client} requested by ${literal(a.requested_by_name ?? a.requested_by)}: backup ${literal(a.backup_file ?? a.backup_key)}; ` +
    `data after ${a.backup_taken_at ? formatDateTime(a.backup_taken_at, tz) : '?'} will be lost (${(a.impact as Impact).dataLossText ?? '?'}). ` +
    `Needs the ${o.roleLabel}'s approval (${o.approvers.map(mention).join(' ')}).`;
  return fitMessage({ text, blocks });
}

/** The request message after its decision: buttons gone, the signed decision shown (and "Start restore" for the requester). */
export function renderRestoreDecided(a: ApprovalRow, o: { timezone: string; startButton?: string; note?: string }): OutMessage {
  const tz = o.timezone;
  const decided = a.meaning === 'approved'
    ? `:white_check_mark: *Approved* by ${literal(a.decided_by_name)} (${mention(a.decided_by ?? '')}, ${a.decided_role ?? ''}) at ${a.decided_at ? a.decided_at.toISOString() : '?'}`
    : a.meaning === 'rejected'
      ? `:no_entry: *Rejected* by ${literal(a.decided_by_name)} (${mention(a.decided_by ?? '')}) at ${a.decided_at ? a.decided_at.toISOString() : '?'}`
      : `:hourglass: ${a.status}`;
  const blocks: unknown[] = [
    section(`Production restore of *${a.client}* requested by ${mention(a.requested_by)} — ${scopeText(a)}\n*Backup:* ${code(a.backup_file ?? a.backup_key)} taken ${a.backup_taken_at ? formatDateTime(a.backup_taken_at, tz) : '?'}`),
    typedFields([['*Reason:*', a.reason], ['*Ticket:*', a.ticket]]),
    section(impactLines(a, tz).join('\n')),
    section(decided),
    typedFields([['*Rejection reason:*', a.meaning === 'rejected' ? a.reject_reason : null]]),
  ].filter(Boolean);
  if (a.statement) blocks.push({ type: 'section', text: plainText(`“${a.statement}”`) });
  if (a.decision_signature) blocks.push(context(`Signed (Ed25519, key ${a.decision_key_id}) over request #${a.id} · request sha256 ${a.request_hash.slice(0, 16)}… · signature ${a.decision_signature.slice(0, 16)}…`));
  if (o.note) blocks.push(context(o.note));
  if (o.startButton && a.status === 'approved') {
    blocks.push({ type: 'actions', elements: [{ type: 'button', action_id: o.startButton, text: { type: 'plain_text', text: 'Start restore' }, style: 'danger', value: a.id }] });
    blocks.push(context(`Only ${mention(a.requested_by)} (the requester) can start it.`));
  }
  const text = a.meaning
    ? `Production restore of ${a.client} ${a.meaning} by ${literal(a.decided_by_name)} at ${a.decided_at?.toISOString() ?? '?'}`
    : `Production restore of ${a.client}: ${a.status}`;
  return fitMessage({ text, blocks });
}

const ICON: Record<ApprovalStepEntry['status'], string> = { started: ':hourglass_flowing_sand:', done: ':white_check_mark:', failed: ':x:', skipped: ':heavy_minus_sign:' };

export function renderRunbook(v: RunbookView, o: { timezone: string; extra?: string[] }): OutMessage {
  const { approval: a, steps, plan } = v;
  const last = new Map<string, ApprovalStepEntry>();
  for (const s of steps) last.set(s.step, s);
  const lines = plan.map(({ name: id, label }) => {
    const s = last.get(id);
    return `${s ? ICON[s.status] : ':white_small_square:'} ${label}${s?.note ? ` — ${literal(s.note)}` : ''}`;
  });
  const rollback = steps.filter((s) => !plan.some(({ name }) => name === s.step));
  const head = `Production restore of *${a.client}* from ${code(a.backup_file ?? a.backup_key)} (request #${a.id}, approved by ${literal(a.decided_by_name ?? '?')}) — *${v.status}*`;
  const blocks: unknown[] = [section(head), section(lines.join('\n'))];
  if (rollback.length) blocks.push(section(`*Recovery:*\n${rollback.map((s) => `${ICON[s.status]} ${s.step.replace(/_/g, ' ')}${s.note ? ` — ${literal(s.note)}` : ''}`).join('\n')}`));
  if (v.error) blocks.push(section(`:warning: ${literal(v.error)}`));
  for (const e of o.extra ?? []) blocks.push(context(e));
  return fitMessage({ text: `Production restore of ${a.client}: ${v.status}${v.error ? ` — ${literal(v.error)}` : ''}\n${lines.join('\n')}`, blocks });
}

// ---- modals ----

/** The bot's own words in a plain_text object (emoji codes allowed); people's text uses plainText (no emoji). */
const plain = (text: string) => ({ type: 'plain_text', text });

export function loadingModal(callbackId: string, title: string, text: string): Record<string, unknown> {
  return { type: 'modal', callback_id: callbackId, title: plain(title), close: plain('Close'), blocks: [section(text)] };
}

export function messageModal(title: string, text: string): Record<string, unknown> {
  return { type: 'modal', title: plain(title.slice(0, 24)), close: plain('Close'), blocks: [section(text)] };
}

/** Slack's limit for an option's text. */
const OPTION_MAX = 75;

/**
 * A backup as a choice: its full SOP file name (which already says when it was taken), type and size
 * (`backup_2026-11-28_06-25-01.sql.gz · scheduled · 12.4 MB`). What does not fit in Slack's 75 characters is
 * dropped from the end, never the name.
 */
export function backupOptionLabel(b: Pick<BackupRow, 'file' | 'key' | 'type' | 'size_bytes'>): string {
  const name = b.file ?? b.key ?? '?';
  let label = name;
  for (const part of [b.type, formatBytes(b.size_bytes)]) {
    if (`${label} · ${part}`.length > OPTION_MAX) break;
    label = `${label} · ${part}`;
  }
  return label.length > OPTION_MAX ? `${name.slice(0, OPTION_MAX - 1)}…` : label;
}

export function restoreRequestModal(o: { callbackId: string; client: string; backups: BackupRow[]; checklist: Array<{ id: string; text: string }>; timezone: string }): Record<string, unknown> {
  // Pre-change backups (SOP-001 §7.1) are offered by the ticket of the change they preceded, in their own group.
  const option = (b: BackupRow) => ({
    text: plainText((b.type === 'pre-change' && b.ticket
      ? `${b.ticket} · pre-change · ${formatDateTime(b.taken_at, o.timezone)} · ${b.reason ?? ''}`
      : backupOptionLabel(b)).slice(0, 75)),
    value: b.id,
  });
  const shown = o.backups.slice(0, 100);
  const preChange = shown.filter((b) => b.type === 'pre-change' && b.ticket);
  const choice = preChange.length
    ? { option_groups: [
      { label: plain('Pre-change backups (by ticket)'), options: preChange.map(option) },
      ...(shown.length > preChange.length ? [{ label: plain('Other verified backups'), options: shown.filter((b) => !preChange.includes(b)).map(option) }] : []),
    ] }
    : { options: shown.map(option) };
  const anyCustom = o.backups.some((b) => b.format === 'custom');
  const mysql = o.backups.some((b) => b.engine === 'mysql');
  return {
    type: 'modal',
    callback_id: o.callbackId,
    private_metadata: JSON.stringify({ client: o.client }),
    title: plain('Production restore'),
    submit: plain('Request approval'),
    close: plain('Cancel'),
    blocks: [
      section(`:warning: Restoring *${o.client}* replaces production data; everything entered after the backup is lost. The System Owner (full) or IT Manager (partial) must approve in writing.`),
      { type: 'input', block_id: 'backup', label: plain('Backup to restore (verified only, newest first)'), element: { type: 'static_select', action_id: 'value', ...choice } },
      { type: 'input', block_id: 'scope', label: plain('Scope'), element: { type: 'radio_buttons', action_id: 'value', initial_option: { text: plain('Full database'), value: 'full' }, options: [{ text: plain('Full database'), value: 'full' }, { text: plain(mysql ? 'Chosen tables (IT Manager approval)' : 'Chosen tables (custom-format backup)'), value: 'partial' }] } },
      { type: 'input', block_id: 'tables', optional: true, label: plain('Tables (partial only; comma-separated)'), hint: plain(mysql ? 'e.g. wp_options, wp_postmeta' : anyCustom ? 'e.g. public.configuracion, alertas' : 'No custom-format backup: only a full restore is possible'), element: { type: 'plain_text_input', action_id: 'value', max_length: 2000 } },
      { type: 'input', block_id: 'reason', label: plain('Reason'), element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 2000 } },
      { type: 'input', block_id: 'ticket', optional: true, label: plain('Ticket / incident reference'), element: { type: 'plain_text_input', action_id: 'value', max_length: 200 } },
      { type: 'input', block_id: 'planned', optional: true, label: plain('Planned start'), element: { type: 'datetimepicker', action_id: 'value' } },
      { type: 'input', block_id: 'checklist', label: plain('Pre-restore checklist (SOP-001 13.3)'), element: { type: 'checkboxes', action_id: 'value', options: o.checklist.map((c) => ({ text: plainText(c.text), value: c.id })) } },
    ],
  };
}

/** A modal about one restore request: the request and client travel in private_metadata (re-checked on submit). */
function decisionModal(o: { callbackId: string; approvalId: string; client: string }, title: string, submit: string, blocks: unknown[]): Record<string, unknown> {
  return {
    type: 'modal',
    callback_id: o.callbackId,
    private_metadata: JSON.stringify({ approvalId: o.approvalId, client: o.client }),
    title: plain(title),
    submit: plain(submit),
    close: plain('Cancel'),
    blocks,
  };
}

export function approveModal(o: { callbackId: string; approvalId: string; client: string; statement: string; roleLabel: string; impact: string[] }): Record<string, unknown> {
  return decisionModal(o, 'Approve restore', 'Sign and approve', [
    section(`You are signing as *${o.roleLabel}* of *${o.client}*. Your Slack identity, your name, the time and this statement are recorded with a hash of the request.`),
    section(o.impact.join('\n')),
    section('*Statement:*'),
    { type: 'section', text: plainText(`“${o.statement}”`) },
    { type: 'input', block_id: 'confirm_client', label: plainText(`Type the client's name (${o.client}) to confirm`), element: { type: 'plain_text_input', action_id: 'value', max_length: 100 } },
    { type: 'input', block_id: 'statement', label: plain('Signature'), element: { type: 'checkboxes', action_id: 'value', options: [{ text: plain('I have read the statement above and sign it'), value: 'signed' }] } },
  ]);
}

export function rejectModal(o: { callbackId: string; approvalId: string; client: string }): Record<string, unknown> {
  return decisionModal(o, 'Reject restore', 'Reject', [
    section(`Rejecting the production restore request #${o.approvalId} of *${o.client}*.`),
    { type: 'input', block_id: 'reason', label: plain('Reason'), element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 1000 } },
  ]);
}
