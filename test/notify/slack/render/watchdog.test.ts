import { renderAlertOpened, renderAlertResolved, renderAlertResolvedNotice } from '../../../../src/notify/slack/render/watchdog.js';
import type { AlertRow, WatchdogStatus } from '../../../../src/operations/views.js';
import { readLiteral } from '../../../../src/notify/slack/literal.js';
import { expectShownLiterally, TYPED } from '../shown-literally.js';

/** The watchdog's S2 alert quotes the last run's error and names backups by key, as data (issue 14 item 5). */

const status = (o: Partial<WatchdogStatus> = {}): WatchdogStatus => ({
  client: 'demo', lastVerified: { id: '3', key: TYPED, takenAt: new Date('2026-03-01T03:00:00Z'), ageMs: 9 * 86_400_000 },
  lastRun: { id: '5', status: 'failed', error: TYPED, startedAt: new Date('2026-03-10T03:00:00Z') }, since: null,
  intervalMs: 86_400_000, graceMs: 3_600_000, rpoMs: 7 * 86_400_000, stale: true, failed: true, rpoBreach: true, ...o,
});

test('opened: the run\'s error is escaped, the people paged are mentioned', () => {
  const m = renderAlertOpened(status(), { schedule: '0 3 * * *', rpo: '7d', mentions: '<@U0OPER>', timezone: 'UTC' });
  expectShownLiterally(m);
  expect(m.text).toContain('<@U0OPER>');
  expect(readLiteral(m.text)).toContain(`: ${TYPED}`);
});

test('resolved: the backup key is escaped in the edited alert and the notice', () => {
  const alert = { id: '1', client: 'demo', kind: 'backup', opened_at: new Date('2026-03-10T04:00:00Z') } as AlertRow;
  const now = new Date('2026-03-10T06:00:00Z');
  expectShownLiterally(renderAlertResolved(alert, status(), { timezone: 'UTC', now }));
  expectShownLiterally(renderAlertResolvedNotice('demo', [alert], status(), { timezone: 'UTC', now }));
});
