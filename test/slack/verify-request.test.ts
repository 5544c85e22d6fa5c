import type { IncomingHttpHeaders } from 'node:http';
import { futureTimestamp, refusalReason } from '../../src/slack/verify-request.js';
import { slackSignature } from './sign.js';

/**
 * The one check of ours beside Bolt's verification (whose refusals test/slack/http.test.ts sends
 * through the real receiver): timestamps more than 5 minutes ahead. And the reason given for a
 * request Bolt refused.
 */
const now = 1_700_000_000;

describe('futureTimestamp', () => {
  test('accepts timestamps up to 5 minutes ahead, and any past one (Bolt judges those)', () => {
    for (const ts of [now, now + 299, now + 300, now - 299, now - 10_000]) expect(futureTimestamp(String(ts), now)).toBeUndefined();
  });
  test('refuses a timestamp more than 5 minutes ahead, read as Bolt reads it', () => {
    expect(futureTimestamp(String(now + 301), now)).toContain('request from the future (timestamp 301 s ahead');
    expect(futureTimestamp(String(now + 86_400 * 365), now)).toContain('from the future');
    expect(futureTimestamp(` ${now + 400}`, now)).toContain('from the future');
  });
  test('leaves missing or malformed headers to Bolt (which refuses them)', () => {
    expect(futureTimestamp(undefined, now)).toBeUndefined();
    expect(futureTimestamp('tomorrow', now)).toBeUndefined();
    expect(futureTimestamp(['1', '2'], now)).toBeUndefined();
  });
});

describe('refusalReason (why Bolt answered 401)', () => {
  const h = (o: Record<string, string>): IncomingHttpHeaders => o;
  const sig = slackSignature('s3cret', now, 'command=%2Fbackup');
  test('names a missing header, a stale timestamp, otherwise a signature mismatch', () => {
    expect(refusalReason(h({ 'x-slack-request-timestamp': String(now) }), now)).toBe('missing x-slack-signature header');
    expect(refusalReason(h({ 'x-slack-signature': sig }), now)).toBe('missing x-slack-request-timestamp header');
    expect(refusalReason(h({ 'x-slack-signature': sig, 'x-slack-request-timestamp': 'yesterday' }), now)).toContain('malformed');
    expect(refusalReason(h({ 'x-slack-signature': sig, 'x-slack-request-timestamp': String(now - 301) }), now)).toContain('stale request (timestamp 301 s old');
    expect(refusalReason(h({ 'x-slack-signature': sig, 'x-slack-request-timestamp': String(now) }), now)).toBe('signature mismatch');
  });
});
