import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's tolerance for the request timestamp, both ways (Bolt only checks the past). */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/**
 * Verifies a request from Slack: `x-slack-signature` must be `v0=` + HMAC-SHA256 of
 * `v0:{x-slack-request-timestamp}:{raw body}` with the signing secret (compared in constant time), and
 * the timestamp must be within 5 minutes of now in either direction (a stale request is a replay, a
 * future one a forged or badly skewed clock).
 */
export function verifySlackSignature(o: {
  signingSecret: string;
  rawBody: Buffer;
  signature: string | string[] | undefined;
  timestamp: string | string[] | undefined;
  nowSeconds?: number;
}): VerifyResult {
  const sig = o.signature;
  const ts = o.timestamp;
  if (typeof sig !== 'string' || sig === '') return { ok: false, reason: 'missing x-slack-signature header' };
  if (typeof ts !== 'string' || ts === '') return { ok: false, reason: 'missing x-slack-request-timestamp header' };
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'x-slack-request-timestamp is not a number of seconds' };
  const now = o.nowSeconds ?? Math.floor(Date.now() / 1000);
  const skew = Number(ts) - now;
  if (skew < -MAX_CLOCK_SKEW_SECONDS) return { ok: false, reason: `stale request (timestamp ${-skew} s old; at most ${MAX_CLOCK_SKEW_SECONDS} s accepted)` };
  if (skew > MAX_CLOCK_SKEW_SECONDS) return { ok: false, reason: `request from the future (timestamp ${skew} s ahead; at most ${MAX_CLOCK_SKEW_SECONDS} s accepted)` };
  const m = /^v0=([0-9a-f]{64})$/.exec(sig);
  if (!m) return { ok: false, reason: 'x-slack-signature is not a v0 signature' };
  const hmac = createHmac('sha256', o.signingSecret);
  hmac.update(`v0:${ts}:`);
  hmac.update(o.rawBody);
  const expected = hmac.digest();
  const given = Buffer.from(m[1]!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature mismatch' };
  return { ok: true };
}
