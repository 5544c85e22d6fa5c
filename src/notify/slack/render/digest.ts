import type { OutMessage } from '../../sink.js';
import type { Digest, DigestClient } from '../../../operations/views.js';
import { formatDuration } from '../../../config/duration.js';
import { formatBytes, formatDate, formatDateTime } from '../../../core/time.js';
import { literal, readLiteral } from '../literal.js';

const MARK = { ok: ':white_check_mark:', warning: ':warning:', critical: ':red_circle:' } as const;
const MAX_SECTIONS = 45;
const clip = (s: string, n = 2900) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The lines of one client (mrkdwn), shared by Slack and the terminal. */
function digestClientLines(c: DigestClient, tz: string): string[] {
  const lines: string[] = [];
  lines.push(`${MARK[c.status]} *${c.client}*${c.problems.length ? ` — ${c.problems.map(literal).join('; ')}` : ''}`);
  if (c.lastVerified) {
    lines.push(`   Last verified backup: ${formatDateTime(new Date(c.lastVerified.takenAt), tz)} (${formatDuration(c.lastVerified.ageMs)} ago), ${formatBytes(c.lastVerified.sizeBytes)}`);
  } else {
    lines.push('   Last verified backup: :red_circle: none');
  }
  if (c.sizes.length) {
    lines.push(`   Size trend (last ${c.sizes.length}): \`${c.sparkline}\` median ${formatBytes(c.medianBytes)}${c.sizeDrop ? ` :warning: *newest is less than half the median* (${formatBytes(c.sizes[c.sizes.length - 1])})` : ''}`);
  }
  lines.push(`   RPO ${c.rpo.rpo}: ${c.rpo.ok ? 'met' : ':red_circle: *breached*'}`);
  const rt = c.restoreTest;
  const last = rt.last ? `${formatDate(new Date(rt.last.testedAt), tz)} ${rt.last.result === 'OK' ? 'OK' : ':x: Fail'}${rt.last.result === 'OK' && !rt.last.qaVerified ? ' (awaiting QA)' : ''}` : 'never';
  const next = rt.nextDue ? `${rt.overdue ? ':red_circle: *overdue* since' : 'next due'} ${formatDate(new Date(rt.nextDue), tz)}` : 'no months configured';
  lines.push(`   Restore test: last ${last}; ${rt.thisQuarter} ${rt.thisQuarterDone ? 'done' : 'not done'}; ${next}`);
  const overdueQa = (rt.awaitingQa ?? []).filter((q) => q.overdue);
  if (overdueQa.length) {
    lines.push(`   :warning: QA signature overdue: ${overdueQa.slice(0, 5).map((q) => `§12 row ${q.id} (${q.environment === 'Prod' ? 'production restore' : q.quarter}, ${formatDate(new Date(q.testedAt), tz)})`).join(', ')}${overdueQa.length > 5 ? ` and ${overdueQa.length - 5} more` : ''}`);
  }
  const extra: string[] = [];
  extra.push(`pending approvals: ${c.pendingApprovals}`);
  extra.push(`failures (24 h): ${c.failures24h}${c.failures24h ? ` (${Object.entries(c.failuresByKind).map(([k, n]) => `${k.replace('_', ' ')} ${n}`).join(', ')})` : ''}`);
  if (c.openAlerts) extra.push(`open alerts: ${c.openAlerts}`);
  lines.push(`   ${extra.join(' · ')}`);
  return lines;
}

function headline(d: Digest): string {
  const n = (m: DigestClient['status']) => d.clients.filter((c) => c.status === m).length;
  return `Backup digest ${formatDateTime(new Date(d.generatedAt), d.timezone)}: ${n('ok')} ok, ${n('warning')} warning, ${n('critical')} critical`;
}

/** The shared work queue in one line: what waits now, and how long work waited in the last 24 h. */
function queueLine(q: NonNullable<Digest['queue']>): string {
  const now = q.queued > 0 ? `${q.queued} waiting (the oldest for ${formatDuration(q.oldestWaitSeconds * 1000)}), ${q.active} running` : `nothing waiting, ${q.active} running`;
  return `:hourglass: Work queue: ${now}; in 24 h ${q.started24h} piece(s) of work started, the longest wait ${formatDuration(q.longestWait24hSeconds * 1000)}`;
}

/** One message for all clients (Block Kit within 50 blocks / 3000 characters per text). */
export function renderDigest(d: Digest): OutMessage {
  const perClient = d.clients.map((c) => digestClientLines(c, d.timezone).join('\n'));
  const queue = d.queue ? [queueLine(d.queue)] : [];
  const text = [`:bar_chart: *${headline(d)}*`, ...perClient, ...queue, ...(d.evidence ? [`${d.evidence.ok ? ':lock:' : ':rotating_light:'} ${d.evidence.summary}`] : [])].join('\n');
  const blocks: unknown[] = [{ type: 'header', text: { type: 'plain_text', text: clip(headline(d), 150) } }];
  if (perClient.length <= MAX_SECTIONS) {
    for (const p of perClient) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(p) } });
  } else {
    // Many clients: one line each, packed into sections.
    let buf = '';
    for (const c of d.clients) {
      const line = digestClientLines(c, d.timezone)[0]!;
      if (buf.length + line.length + 1 > 2900) { blocks.push({ type: 'section', text: { type: 'mrkdwn', text: buf } }); buf = ''; }
      buf += (buf ? '\n' : '') + line;
      if (blocks.length >= 48) break;
    }
    if (buf) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: buf } });
  }
  for (const q of queue) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: q }] });
  if (d.evidence) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${d.evidence.ok ? ':lock:' : ':rotating_light:'} ${d.evidence.summary}` }] });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'From the backup and restore-test registers. `backup-bot digest --json` for the data.' }] });
  return { text: clip(text, 39_000), blocks: blocks.slice(0, 50) };
}

/** The terminal form (no Slack emoji codes or markup; what people and tools wrote shown as written). */
export function renderDigestText(d: Digest): string {
  return readLiteral(renderDigest(d).text
    .replace(/:white_check_mark:/g, '[OK]').replace(/:warning:/g, '[WARN]').replace(/:red_circle:/g, '[RED]')
    .replace(/:x:/g, '[X]').replace(/:bar_chart: /g, '').replace(/\*/g, '').replace(/`/g, ''));
}
