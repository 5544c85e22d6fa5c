import {
  renderIntegritySummary, renderJobFailedAlert, renderRestoreFailedAlert, renderRestoreInterrupted, renderRunInterrupted,
} from '../../../../src/notify/slack/render/notices.js';
import type { ApprovalRow } from '../../../../src/store/approvals.js';
import { readLiteral } from '../../../../src/notify/slack/literal.js';
import { expectShownLiterally, TYPED } from '../shown-literally.js';

/** Alerts and notices quote error texts and step names as data; the people they page are still mentioned (issue 14 item 5). */

test('a failed production restore: the summary (with the error) is escaped, the mentions stay', () => {
  const m = renderRestoreFailedAlert({ client: 'demo', approvalId: '7', step: TYPED, summary: TYPED }, '<@U0OPER> <@U0SYSOWN>');
  expectShownLiterally(m);
  expect(m.text).toMatch(/<@U0OPER> <@U0SYSOWN>$/);
  expect(readLiteral(m.text)).toContain(`(request #7). ${TYPED}`);
});

test('a failed scheduled job: the error is escaped', () => {
  const m = renderJobFailedAlert({ client: 'demo', job: 'backup', runId: '5', error: TYPED }, '<@U0OPER>');
  expectShownLiterally(m);
  expect(readLiteral(m.text)).toContain(`(run 5): ${TYPED}\n<@U0OPER>`);
});

test('an interrupted run and an interrupted restore: step and database names are escaped', () => {
  expectShownLiterally(renderRunInterrupted({ client: 'demo', runKind: 'backup', runId: '5', startedAt: new Date('2026-03-10T03:00:00Z'), step: TYPED }, 'UTC'));
  const m = renderRestoreInterrupted({ id: '7', client: 'demo', last_step: TYPED, old_database: 'demo_old_20260310', restore_database: TYPED } as ApprovalRow);
  expectShownLiterally(m);
  expect(m.text).toContain('kept as `demo_old_20260310`');
});

test('the monthly integrity summary: each error is escaped', () => {
  const m = renderIntegritySummary([{ client: 'demo', ok: false, error: TYPED, runId: '5' }, { client: 'other', ok: true }]);
  expectShownLiterally(m);
  expect(readLiteral(m.text)).toContain(`FAILED — ${TYPED} (run 5)`);
});
