import {
  renderIntegritySummary, renderJobFailedAlert, renderRestoreFailedAlert, renderRestoreInterrupted, renderRunInterrupted,
} from '../../../../src/notify/slack/render/notices.js';
import * as notices from '../../../../src/notify/slack/render/notices.js';
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

test('issue 17 alerts: a failed check, a resolved alert and a QA request show tool-made and typed text as data', () => {
  const { renderCheckFailedAlert, renderAlertCleared, renderQaRequested } = notices;
  const failed = renderCheckFailedAlert({ client: 'demo', check: 'retention', error: TYPED, severity: 'S2', incidentId: '4' }, { mentions: '<@U0OPER>', incidentAction: 'record_incident' });
  expectShownLiterally(failed);
  expect(readLiteral(failed.text)).toContain(`failed*: ${TYPED}`);
  expect(failed.text).toContain('<@U0OPER>');
  const alert = { id: '1', client: 'demo', kind: 'retention', severity: 'S2', message: TYPED, opened_at: new Date('2026-03-10T03:00:00Z'), resolved_at: null, slack_channel: 'C', slack_ts: '1.2', details: {}, resolved_message: null, incident_id: '4' } as const;
  for (const notice of [false, true]) {
    const m = renderAlertCleared({ client: 'demo', alert: { ...alert }, message: TYPED, now: new Date('2026-03-10T05:00:00Z'), notice }, { timezone: 'UTC', incidentAction: 'record_incident' });
    expectShownLiterally(m);
    expect(readLiteral(m.text)).toContain(TYPED);
  }
  const qa = renderQaRequested({ client: 'demo', registerId: '9', environment: 'Test', quarter: '2026-Q1', backupFile: TYPED, testedAt: new Date('2026-03-10T05:00:00Z'), approvalId: null, reminder: false }, { mentions: '<@U0QA>', timezone: 'UTC', qaAction: 'qa_verified' });
  expectShownLiterally(qa);
  expect(JSON.stringify(qa.blocks)).toContain('"action_id":"qa_verified","value":"9"');
});
