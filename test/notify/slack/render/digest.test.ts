import { renderDigest, renderDigestText } from '../../../../src/notify/slack/render/digest.js';
import type { Digest, DigestClient } from '../../../../src/operations/views.js';
import { readLiteral } from '../../../../src/notify/slack/literal.js';
import { expectShownLiterally, TYPED } from '../shown-literally.js';

/** The digest shows each client's problems as data (issue 14 item 5); the terminal form shows them as written. */

function client(o: Partial<DigestClient> = {}): DigestClient {
  return {
    client: 'demo', status: 'warning', problems: [TYPED, '1 open alert'], lastVerified: null, sizes: [], sparkline: '', medianBytes: null, sizeDrop: false,
    rpo: { rpo: '7d', ok: true }, restoreTest: { last: null, thisQuarter: '2026-Q1', thisQuarterDone: false, nextDue: null, overdue: false },
    pendingApprovals: 0, failures24h: 0, failuresByKind: {}, openAlerts: 1, ...o,
  };
}

test('problems are escaped in the Slack digest and read back in the terminal digest', () => {
  const d: Digest = { generatedAt: '2026-03-10T07:00:00Z', timezone: 'UTC', clients: [client()] };
  const m = renderDigest(d);
  expectShownLiterally(m);
  expect(readLiteral(m.text)).toContain(`— ${TYPED}; 1 open alert`);
  // The terminal strips the bot's own markup but prints what was written, asterisks and backticks included.
  expect(renderDigestText(d)).toContain(`demo — ${TYPED}; 1 open alert`);
});

test('many clients (one line each): still escaped', () => {
  const d: Digest = { generatedAt: '2026-03-10T07:00:00Z', timezone: 'UTC', clients: Array.from({ length: 50 }, (_, i) => client({ client: `c${i}` })) };
  expectShownLiterally(renderDigest(d));
});
