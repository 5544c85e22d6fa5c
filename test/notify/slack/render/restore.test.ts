import {
  approveModal, backupOptionLabel, impactLines, rejectModal, renderRestoreDecided, renderRestoreRequest, renderRunbook, restoreRequestModal,
} from '../../../../src/notify/slack/render/restore.js';
import type { ApprovalRow } from '../../../../src/store/approvals.js';
import type { BackupRow } from '../../../../src/store/backup-register.js';
import { readLiteral } from '../../../../src/notify/slack/literal.js';
import { expectShownLiterally, textObjects, TYPED } from '../shown-literally.js';

/** Production-restore messages and modals show what people typed as data (issue 14 item 5). */

const TZ = 'UTC';
// The bot's own mentions use other IDs than the <@U0OWNER> in TYPED, so that any <@U0OWNER> found came from typed text.

function approval(o: Partial<ApprovalRow> = {}): ApprovalRow {
  return {
    id: '7', client: 'demo', scope: 'full', strategy: 'swap', tables: [], backup_id: '3', backup_key: 'backups/demo/backup_2026-03-09_03-00-00.sql.gz',
    backup_file: 'backup_2026-03-09_03-00-00.sql.gz', backup_sha256: 'ab'.repeat(32), backup_taken_at: new Date('2026-03-09T03:00:00Z'),
    reason: TYPED, ticket: TYPED, planned_start: null,
    checklist: [{ item: 'Users notified', confirmed: true }],
    impact: { dataLossText: '1 d 9 h', rows: [{ table: 'lotes', backup: 10, production: 12, difference: 2 }], rowsNote: `production not reachable: ${TYPED}`, expectedDowntimeMinutes: 13, rtoMinutes: 240, withinRto: true },
    requested_by: 'U0OPER', requested_by_name: TYPED, requested_at: new Date('2026-03-10T12:00:00Z'), expires_at: new Date('2026-03-11T12:00:00Z'),
    request_hash: 'cd'.repeat(32), status: 'pending',
    decided_by: null, decided_by_name: null, decided_role: null, decided_at: null, meaning: null, statement: null, signature_hash: null, reject_reason: null,
    last_step: null, run_id: null, slack_channel: 'C0DEMO', slack_ts: '1.1', started_by: null, started_by_name: null, started_at: null, finished_at: null,
    error: null, steps: [], pre_restore_backup_id: null, restore_database: null, old_database: null, old_database_drop_after: null,
    old_database_dropped_at: null, register_id: null, runbook_instance: null, runbook_message_channel: null, runbook_message_ts: null,
    ...o,
  } as ApprovalRow;
}

const fieldValue = (blocks: unknown[] | undefined, label: string): unknown => {
  for (const b of (blocks ?? []) as Array<{ fields?: Array<{ type: string; text: string }> }>) {
    const i = (b.fields ?? []).findIndex((f) => f.type === 'mrkdwn' && f.text === label);
    if (i >= 0) return b.fields![i + 1];
  }
  return undefined;
};

test('the request: reason and ticket verbatim in plain_text, the requester\'s name escaped in the notification text', () => {
  const m = renderRestoreRequest(approval(), { approvers: ['U0SYSOWN'], roleLabel: 'System Owner', timezone: TZ, buttons: { approve: 'approve_restore', reject: 'reject_restore' } });
  expectShownLiterally(m);
  expect(fieldValue(m.blocks, '*Reason:*')).toEqual({ type: 'plain_text', text: TYPED, emoji: false });
  expect(fieldValue(m.blocks, '*Ticket:*')).toEqual({ type: 'plain_text', text: TYPED, emoji: false });
  expect(m.text).toContain('&lt;!channel&gt;');
  expect(readLiteral(m.text)).toContain(`requested by ${TYPED}:`);
  // The bot's own mentions still work: the requester and the approvers are called.
  expect(JSON.stringify(m.blocks)).toContain('<@U0OPER>');
  expect(m.text).toContain('<@U0SYSOWN>');
});

test('a partial request: table names as inline code that cannot be closed early', () => {
  const m = renderRestoreRequest(approval({ scope: 'partial', strategy: 'partial', tables: ['lot_movements', 'x`<!channel>`'] }), { approvers: [], roleLabel: 'IT Manager', timezone: TZ });
  expectShownLiterally(m);
  const head = textObjects(m.blocks)[0]!.text;
  expect(head).toContain('`lot_movements`, `x\u02CB&lt;!channel&gt;\u02CB`');
});

test('impact lines (also shown in the approve modal): the production error text is escaped', () => {
  const lines = impactLines(approval(), TZ).join('\n');
  expect(lines).not.toContain('<!channel>');
  expect(readLiteral(lines)).toContain(`production not reachable: ${TYPED}`);
});

test('the decision: approver\'s name escaped, the rejection reason and the signed statement verbatim', () => {
  const statement = `I, ${TYPED}, System Owner of demo, reject restoring ... Reason: ${TYPED}`;
  const m = renderRestoreDecided(approval({
    status: 'rejected', meaning: 'rejected', decided_by: 'U0SYSOWN', decided_by_name: TYPED, decided_role: 'System Owner',
    decided_at: new Date('2026-03-10T13:00:00Z'), reject_reason: TYPED, statement, decision_key_id: '0123456789abcdef', decision_signature: 'ef'.repeat(32),
  }), { timezone: TZ });
  const { plain } = expectShownLiterally(m);
  expect(fieldValue(m.blocks, '*Reason:*')).toEqual({ type: 'plain_text', text: TYPED, emoji: false });
  expect(fieldValue(m.blocks, '*Rejection reason:*')).toEqual({ type: 'plain_text', text: TYPED, emoji: false });
  expect(plain.find((p) => p.text.includes(statement))).toMatchObject({ emoji: false });
  expect(readLiteral(m.text)).toContain(`rejected by ${TYPED} at`);
  expect(m.text).not.toContain('<');
});

test('the approved decision and its Start button', () => {
  const m = renderRestoreDecided(approval({
    status: 'approved', meaning: 'approved', decided_by: 'U0SYSOWN', decided_by_name: TYPED, decided_role: 'System Owner',
    decided_at: new Date('2026-03-10T13:00:00Z'), statement: `I, ${TYPED}, approve`, decision_key_id: '0123456789abcdef', decision_signature: 'ef'.repeat(32),
  }), { timezone: TZ, startButton: 'start_restore' });
  expectShownLiterally(m);
  expect(JSON.stringify(m.blocks)).toContain('start_restore');
  expect(readLiteral(textObjects(m.blocks).map((t) => t.text).join('\n'))).toContain(`*Approved* by ${TYPED} (<@U0SYSOWN>, System Owner)`);
});

test('the runbook: step notes, the error and the approver\'s name escaped', () => {
  const a = approval({ status: 'failed', decided_by_name: TYPED, steps: [
    { at: '2026-03-10T13:00:00Z', step: 'notify_users', status: 'done' },
    { at: '2026-03-10T13:01:00Z', step: 'restore', status: 'failed', note: TYPED },
    { at: '2026-03-10T13:02:00Z', step: 'rename_back', status: 'done', note: TYPED },
  ] });
  const m = renderRunbook({ approval: a, plan: [{ name: 'notify_users', label: 'Notify the users' }, { name: 'restore', label: 'Restore' }], steps: a.steps, status: 'failed', error: TYPED }, { timezone: TZ });
  const { mrkdwn } = expectShownLiterally(m);
  expect(readLiteral(m.text)).toContain(`failed — ${TYPED}`);
  expect(mrkdwn.filter((t) => readLiteral(t).includes(TYPED)).length).toBeGreaterThanOrEqual(4);
});

test('the approve modal: the statement verbatim in plain_text; the reject modal has no typed text', () => {
  const statement = `I, ${TYPED}, System Owner of demo, approve restoring the production database of demo`;
  const view = approveModal({ callbackId: 'approve_view', approvalId: '7', client: 'demo', statement, roleLabel: 'System Owner', impact: impactLines(approval(), TZ) });
  const { plain } = expectShownLiterally(view);
  expect(plain.find((p) => p.text.includes(statement))).toMatchObject({ emoji: false });
  const reject = rejectModal({ callbackId: 'reject_view', approvalId: '7', client: 'demo' });
  expect(JSON.stringify(reject)).not.toContain('<');
});

test('the request modal: a backup file name is an option label in plain_text without emoji codes', () => {
  const file = 'backup_:x:_<!channel>.sql.gz';
  const b = { id: '3', taken_at: new Date('2026-03-09T03:00:00Z'), type: 'manual', size_bytes: '1000', file, format: 'plain' } as BackupRow;
  const view = restoreRequestModal({ callbackId: 'restore_request', client: 'demo', backups: [b], checklist: [{ id: 'notified', text: 'Users notified' }], timezone: TZ });
  const option = textObjects(view).find((t) => t.text.includes(file));
  expect(option).toMatchObject({ type: 'plain_text', emoji: false });
  for (const m of textObjects(view).filter((t) => t.type === 'mrkdwn')) expect(m.text).not.toContain('<!channel>');
});

test('the request modal: a MySQL client\'s plain backups allow chosen tables (issue 22); a PostgreSQL plain backup does not', () => {
  const b = (engine: string) => ({ id: '3', taken_at: new Date('2026-03-09T03:00:00Z'), type: 'manual', size_bytes: '1000', file: 'backup.sql.gz', format: 'plain', engine } as BackupRow);
  const text = (engine: string) => JSON.stringify(restoreRequestModal({ callbackId: 'restore_request', client: 'demo', backups: [b(engine)], checklist: [], timezone: TZ }));
  expect(text('mysql')).toContain('Chosen tables (IT Manager approval)');
  expect(text('mysql')).not.toContain('only a full restore is possible');
  expect(text('postgres')).toContain('No custom-format backup: only a full restore is possible');
});

test('a backup option: the full SOP file name, type and size; what does not fit in 75 characters goes, never the name (issue 18 item 7)', () => {
  const b = (file: string, type = 'scheduled', size = '12345678') => ({ file, key: `demo/${file}`, type, size_bytes: size }) as BackupRow;
  expect(backupOptionLabel(b('backup_2026-11-28_06-25-01.sql.gz'))).toBe('backup_2026-11-28_06-25-01.sql.gz · scheduled · 11.8 MB');
  expect(backupOptionLabel(b('backup_2026-11-28_06-25-01_2.sql.gz.age', 'pre-restore'))).toBe('backup_2026-11-28_06-25-01_2.sql.gz.age · pre-restore · 11.8 MB');
  const long = `backup_2026-11-28_06-25-01${'_x'.repeat(12)}.sql.gz`;
  expect(backupOptionLabel(b(long, 'pre-restore'))).toBe(`${long} · pre-restore`);
  expect(backupOptionLabel(b(long, 'pre-restore')).length).toBeLessThanOrEqual(75);
  const view = restoreRequestModal({ callbackId: 'restore_request', client: 'demo', backups: [{ ...b('backup_2026-11-28_06-25-01.sql.gz'), id: '9', taken_at: new Date(), format: 'plain' } as BackupRow], checklist: [], timezone: TZ });
  expect(JSON.stringify(view)).toContain('"text":"backup_2026-11-28_06-25-01.sql.gz · scheduled · 11.8 MB"');
});
