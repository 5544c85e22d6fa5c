import { createHmac, randomBytes } from 'node:crypto';
import { request } from 'node:http';

/**
 * Builds and signs requests exactly as Slack sends them: `x-slack-signature: v0=HMAC-SHA256(secret,
 * "v0:{timestamp}:{raw body}")` and `x-slack-request-timestamp` (seconds); slash commands as a
 * form-encoded body, interactivity as a form with one `payload=` field holding JSON.
 */

export const TEST_SIGNING_SECRET = 'test-signing-secret-8f1d2c';

export function slackSignature(secret: string, timestamp: number | string, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function signedHeaders(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': slackSignature(secret, timestamp, body) };
}

export interface SlashCommandFields {
  command: string;
  text: string;
  user_id?: string;
  user_name?: string;
  channel_id?: string;
  channel_name?: string;
  team_id?: string;
  response_url?: string;
  trigger_id?: string;
}

/** The form body of a slash command, with the fields Slack sends. */
export function slashCommandBody(f: SlashCommandFields): string {
  const trigger = f.trigger_id ?? `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(8).toString('hex')}`;
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: f.team_id ?? 'T0TEAM',
    team_domain: 'acme',
    channel_id: f.channel_id ?? 'C0OPS',
    channel_name: f.channel_name ?? 'ops',
    user_id: f.user_id ?? 'U0OPER',
    user_name: f.user_name ?? 'oper',
    command: f.command,
    text: f.text,
    api_app_id: 'A0BACKUP',
    is_enterprise_install: 'false',
    response_url: f.response_url ?? 'http://127.0.0.1:9/commands/none',
    trigger_id: trigger,
  }).toString();
}

/** The form body of an interactivity request (block_actions, view_submission…). */
export function interactivityBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** A block_actions payload for one button click. */
export function buttonClickPayload(o: { actionId: string; value: string; userId: string; userName?: string; channel?: string; messageTs?: string; responseUrl?: string }): Record<string, unknown> {
  const now = (Date.now() / 1000).toFixed(6);
  return {
    type: 'block_actions',
    user: { id: o.userId, username: o.userName ?? o.userId.toLowerCase(), name: o.userName ?? o.userId.toLowerCase(), team_id: 'T0TEAM' },
    api_app_id: 'A0BACKUP',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: o.messageTs ?? '1700000000.000100', channel_id: o.channel ?? 'C0OPS', is_ephemeral: false },
    trigger_id: `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(8).toString('hex')}`,
    team: { id: 'T0TEAM', domain: 'acme' },
    channel: { id: o.channel ?? 'C0OPS', name: 'ops' },
    message: { type: 'message', ts: o.messageTs ?? '1700000000.000100', text: 'restore test result', blocks: [] },
    response_url: o.responseUrl ?? 'http://127.0.0.1:9/actions/none',
    actions: [{ type: 'button', action_id: o.actionId, block_id: 'b1', value: o.value, text: { type: 'plain_text', text: 'QA verified' }, action_ts: now }],
  };
}

export interface SendOptions {
  secret?: string;
  /** Seconds since the epoch used in the header and the signature. */
  timestamp?: number;
  /** Overrides the computed signature. */
  signature?: string;
  /** Headers to leave out (e.g. to test missing headers). */
  omit?: Array<'x-slack-signature' | 'x-slack-request-timestamp'>;
  headers?: Record<string, string>;
  contentType?: string;
}

export interface SendResult { status: number; text: string; json?: any; ms: number; headers: Headers }

/** POSTs a body to the bot, signed as Slack would. */
export async function sendSigned(url: string, body: string, o: SendOptions = {}): Promise<SendResult> {
  const ts = o.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': o.contentType ?? 'application/x-www-form-urlencoded',
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': o.signature ?? slackSignature(o.secret ?? TEST_SIGNING_SECRET, ts, body),
    ...(o.headers ?? {}),
  };
  for (const h of o.omit ?? []) delete headers[h];
  const started = Date.now();
  const res = await post(url, headers, body);
  let json: unknown;
  try { json = res.text ? JSON.parse(res.text) : undefined; } catch { json = undefined; }
  return { status: res.status, text: res.text, json, ms: Date.now() - started, headers: res.headers };
}

/**
 * One request on its own connection, as Slack sends them: fetch's process-wide keep-alive pool is
 * shared by every test file of a jest worker and could hand a request a socket of an earlier bot.
 */
function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; text: string; headers: Headers }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: h });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
