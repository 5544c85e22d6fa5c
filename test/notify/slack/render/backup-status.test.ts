import { renderBackupStatus } from '../../../../src/notify/slack/render/backup-status.js';
import type { ClientStatus } from '../../../../src/operations/client-status.js';
import type { BackupRow } from '../../../../src/store/backup-register.js';
import type { RestoreTestRow } from '../../../../src/store/restore-test-register.js';
import { readLiteral } from '../../../../src/notify/slack/literal.js';
import { expectShownLiterally, TYPED } from '../shown-literally.js';

/** `/backup status` shows file names, a failed attempt's observations and the QA verifier's name as data (issue 14 item 5). */

test('file name, observations, running step and QA name are escaped in the text and the blocks', () => {
  const now = new Date('2026-03-10T12:00:00Z');
  const lastOk = { taken_at: new Date('2026-03-10T03:00:00Z'), file: TYPED, size_bytes: '1000', verified: true, result: 'OK' } as BackupRow;
  const lastAttempt = { taken_at: new Date('2026-03-10T09:00:00Z'), result: 'Error', observations: TYPED } as BackupRow;
  const lastTest = { tested_at: new Date('2026-02-01T10:00:00Z'), quarter: '2026-Q1', result: 'OK', verified_by_qa: TYPED } as RestoreTestRow;
  const s: ClientStatus = {
    client: 'demo', rpoMs: 7 * 86_400_000, rpoText: '7d', lastOk, lastAttempt, lastTest, quarter: '2026-Q1', doneThisQuarter: true,
    due: null, running: { kind: 'backup', step: TYPED },
  };
  const m = renderBackupStatus([s], now, 'UTC');
  expectShownLiterally(m);
  const text = readLiteral(m.text);
  expect(text).toContain(`failed: ${TYPED}`);
  expect(text).toContain(`QA verified by ${TYPED}`);
  expect(text).toContain(`(step ${TYPED})`);
});
