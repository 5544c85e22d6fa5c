import { renderRestoreTest, renderRestoreTestAlert } from '../../../../src/notify/slack/render/restore-test.js';
import type { RestoreTestView } from '../../../../src/operations/views.js';
import { readLiteral } from '../../../../src/notify/slack/literal.js';
import { expectShownLiterally, TYPED } from '../shown-literally.js';

/** The restore-test message and its S2 alert show people's names, check details and errors as data (issue 14 item 5). */

function view(o: Partial<RestoreTestView> = {}): RestoreTestView {
  return {
    client: 'demo', runId: '41', backupFile: `backup_${TYPED}.sql.gz`, backupTakenAt: new Date('2026-03-09T03:00:00Z'), image: 'postgres:15',
    actorName: TYPED, timezone: 'UTC', plan: [{ name: 'provisioning', label: 'Start a staging container' }, { name: 'restoring', label: 'Restore' }],
    step: 'restoring', reached: ['provisioning', 'restoring'], rtoMs: 4 * 3_600_000, ...o,
  };
}

test('while running: who started it and the file are escaped', () => {
  const m = renderRestoreTest(view());
  expectShownLiterally(m);
});

test('the result: the error, each check name and detail, and the QA verifier\'s name are escaped', () => {
  const m = renderRestoreTest(view({
    step: 'failed', result: {
      ok: false, error: TYPED, failedStep: 'restoring', registerId: '9', restoreMs: 60_000, totalMs: 90_000,
      checks: [{ name: TYPED, ok: false, detail: TYPED }, { name: 'row counts', ok: true }],
      verifiedByQa: { name: TYPED, at: new Date('2026-03-10T10:00:00Z') }, observations: TYPED,
    },
  }), { qaAction: 'qa_verified' });
  const { mrkdwn } = expectShownLiterally(m);
  expect(readLiteral(m.text)).toContain(`Reason: ${TYPED}`);
  expect(readLiteral(m.text)).toContain(`❌ ${TYPED}: ${TYPED}`);
  expect(readLiteral(m.text)).toContain(`Verified by QA: ${TYPED}`);
  expect(mrkdwn.some((t) => readLiteral(t).includes(`Verificado por (QA): ${TYPED} at`))).toBe(true);
});

test('the S2 alert: the error and the file are escaped in the text and the blocks', () => {
  const m = renderRestoreTestAlert({ client: 'demo', backupFile: TYPED, failedStep: 'restoring', error: TYPED, runId: '41', severity: 'S2' }, { mentions: '' });
  const { mrkdwn } = expectShownLiterally(m);
  expect(readLiteral(m.text)).toContain(`(backup ${TYPED}): ${TYPED}`);
  expect(readLiteral(mrkdwn[1]!)).toContain(`*Reason:* ${TYPED}`);
});
