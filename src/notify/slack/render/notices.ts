import type { OutMessage } from '../../sink.js';
import { formatDateTime } from '../../../core/time.js';
import type { ApprovalRow } from '../../../store/approvals.js';
import { code, literal } from '../literal.js';
import type { AlertRow } from '../../../store/alerts.js';
import { formatDuration } from '../../../config/duration.js';
import { incidentButton } from './restore-test.js';

/** Short messages: alerts, reminders and notices that fit in one line or two of mrkdwn (error texts and step names go through literal()). */

const humanStep = (s: string) => s.replace(/_/g, ' ');

/** SOP 9.2 step 2: the users' maintenance notice (in the SOP's words). */
export function renderMaintenanceNotice(client: string, from: Date, until: Date, tz: string): OutMessage {
  return { text: `:construction: *Sistema ${client} - Mantenimiento Programado*\nEl sistema ${client} estara no disponible desde ${formatDateTime(from, tz)} hasta ${formatDateTime(until, tz)} (estimado).\nMotivo: Restauracion de base de datos.\nDisculpe las molestias.` };
}

/** SOP 9.2 step 12: service is back, with the date the data goes back to. */
export function renderRestoredNotice(client: string, dataAsOf: Date, tz: string): OutMessage {
  const when = formatDateTime(dataAsOf, tz);
  return { text: `:white_check_mark: *Sistema ${client} - Servicio Restaurado*\nEl sistema ${client} ha sido restaurado y esta operativo.\nIMPORTANTE: Los datos han sido restaurados al estado del ${when}.\nCualquier dato ingresado despues de esa fecha debera re-ingresarse.` };
}

export function renderRestoreFailedAlert(e: { client: string; approvalId: string; step: string; summary: string; incidentId?: string }, mentions: string, incidentAction?: string): OutMessage {
  const blocks = incidentButton(incidentAction, e.incidentId);
  const out = { text: `:rotating_light: *Production restore of ${e.client} failed* at step "${literal(humanStep(e.step))}" (request #${e.approvalId}). ${literal(e.summary)}${e.incidentId ? ` Incident #${e.incidentId} (SOP-001 §13.5).` : ''} ${mentions}`.trim() };
  return blocks.length ? { ...out, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: out.text.slice(0, 2900) } }, ...blocks] } : out;
}

export function renderJobFailedAlert(e: { client: string; job: string; runId?: string; error: string }, mentions: string): OutMessage {
  return { text: `:x: *S2* Scheduled job *${e.job}*${e.client ? ` of *${e.client}*` : ''} failed${e.runId ? ` (run ${e.runId})` : ''}: ${literal(e.error)}${mentions ? `\n${mentions}` : ''}` };
}

/** An alert with its severity: S1 calls the people named, S2 asks them to look today. */
export function renderTeamAlert(e: { client: string; severity: 'S1' | 'S2'; title: string; detail: string }, mentions: string): OutMessage {
  return { text: `${e.severity === 'S1' ? ':rotating_light:' : ':warning:'} *${e.severity}* ${literal(e.title)}${e.client ? ` (*${e.client}*)` : ''}: ${literal(e.detail)}${mentions ? `\n${mentions}` : ''}` };
}

export function renderRunInterrupted(e: { client: string; runKind: string; runId: string; startedAt: Date; step: string | null }, tz: string): OutMessage {
  return { text: `:warning: A ${e.runKind.replace('_', ' ')} run${e.client ? ` of ${e.client}` : ''} started ${formatDateTime(e.startedAt, tz)} was interrupted (the bot stopped during step "${literal(e.step ?? '?')}"). Run ${e.runId} is marked interrupted.` };
}

export function renderRestoreInterrupted(a: ApprovalRow): OutMessage {
  return {
    text: `:warning: The production restore of *${a.client}* (request #${a.id}) was *interrupted* when the bot stopped; last completed step: *${literal(a.last_step ?? 'none')}*.` +
      (a.old_database ? ` The previous database is kept as ${code(a.old_database)}.` : '') + (a.restore_database ? ` The restored copy is ${code(a.restore_database)}.` : '') +
      ' Nothing was dropped. Check the application and production before doing anything else.',
  };
}

export function renderRestoreTestDue(client: string, quarter: string, mentions: string): OutMessage {
  return { text: `:calendar: The quarterly restore test of *${client}* is due (SOP 8.3, ${quarter}): restore the newest backup into staging and verify it — \`/restore-test ${client}\` or \`backup-bot restore-test ${client}\`.${mentions ? `\n${mentions}` : ''}` };
}

export function renderIntegritySummary(results: Array<{ client: string; ok: boolean; error?: string; runId?: string }>): OutMessage {
  const lines = results.map((o) => `${o.ok ? ':white_check_mark:' : ':x:'} *${o.client}*: ${o.ok ? 'newest backup read back and verified' : `FAILED — ${literal(o.error ?? 'see the run')}`}${o.runId ? ` (run ${o.runId})` : ''}`);
  return { text: [':mag: *Monthly integrity check (SOP 8.2)*', ...lines].join('\n') };
}

/** S1: a record that should be evidence does not verify (a start gate refusal, or the digest's check). */
export function renderEvidenceAlert(e: { client: string; title: string; problems: string[] }, mentions: string): OutMessage {
  const lines = e.problems.slice(0, 12).map((p) => `• ${p}`);
  if (e.problems.length > 12) lines.push(`• … and ${e.problems.length - 12} more (\`backup-bot evidence verify\`)`);
  return { text: [`:rotating_light: *S1 — ${e.title}*${e.client ? ` (${e.client})` : ''}`, ...lines, 'Nothing was changed in production. Check who had write access to the state database; `backup-bot evidence verify` lists every broken record.', mentions].filter(Boolean).join('\n') };
}

/** The comment of the monthly evidence report's PDF (issue 19). */
export function renderEvidenceReport(e: { client: string; period: string; reportSha256: string; keyId: string; evidenceOk: boolean; brokenRows: number }, mentions: string): OutMessage {
  const integrity = e.evidenceOk ? ':white_check_mark: every record verifies' : `:x: *${e.brokenRows} record(s) of the period do not verify* (marked in the report; see the S1 alert)`;
  return {
    text: [`:page_facing_up: *Evidence report of ${e.client} for ${e.period}* (backups, restore tests, approvals, incidents). ${integrity}.`,
      `report.html sha256 \`${e.reportSha256}\`, signed with key \`${e.keyId}\`. The signed HTML and evidence.zip: \`backup-bot evidence report --client ${e.client}\` with the same dates.`,
      e.evidenceOk ? '' : mentions].filter(Boolean).join('\n'),
  };
}

/** S1/S2: a retention run or an integrity check failed (tracked: posted once, resolved visibly). */
export function renderCheckFailedAlert(e: { client: string; check: 'retention' | 'integrity'; runId?: string; error: string; severity: string; incidentId?: string }, o: { mentions: string; incidentAction?: string }): OutMessage {
  const what = e.check === 'retention' ? 'Retention (clean-up of old backups)' : 'The integrity check of the newest backup (SOP 8.2)';
  const next = e.check === 'retention' ? 'old backups are piling up: check the storage credentials and free space, then `backup-bot prune ' + e.client + '`.' : 'the newest backup could not be read back and verified: take a new one now (`/backup now ' + e.client + '`) and check the storage.';
  const text = `:rotating_light: *${e.severity} — ${what} of ${e.client} failed*${e.runId ? ` (run ${e.runId})` : ''}: ${literal(e.error.slice(0, 1500))}\nNext: ${next}${e.incidentId ? `\nIncident #${e.incidentId} (SOP-001 §13.5).` : ''}${o.mentions ? `\n${o.mentions}` : ''}`;
  const blocks = incidentButton(o.incidentAction, e.incidentId);
  return blocks.length ? { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 2900) } }, ...blocks] } : { text };
}

const ALERT_LABEL: Record<string, string> = {
  backup: 'backup alert', rpo: 'RPO breach', restore: 'production restore alert', evidence: 'evidence alert', restore_test: 'restore test alert',
  retention: 'retention alert', integrity: 'integrity check alert',
};

/** A tracked alert resolved: the alert message struck through (edited in place), or the notice posted after it. */
export function renderAlertCleared(e: { client: string; alert: AlertRow; message: string; now: Date; notice: boolean }, o: { timezone: string; incidentAction?: string }): OutMessage {
  const lasted = formatDuration(e.now.getTime() - new Date(e.alert.opened_at).getTime());
  const incident = e.alert.incident_id ? ` Incident #${e.alert.incident_id} stays in the §13.5 register until its cause and corrective action are recorded and it is closed.` : '';
  if (!e.notice) {
    return { text: `:white_check_mark: ~${literal(e.alert.message.slice(0, 1500))}~\nResolved ${formatDateTime(e.now, o.timezone)}: ${literal(e.message)}. Open for ${lasted}.` };
  }
  const text = `:white_check_mark: Resolved: ${ALERT_LABEL[e.alert.kind] ?? e.alert.kind} for *${e.client}* — ${literal(e.message)}. Open for ${lasted}.${incident}`;
  const blocks = incidentButton(o.incidentAction, e.alert.incident_id ?? undefined);
  return blocks.length ? { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, ...blocks] } : { text };
}

/** SOP-001 §12: a passing row put to QA (or a reminder), with the *QA verified* button. */
export function renderQaRequested(e: { client: string; registerId: string; environment: 'Test' | 'Prod'; quarter: string; backupFile: string; testedAt: Date; approvalId: string | null; reminder: boolean; incidentId?: string }, o: { mentions: string; timezone: string; qaAction?: string; incidentAction?: string }): OutMessage {
  const what = e.environment === 'Prod'
    ? `the production restore of *${e.client}*${e.approvalId ? ` (request #${e.approvalId})` : ''}`
    : `the ${e.quarter} restore test of *${e.client}*`;
  const head = e.reminder
    ? `:bell: *Reminder*: ${what} (${formatDateTime(e.testedAt, o.timezone)}) is still waiting for QA's signature.`
    : `:ballot_box_with_check: ${what} passed and is recorded in §12 (row ${e.registerId}): QA, please review it and sign *QA verified*.`;
  const text = `${head} Backup ${code(e.backupFile)}.${e.environment === 'Test' ? ' Until it is signed it does not count as the quarter\'s test.' : ''}${o.mentions ? `\n${o.mentions}` : ''}`;
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 2900) } }];
  if (o.qaAction) blocks.push({ type: 'actions', elements: [{ type: 'button', action_id: o.qaAction, value: e.registerId, style: 'primary', text: { type: 'plain_text', text: 'QA verified' } }] });
  blocks.push(...incidentButton(o.incidentAction, e.incidentId));
  return { text: e.incidentId ? `${text}\nIncident #${e.incidentId} (SOP-001 §13.5): record the cause and the corrective action.` : text, blocks };
}
