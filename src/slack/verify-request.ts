import type { IncomingHttpHeaders } from 'node:http';

/**
 * Bolt's HTTPReceiver verifies every request (HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the
 * signing secret, constant-time compare; timestamps older than 5 minutes refused). It does not refuse a
 * timestamp from the future, which would make a captured request replayable for as long as it is
 * ahead: that one check is ours, done on the header before Bolt reads the body.
 */

/** Slack's tolerance for the request timestamp, both ways. */
const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Why a request must be refused although Bolt would accept it: its x-slack-request-timestamp (read as
 * Bolt reads it) is more than 5 minutes ahead of now. Undefined otherwise (Bolt checks the rest).
 */
export function futureTimestamp(timestamp: string | string[] | undefined, now = nowSeconds()): string | undefined {
  if (typeof timestamp !== 'string') return undefined;
  const ahead = Number(timestamp) - now;
  if (!Number.isFinite(ahead) || ahead <= MAX_CLOCK_SKEW_SECONDS) return undefined;
  return `request from the future (timestamp ${Math.round(ahead)} s ahead; at most ${MAX_CLOCK_SKEW_SECONDS} s accepted)`;
}

/** Why Bolt refused a request (401), read from its headers: for the log and the refusal counter. */
export function refusalReason(headers: IncomingHttpHeaders, now = nowSeconds()): string {
  const sig = headers['x-slack-signature'];
  const ts = headers['x-slack-request-timestamp'];
  if (typeof sig !== 'string' || sig === '') return 'missing x-slack-signature header';
  if (typeof ts !== 'string' || ts === '') return 'missing x-slack-request-timestamp header';
  const age = now - Number(ts);
  if (!Number.isFinite(age)) return 'malformed x-slack-request-timestamp header';
  if (age > MAX_CLOCK_SKEW_SECONDS) return `stale request (timestamp ${Math.round(age)} s old; at most ${MAX_CLOCK_SKEW_SECONDS} s accepted)`;
  return 'signature mismatch';
}
