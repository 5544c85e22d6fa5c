import type { OutMessage } from '../../sink.js';
import type { AlertRow } from '../../../store/alerts.js';
import type { WatchdogStatus } from '../../../operations/views.js';
import { formatDuration } from '../../../config/duration.js';
import { formatDateTime } from '../../../core/time.js';
import { literal } from '../literal.js';
import { incidentButton } from './restore-test.js';

const clip = (s: string, n = 2900) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function section(text: string): unknown {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text) } };
}

/** The S2 alert: what is wrong, since when, what the schedule allows, who is paged. */
export function renderAlertOpened(s: WatchdogStatus, o: { schedule: string; rpo: string; mentions: string; timezone: string; incidentIds?: string[]; incidentAction?: string }): OutMessage {
  const lines: string[] = [];
  lines.push(`:rotating_light: *S2 — backups of ${s.client} need attention*`);
  if (s.failed && s.lastRun) {
    lines.push(`• The last backup run ${s.lastRun.status === 'interrupted' ? 'was interrupted' : 'failed'} (run ${s.lastRun.id}, ${formatDateTime(s.lastRun.startedAt, o.timezone)})${s.lastRun.error ? `: ${literal(s.lastRun.error.slice(0, 400))}` : ''}`);
  }
  if (s.stale) {
    if (s.lastVerified) {
      lines.push(`• The last verified backup is ${formatDuration(s.lastVerified.ageMs)} old (${formatDateTime(s.lastVerified.takenAt, o.timezone)}); the schedule \`${o.schedule}\` allows ${formatDuration(s.intervalMs)} + ${formatDuration(s.graceMs)} grace.`);
    } else {
      lines.push(`• No verified backup since scheduling started (${s.since ? formatDateTime(s.since, o.timezone) : '?'}); the schedule \`${o.schedule}\` allows ${formatDuration(s.intervalMs)} + ${formatDuration(s.graceMs)} grace.`);
    }
  }
  if (s.rpoBreach) {
    lines.push(`• :red_circle: *RPO breach*: ${s.lastVerified ? `the newest verified backup (${formatDuration(s.lastVerified.ageMs)} old)` : 'no verified backup'} is older than the RPO of ${o.rpo}.`);
  }
  lines.push(`First thing to check: ${s.failed ? 'the run\'s error above (database reachable? credentials? disk space?)' : 'is `backup-bot serve` running and is the schedule firing?'} — \`backup-bot doctor\`, then \`/backup now ${s.client}\`.`);
  if (o.mentions) lines.push(o.mentions);
  const text = lines.join('\n');
  return { text, blocks: [section(text), ...(o.incidentIds ?? []).slice(0, 2).flatMap((id) => incidentButton(o.incidentAction, id))] };
}

/** The alert message, edited in place once resolved. */
export function renderAlertResolved(a: AlertRow, s: WatchdogStatus, o: { timezone: string; now: Date }): OutMessage {
  const text = `:white_check_mark: ~S2 — backups of ${a.client} needed attention~ Resolved ${formatDateTime(o.now, o.timezone)}${s.lastVerified ? ` by verified backup ${literal(s.lastVerified.key ?? s.lastVerified.id)} (${formatDateTime(s.lastVerified.takenAt, o.timezone)})` : ''}. Open for ${formatDuration(o.now.getTime() - new Date(a.opened_at).getTime())}.`;
  return { text, blocks: [section(text)] };
}

/** The "resolved" message posted in the channel. */
export function renderAlertResolvedNotice(client: string, resolved: AlertRow[], s: WatchdogStatus, o: { timezone: string; now: Date; incidentAction?: string }): OutMessage {
  const opened = Math.min(...resolved.map((a) => new Date(a.opened_at).getTime()));
  const kinds = resolved.map((a) => (a.kind === 'rpo' ? 'RPO breach' : 'backup alert')).join(' and ');
  const text = `:white_check_mark: Resolved: ${kinds} for *${client}* — ${s.lastVerified ? `verified backup ${literal(s.lastVerified.key ?? s.lastVerified.id)} taken ${formatDateTime(s.lastVerified.takenAt, o.timezone)}` : 'the last backup run succeeded'}. Incident lasted ${formatDuration(o.now.getTime() - opened)}.`;
  // The backup alert resolved itself: its incident stays open for the cause and the fix (runbook §5 step 4).
  const incidents = resolved.map((a) => a.incident_id).filter((x): x is string => Boolean(x));
  const why = incidents.length ? ` Record the cause and the fix of incident${incidents.length > 1 ? 's' : ''} ${incidents.map((x) => `#${x}`).join(', ')} (runbook §5 step 4).` : '';
  return { text: text + why, blocks: [section(text + why), ...incidents.slice(0, 2).flatMap((id) => incidentButton(o.incidentAction, id))] };
}
