import { renderBackupList } from '../../../../src/notify/slack/render/backup-list.js';
import type { StoredBackup } from '../../../../src/operations/list-backups.js';
import { readLiteral } from '../../../../src/notify/slack/literal.js';
import { expectShownLiterally, TYPED } from '../shown-literally.js';

/** `/backup list` shows file names found in storage and storage errors as data (issue 14 item 5). */

const stored = (file: string): StoredBackup => ({
  key: `demo/${file}`, file, takenAt: new Date('2026-03-10T03:00:00Z'), type: 'manual', sizeBytes: 1000, tables: 3, sha256: 'ab'.repeat(32),
  verified: false, verifiedAt: null, result: null, locations: ['local'], copies: [], registered: false, missing: false, backupId: null,
});

test('a file planted in storage and a destination\'s error are escaped', () => {
  const m = renderBackupList('demo', { backups: [stored(TYPED)], errors: [{ destination: 's3', error: TYPED }] }, 'UTC', 10);
  expectShownLiterally(m);
  const text = readLiteral(m.text);
  expect(text).toContain(`· ${TYPED} · `);
  expect(text).toContain(`cannot list s3: ${TYPED}`);
});

test('no backups, only a destination\'s error: escaped too', () => {
  const m = renderBackupList('demo', { backups: [], errors: [{ destination: 's3', error: TYPED }] }, 'UTC', 10);
  expectShownLiterally(m);
});
