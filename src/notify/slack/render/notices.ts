import type { OutMessage } from '../../sink.js';
import { formatDateTime } from '../../../core/time.js';
import type { ApprovalRow } from '../../../store/approvals.js';
import { code, literal } from '../literal.js';

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

export function renderRestoreFailedAlert(e: { client: string; approvalId: string; step: string; summary: string }, mentions: string): OutMessage {
  return { text: `:rotating_light: *Production restore of ${e.client} failed* at step "${literal(humanStep(e.step))}" (request #${e.approvalId}). ${literal(e.summary)} ${mentions}`.trim() };
}

export function renderJobFailedAlert(e: { client: string; job: string; runId?: string; error: string }, mentions: string): OutMessage {
  return { text: `:x: *S2* Scheduled job *${e.job}*${e.client ? ` of *${e.client}*` : ''} failed${e.runId ? ` (run ${e.runId})` : ''}: ${literal(e.error)}${mentions ? `\n${mentions}` : ''}` };
}

export function renderWorkWaitingAlert(e: { client: string; job: string; waitedSeconds: number; maxWait: string; queued: number; maxConcurrent: number }, mentions: string): OutMessage {
  const waited = e.waitedSeconds >= 120 ? `${Math.round(e.waitedSeconds / 60)} min` : `${e.waitedSeconds} s`;
  return {
    text: `:hourglass: *S2* ${literal(e.job)}${e.client ? ` of *${e.client}*` : ''} has waited ${waited} in the work queue (workers.maxWait ${e.maxWait}); ${e.queued} piece(s) of work are queued. ` +
      `The replicas' slots (workers.maxConcurrent ${e.maxConcurrent} each) are not enough for the schedule, or the work is held by its database server's limit (workers.perDatabaseHost): add a replica, raise the limits, or spread the schedules.${mentions ? `\n${mentions}` : ''}`,
  };
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
