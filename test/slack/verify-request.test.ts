import { verifySlackSignature } from '../../src/slack/verify-request.js';
import { slackSignature } from './sign.js';

const secret = 's3cret';
const body = Buffer.from('command=%2Fbackup&text=now+demo');
const now = 1_700_000_000;

function check(o: { ts?: string; sig?: string; raw?: Buffer }) {
  return verifySlackSignature({ signingSecret: secret, rawBody: o.raw ?? body, timestamp: o.ts, signature: o.sig, nowSeconds: now });
}

describe('verifySlackSignature', () => {
  test('accepts a request signed as Slack does, within 5 minutes either way', () => {
    for (const ts of [now, now - 299, now + 299]) expect(check({ ts: String(ts), sig: slackSignature(secret, ts, body.toString()) })).toEqual({ ok: true });
  });
  test('refuses a forged signature, another body, another secret', () => {
    expect(check({ ts: String(now), sig: slackSignature('other', now, body.toString()) })).toMatchObject({ ok: false, reason: 'signature mismatch' });
    expect(check({ ts: String(now), sig: slackSignature(secret, now, body.toString()), raw: Buffer.from('command=%2Fbackup&text=now+prod') })).toMatchObject({ ok: false });
    expect(check({ ts: String(now), sig: 'v0=' + '0'.repeat(64) })).toMatchObject({ ok: false, reason: 'signature mismatch' });
    expect(check({ ts: String(now), sig: 'v1=abc' })).toMatchObject({ ok: false });
  });
  test('refuses stale (> 5 min old) and future (> 5 min ahead) timestamps even when correctly signed', () => {
    const old = now - 301;
    expect(check({ ts: String(old), sig: slackSignature(secret, old, body.toString()) })).toMatchObject({ ok: false, reason: expect.stringContaining('stale') });
    const future = now + 301;
    expect(check({ ts: String(future), sig: slackSignature(secret, future, body.toString()) })).toMatchObject({ ok: false, reason: expect.stringContaining('future') });
  });
  test('refuses missing or malformed headers', () => {
    expect(check({ sig: slackSignature(secret, now, body.toString()) })).toMatchObject({ ok: false, reason: expect.stringContaining('timestamp') });
    expect(check({ ts: String(now) })).toMatchObject({ ok: false, reason: expect.stringContaining('signature') });
    expect(check({ ts: 'yesterday', sig: slackSignature(secret, now, body.toString()) })).toMatchObject({ ok: false });
  });
});
