import type { OutMessage } from '../notifier.js';
import { formatBytes, formatDateTime } from '../../core/time.js';
import type { BackupRow } from '../../store/backup-register.js';
import { fitMessage } from '../limits.js';

/** The newest backups of a client with their verification status (one line each). */
export function renderBackupList(client: string, rows: BackupRow[], tz: string, total?: number): OutMessage {
  if (rows.length === 0) return { text: `No backups of *${client}* in the register yet. Take one with \`/backup now ${client}\`.` };
  const lines = rows.map((b) => {
    const icon = b.result !== 'OK' ? ':x:' : b.verified ? ':white_check_mark:' : ':warning:';
    const status = b.result !== 'OK' ? `failed${b.observations ? `: ${b.observations.slice(0, 200)}` : ''}` : b.verified ? 'verified' : 'not verified';
    const where = b.locations.map((l) => `${l.destination}${l.ok ? '' : ' (failed)'}`).join(', ');
    return `${icon} ${formatDateTime(new Date(b.taken_at), tz)} · ${b.type} · ${b.file ?? '-'} · ${formatBytes(b.size_bytes)} · ${status}${b.sha256 ? ` · sha256 ${b.sha256.slice(0, 12)}` : ''}${where ? ` · ${where}` : ''}`;
  });
  const head = `*Newest backups of ${client}*${total !== undefined && total > rows.length ? ` (${rows.length} of ${total})` : ''}`;
  const text = `${head}\n${lines.join('\n')}`;
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: head } }];
  // Group lines into section blocks under 3000 characters.
  let chunk = '';
  for (const l of lines) {
    if (chunk.length + l.length + 1 > 2900) { blocks.push({ type: 'section', text: { type: 'mrkdwn', text: chunk } }); chunk = ''; }
    chunk += (chunk ? '\n' : '') + l;
  }
  if (chunk) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: chunk } });
  return fitMessage({ text, blocks });
}
