import { renderBackupProgress, renderBackupResult, renderVerifyResult } from '../../../../src/notify/slack/render/backup.js';
import type { BackupResultView } from '../../../../src/operations/views.js';
import { readLiteral } from '../../../../src/notify/slack/literal.js';
import { expectShownLiterally, TYPED } from '../shown-literally.js';

/** Backup and verification messages show names, file names, observations and error texts as data (issue 14 item 5). */

const run = { id: '5', client: 'demo', actor: 'U0OPER', started_at: new Date('2026-03-10T03:00:00Z') } as BackupResultView['run'];

test('progress: the person who launched it and the file name are escaped', () => {
  const m = renderBackupProgress({ client: 'demo', type: 'manual', actorName: TYPED, file: TYPED, destinations: ['local'], runId: '5', actor: 'U0OPER', phase: 'dumping' });
  expectShownLiterally(m);
  expect(readLiteral(m.text)).toContain(`— ${TYPED}`);
});

test('a verified backup: the file, who ran it and a secondary destination\'s error are escaped', () => {
  const m = renderBackupResult({
    ok: true, verified: true, run, durationMs: 2000,
    backup: { file: TYPED, size_bytes: '1000', tables_counted: 4, sha256: 'ab'.repeat(32), type: 'manual', executed_by: TYPED, observations: TYPED },
    locations: [{ destination: 'local', ok: true }, { destination: 's3', ok: false, error: TYPED }],
  }, { timezone: 'UTC' });
  const { mrkdwn } = expectShownLiterally(m);
  expect(readLiteral(m.text)).toContain(`launched by ${TYPED}`);
  expect(mrkdwn.some((t) => readLiteral(t).includes(`❌ s3 — ${TYPED}`))).toBe(true);
});

test('a failed backup: the error (which may quote the database) is escaped', () => {
  const m = renderBackupResult({ ok: false, verified: false, run, durationMs: 2000, error: TYPED, hint: 'check the host', locations: [] }, { timezone: 'UTC' });
  const { mrkdwn } = expectShownLiterally(m);
  expect(readLiteral(m.text)).toContain(`FAILED: ${TYPED} — first check`);
  expect(mrkdwn.some((t) => readLiteral(t) === `*What failed:* ${TYPED}`)).toBe(true);
});

test('an interrupted backup (the bot stopping) is said as interrupted, not as a failure, and the reason is escaped', () => {
  const m = renderBackupResult({ ok: false, verified: false, run, durationMs: 2000, error: TYPED, locations: [], interrupted: true }, { timezone: 'UTC' });
  const { mrkdwn } = expectShownLiterally(m);
  expect(readLiteral(m.text)).toMatch(new RegExp(`^:double_vertical_bar: Backup of \\S+ interrupted: `));
  expect(readLiteral(m.text)).toContain(TYPED);
  expect(m.text).not.toContain('FAILED');
  expect(mrkdwn.some((t) => readLiteral(t).startsWith(`*Why:* ${TYPED}\n`))).toBe(true);
});

test('a verification: the file, the check details and the actor are escaped', () => {
  const m = renderVerifyResult({ ok: false, client: 'demo', file: TYPED, checks: [{ name: 'gzip', ok: false, detail: TYPED }], actor: TYPED });
  expectShownLiterally(m);
  expect(readLiteral(m.text)).toContain(`❌ gzip: ${TYPED}`);
});

test('a pre-change backup: the ticket and the reason are shown, as data (plain_text in the blocks, escaped in the text)', () => {
  const m = renderBackupResult({
    ok: true, verified: true, run, durationMs: 2000,
    backup: { file: 'backup_x.sql.gz', size_bytes: '1000', tables_counted: 4, sha256: 'ab'.repeat(32), type: 'pre-change', executed_by: 'Olga', observations: '', ticket: 'CHG-12', reason: TYPED },
    locations: [{ destination: 'local', ok: true }],
  }, { timezone: 'UTC' });
  const { plain } = expectShownLiterally(m);
  expect(readLiteral(m.text)).toContain(`(pre-change, ticket CHG-12: ${TYPED})`);
  expect(plain.map((p) => p.text)).toEqual(expect.arrayContaining(['CHG-12', TYPED]));
});
