import type { OutMessage } from '../../sink.js';
import { formatBytes, formatDateTime } from '../../../core/time.js';
import { copyStatusText, type ListBackupsResult, type StoredBackup } from '../../../operations/list-backups.js';
import { fitMessage } from '../limits.js';
import { literal } from '../literal.js';

function status(b: StoredBackup): { icon: string; text: string } {
  if (b.missing) return { icon: ':x:', text: 'MISSING from every destination' };
  if (!b.registered) return { icon: ':grey_question:', text: 'not in the register' };
  if (b.result === 'Error') return { icon: ':x:', text: 'failed' };
  return b.verified ? { icon: ':white_check_mark:', text: 'verified' } : { icon: ':warning:', text: 'not verified' };
}

/**
 * The newest stored backups of a client with their register status (one line each), the same listing as
 * `backup-bot list`; destinations that could not be listed are named.
 */
export function renderBackupList(client: string, r: ListBackupsResult, tz: string, limit: number): OutMessage {
  const rows = r.backups.slice(0, limit);
  const problems = r.errors.map((e) => `:warning: cannot list ${e.destination}: ${literal(e.error.slice(0, 300))}`);
  if (rows.length === 0) {
    const text = [`No stored backups of *${client}*. Take one with \`/backup now ${client}\`.`, ...problems].join('\n');
    return { text };
  }
  const lines = rows.map((b) => {
    const s = status(b);
    const when = b.takenAt ? formatDateTime(b.takenAt, tz) : '-';
    const size = b.sizeBytes != null ? formatBytes(b.sizeBytes) : '-';
    const tables = b.tables != null ? ` · ${b.tables} tables` : '';
    const sha = b.sha256 ? ` · sha256 ${b.sha256.slice(0, 12)}` : '';
    const where = b.copies.length ? ` · ${literal(b.copies.map(copyStatusText).join(', '))}` : b.locations.length ? ` · ${b.locations.join(', ')}` : '';
    return `${s.icon} ${when} · ${literal(b.type ?? '-')} · ${literal(b.file)} · ${size}${tables} · ${s.text}${sha}${where}`;
  });
  const head = `*Newest backups of ${client}*${r.backups.length > rows.length ? ` (${rows.length} of ${r.backups.length})` : ''}`;
  const all = [...lines, ...problems];
  const text = `${head}\n${all.join('\n')}`;
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: head } }];
  // Group lines into section blocks under 3000 characters.
  let chunk = '';
  for (const l of all) {
    if (chunk.length + l.length + 1 > 2900) { blocks.push({ type: 'section', text: { type: 'mrkdwn', text: chunk } }); chunk = ''; }
    chunk += (chunk ? '\n' : '') + l;
  }
  if (chunk) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: chunk } });
  return fitMessage({ text, blocks });
}
