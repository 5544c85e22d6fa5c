import type { OutMessage } from '../../sink.js';
import { formatBytes, formatDate, formatDateTime, zonedParts } from '../../../core/time.js';
import { formatDuration } from '../../../config/duration.js';
import type { ClientStatus } from '../../../operations/client-status.js';
import { fitMessage } from '../limits.js';
import { literal } from '../literal.js';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** `1 June 2026`, in the configured time zone. */
function dayMonthYear(d: Date, timeZone: string): string {
  const p = zonedParts(d, timeZone);
  return `${Number(p.day)} ${MONTHS[Number(p.month) - 1]} ${p.year}`;
}


export function renderBackupStatus(rows: ClientStatus[], now: Date, tz: string): OutMessage {
  const lines: string[] = [];
  const blocks: unknown[] = [{ type: 'header', text: { type: 'plain_text', text: 'Backup status' } }];
  for (const s of rows) {
    const parts: string[] = [];
    if (s.lastOk) {
      const age = now.getTime() - new Date(s.lastOk.taken_at).getTime();
      const within = age <= s.rpoMs;
      parts.push(`${within ? ':white_check_mark:' : ':red_circle:'} Last backup ${formatDateTime(new Date(s.lastOk.taken_at), tz)} (${formatDuration(age)} ago; RPO ${s.rpoText}${within ? '' : ' *exceeded*'}), ${literal(s.lastOk.file ?? '')} ${formatBytes(s.lastOk.size_bytes)}, ${s.lastOk.verified ? 'verified' : '*not verified*'}`);
    } else {
      parts.push(`:red_circle: No successful backup yet (RPO ${s.rpoText})`);
    }
    if (s.lastAttempt && s.lastAttempt.result !== 'OK') parts.push(`:warning: The latest attempt (${formatDateTime(new Date(s.lastAttempt.taken_at), tz)}) failed: ${s.lastAttempt.observations ? literal(s.lastAttempt.observations) : 'see /backup list'}`);
    if (s.running) parts.push(`:hourglass_flowing_sand: A ${s.running.kind.replace('_', ' ')} is running (step ${literal(s.running.step ?? 'started')})`);
    for (const q of s.queued ?? []) parts.push(`:hourglass: Queued: ${literal(q.job)}, waiting ${formatDuration(q.waitedSeconds * 1000)}${q.ahead > 0 ? ` (${q.ahead} ahead of it)` : ' (next)'}`);
    parts.push(s.lastTest
      ? `Last restore test ${formatDate(new Date(s.lastTest.tested_at), tz)} (${s.lastTest.quarter}): ${s.lastTest.result}${s.lastTest.verified_by_qa ? `, QA verified by ${literal(s.lastTest.verified_by_qa)}` : ', not yet QA verified'}`
      : 'No restore test yet');
    parts.push(restoreTestLine(s, tz));
    lines.push(`*${s.client}*\n${parts.join('\n')}`);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*${s.client}*\n${parts.join('\n')}` } });
  }
  if (rows.length === 0) lines.push('No clients to show.');
  return fitMessage({ text: lines.join('\n\n'), blocks: rows.length ? blocks : undefined });
}

/** SOP 8.3 compliance in one line: this quarter's test, and the next one due as the digest computes it. */
function restoreTestLine(s: ClientStatus, tz: string): string {
  if (!s.due) return `${s.doneThisQuarter ? ':white_check_mark:' : ''} This quarter's (${s.quarter}) restore test is ${s.doneThisQuarter ? 'done' : 'not done'}; no restore-test months are configured`.trim();
  const when = dayMonthYear(s.due.due, tz);
  const which = s.due.quarter === s.quarter ? `This quarter's (${s.quarter}) restore test` : `The ${s.due.quarter} restore test`;
  if (s.doneThisQuarter && !s.due.overdue) return `:white_check_mark: This quarter's (${s.quarter}) restore test is done; next due ${when}`;
  if (s.awaitingQa) return `:warning: This quarter's (${s.quarter}) restore test passed and awaits QA's signature (it counts once signed); due ${when}`;
  if (s.due.overdue) return `:red_circle: ${which} is due since ${when} and not done yet`;
  return `This quarter's (${s.quarter}) restore test is not done yet; due ${when}`;
}
