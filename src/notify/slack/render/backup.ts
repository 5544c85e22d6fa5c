import type { Config } from '../../../config/schema.js';
import type { OutMessage } from '../../sink.js';
import type { BackupLocation } from '../../../store/backup-register.js';
import type { BackupProgressView, BackupResultView, VerifyResultView } from '../../../operations/views.js';
import { formatDuration } from '../../../config/duration.js';
import { formatBytes, formatDateTime } from '../../../core/time.js';
import { redactSecrets } from '../../../core/redact.js';
import { code, literal, typedFields } from '../literal.js';

const PHASE_TEXT: Record<string, string> = {
  started: 'starting',
  dumping: 'dumping the database (streaming to every destination)',
  uploading: 'finishing the uploads (files archives, manifest)',
  verifying: 'reading the primary copy back to verify it',
  done: 'done',
  failed: 'failed',
};

const cut = (s: string, n = 2900) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text: cut(redactSecrets(text)) } });
const context = (text: string) => ({ type: 'context', elements: [{ type: 'mrkdwn', text: cut(redactSecrets(text)) }] });

/** The live message while a backup runs (one message, updated per phase). */
export function renderBackupProgress(d: BackupProgressView): OutMessage {
  const phase = d.phase;
  const steps = ['started', 'dumping', 'uploading', 'verifying'];
  const at = steps.indexOf(phase);
  const line = steps.map((s, i) => `${i < at ? '✅' : i === at ? '⏳' : '▫️'} ${s}`).join('  ');
  const who = literal(d.actorName ?? d.actor);
  const text = `:floppy_disk: Backup of ${d.client} (${d.type}) — ${PHASE_TEXT[phase] ?? phase}${d.file ? ` — ${literal(d.file)}` : ''}`;
  return {
    text: redactSecrets(text),
    blocks: [
      section(`*Backup of \`${d.client}\`* (${d.type}) — ${PHASE_TEXT[phase] ?? phase}`),
      section(line),
      context([`launched by ${who}`, d.file ? `file ${code(d.file)}` : '', d.destinations?.length ? `to ${d.destinations.join(', ')}` : '', `run ${d.runId}`].filter(Boolean).join(' · ')),
    ],
  };
}

function locationsText(locations: BackupLocation[]): string {
  return locations.map((l) => `${l.ok ? '✅' : '❌'} ${l.destination}${l.ok ? '' : l.error ? ` — ${literal(l.error)}` : ''}`).join('\n');
}

/** A pre-change backup's ticket and reason (SOP-001 §7.1): what people typed, as plain_text. */
function preChangeBlocks(b: BackupResultView['backup']): unknown[] {
  if (!b?.ticket) return [];
  const f = typedFields([['*Ticket:*', b.ticket], ['*Reason:*', b.reason]]);
  return f ? [f] : [];
}

/** The final message: file, size, tables, sha256 (12), duration, destinations, verified, who; or what failed and what to check first. */
export function renderBackupResult(o: BackupResultView, config: Pick<Config, 'timezone'>): OutMessage {
  const b = o.backup;
  const client = o.run.client ?? '?';
  const who = literal(b?.executed_by ?? o.run.actor);
  const when = formatDateTime(o.run.started_at, config.timezone);
  if (o.ok && o.verified) {
    const secondaryFailed = o.locations.some((l) => !l.ok);
    const head = `${secondaryFailed ? ':warning:' : ':white_check_mark:'} Backup of ${client} OK and verified${secondaryFailed ? ' (a secondary destination failed)' : ''}`;
    const fields = [
      `*File:* ${code(b?.file ?? '?')}`,
      `*Size:* ${formatBytes(b?.size_bytes)}`,
      `*Tables:* ${b?.tables_counted ?? '?'}`,
      `*sha256:* \`${(b?.sha256 ?? '').slice(0, 12)}\``,
      `*Duration:* ${formatDuration(o.durationMs)}`,
      `*Verified:* yes (primary copy read back)`,
    ];
    const text = `${head}${b?.ticket ? ` (pre-change, ticket ${literal(b.ticket)}: ${literal(b.reason ?? '')})` : ''}: ${literal(b?.file ?? '')}, ${formatBytes(b?.size_bytes)}, ${b?.tables_counted ?? '?'} tables, sha256 ${(b?.sha256 ?? '').slice(0, 12)}, ${formatDuration(o.durationMs)}, destinations: ${o.locations.map((l) => `${l.destination} ${l.ok ? 'ok' : 'FAILED'}`).join(', ')}; launched by ${who}`;
    return {
      text: redactSecrets(text),
      blocks: [
        section(`*${head}*`),
        { type: 'section', fields: fields.map((f) => ({ type: 'mrkdwn', text: cut(redactSecrets(f), 1900) })) },
        section(`*Destinations:*\n${locationsText(o.locations)}`),
        ...preChangeBlocks(b),
        context(`${b?.type ?? ''} backup launched by ${who} · ${when} · run ${o.run.id}`),
      ],
    };
  }
  if (o.interrupted) return renderBackupInterrupted(o, client, who, when);
  const what = o.ok && !o.verified ? 'stored but NOT verified' : 'FAILED';
  const error = literal(o.error ?? 'unknown error');
  const text = `:x: Backup of ${client} ${what}: ${error}${o.hint ? ` — first check: ${o.hint}` : ''} (launched by ${who}, run ${o.run.id})`;
  const blocks: unknown[] = [
    section(`*:x: Backup of \`${client}\` ${what}*`),
    section(`*What failed:* ${error}`),
  ];
  if (o.hint) blocks.push(section(`*First thing to check:* ${o.hint}`));
  if (o.locations.length) blocks.push(section(`*Destinations:*\n${locationsText(o.locations)}`));
  blocks.push(context(`${b?.type ?? ''} backup launched by ${who} · ${when} · ${formatDuration(o.durationMs)} · run ${o.run.id}`));
  return { text: cut(redactSecrets(text), 3000), blocks };
}

/**
 * A backup cancelled from outside (the bot stopping, a cancel) is not a failure of the backup: its run is marked
 * interrupted, nothing is kept under the final name, and a scheduled one is taken again by the work queue while
 * it has attempts left. Said so, without the red cross a failure gets.
 */
function renderBackupInterrupted(o: BackupResultView, client: string, who: string, when: string): OutMessage {
  const why = literal(o.error ?? 'cancelled');
  const text = `:double_vertical_bar: Backup of ${client} interrupted: ${why}. Nothing was kept under its final name; a scheduled backup is taken again while it has attempts left (workers.attempts). (launched by ${who}, run ${o.run.id})`;
  return {
    text: cut(redactSecrets(text), 3000),
    blocks: [
      section(`*:double_vertical_bar: Backup of \`${client}\` interrupted*`),
      section(`*Why:* ${why}\nNothing was kept under its final name. A scheduled backup is taken again by the work queue while it has attempts left (\`workers.attempts\`); otherwise run it again.`),
      context(`${o.backup?.type ?? ''} backup launched by ${who} · ${when} · ${formatDuration(o.durationMs)} · run ${o.run.id}`),
    ],
  };
}

/** The result of `verify` (SOP 8.2 read-back of a stored backup). */
export function renderVerifyResult(v: VerifyResultView): OutMessage {
  const head = `${v.ok ? ':white_check_mark:' : ':x:'} Verification of ${v.client} backup ${literal(v.file)}: ${v.ok ? 'OK' : 'FAILED'}`;
  const lines = v.checks.map((c) => `${c.ok ? '✅' : '❌'} ${literal(c.name)}: ${literal(c.detail)}`).join('\n');
  return { text: cut(redactSecrets(`${head}\n${lines}`), 3000), blocks: [section(`*${head}*`), section(lines), context(`launched by ${literal(v.actor)}`)] };
}
