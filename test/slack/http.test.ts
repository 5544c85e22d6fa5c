import { startBot, type Bot } from './harness.js';
import { sendSigned, slashCommandBody, signedHeaders, TEST_SIGNING_SECRET } from './sign.js';
import { listRuns } from '../../src/store/runs.js';
import { listBackups } from '../../src/store/backup-register.js';

/**
 * The HTTP front door (Bolt's HTTPReceiver and its signature check, plus our refusal of future
 * timestamps): only requests verifiably from Slack run anything; retries act once. /healthz and
 * /metrics are not here: they have their own listener (test/ops-endpoints.test.ts).
 */
let bot: Bot;
beforeAll(async () => { bot = await startBot(); });
afterAll(async () => { await bot?.close(); });

const backupRuns = async () => (await listRuns(bot.pool, { kind: 'backup' })).length;
const body = () => slashCommandBody({ command: '/backup', text: 'now demo', user_id: 'U0OPER', response_url: bot.emu.responseUrl() });

describe('requests not verifiably from Slack get 401 with no body, and nothing runs', () => {
  const now = () => Math.floor(Date.now() / 1000);
  test.each([
    ['forged signature (other secret)', { secret: 'not-the-secret' }],
    ['signature of another body', { signature: signedHeaders(TEST_SIGNING_SECRET, 'command=%2Fbackup&text=help')['x-slack-signature'] }],
    ['timestamp 6 minutes old (correctly signed)', { timestamp: now() - 360 }],
    ['timestamp 6 minutes in the future (correctly signed)', { timestamp: now() + 360 }],
    ['missing x-slack-signature', { omit: ['x-slack-signature' as const] }],
    ['missing x-slack-request-timestamp', { omit: ['x-slack-request-timestamp' as const] }],
    ['missing both headers', { omit: ['x-slack-signature' as const, 'x-slack-request-timestamp' as const] }],
  ])('%s', async (_name, opts) => {
    const before = await backupRuns();
    const res = await sendSigned(bot.eventsUrl, body(), opts);
    expect(res.status).toBe(401);
    expect(res.text).toBe('');
    await new Promise((r) => setTimeout(r, 300));
    expect(await backupRuns()).toBe(before);
    expect(bot.server.slack!.background.size).toBe(0);
  });

  test('an interactivity payload with a forged signature is refused too', async () => {
    const res = await sendSigned(bot.eventsUrl, 'payload=%7B%22type%22%3A%22block_actions%22%7D', { secret: 'nope' });
    expect(res.status).toBe(401);
  });

  test('the refusals are logged and counted in /metrics', async () => {
    expect(bot.logs.some((l) => String(l.msg).includes('not verifiably from Slack') && String(l.reason).includes('future'))).toBe(true);
    const m = await (await fetch(`${bot.opsBase}/metrics`)).text();
    expect(m).toMatch(/backupbot_slack_requests_rejected_total\{reason="signature mismatch"\} [1-9]/);
    expect(m).toMatch(/backupbot_slack_requests_rejected_total\{reason="request from the future"\} 1/);
    expect(m).toMatch(/backupbot_slack_requests_rejected_total\{reason="stale request"\} 1/);
  });

  test('a body over the limit (1 MiB) is refused with 413 before anything is parsed', async () => {
    const before = await backupRuns();
    const big = `${body()}&pad=${'x'.repeat(1024 * 1024)}`;
    const res = await sendSigned(bot.eventsUrl, big);
    expect(res.status).toBe(413);
    expect(res.text).toBe('');
    expect(await backupRuns()).toBe(before);
  });
});

test('Slack\'s ssl_check (unsigned) is answered 200 and runs nothing', async () => {
  const res = await sendSigned(bot.eventsUrl, 'ssl_check=1&token=x', { omit: ['x-slack-signature', 'x-slack-request-timestamp'] });
  expect(res.status).toBe(200);
  expect(res.text).toBe('');
});

test('X-Slack-Retry-Num replays of a /backup now start one backup only', async () => {
  const before = (await listBackups(bot.pool, { client: 'demo' })).length;
  const runsBefore = await backupRuns();
  const b = body();
  const first = await sendSigned(bot.eventsUrl, b);
  expect(first.status).toBe(200);
  // Slack retries the same request (same trigger_id), re-signed with a new timestamp
  const retry1 = await sendSigned(bot.eventsUrl, b, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
  const retry2 = await sendSigned(bot.eventsUrl, b, { timestamp: Math.floor(Date.now() / 1000) + 1, headers: { 'x-slack-retry-num': '2', 'x-slack-retry-reason': 'http_timeout' } });
  expect(retry1.status).toBe(200);
  expect(retry2.status).toBe(200);
  expect(retry1.text).toBe('');
  await bot.server.slack!.background.idle(120_000);
  // and a replay after the backup finished does not start another one either
  const late = await sendSigned(bot.eventsUrl, b, { headers: { 'x-slack-retry-num': '3', 'x-slack-retry-reason': 'http_error' } });
  expect(late.status).toBe(200);
  await bot.server.slack!.background.idle(120_000);
  expect(await backupRuns()).toBe(runsBefore + 1);
  expect(await listBackups(bot.pool, { client: 'demo' })).toHaveLength(before + 1);
  expect(bot.logs.filter((l) => String(l.msg).includes('already handled'))).toHaveLength(3);
});

test('GET /healthz (operational listener) answers with the database state and the Slack mode', async () => {
  const res = await fetch(`${bot.opsBase}/healthz`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ ok: true, mode: 'http', db: true });
});

test('GET /metrics: runs by kind and result, last successful backup time, bytes and duration per client', async () => {
  // The register figures are read at most once per 15 s: an earlier scrape's set may still be served.
  let res = await fetch(`${bot.opsBase}/metrics`);
  const deadline = Date.now() + 20_000;
  let m = await res.text();
  while (!/backupbot_runs\{kind="backup"/.test(m) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    res = await fetch(`${bot.opsBase}/metrics`);
    m = await res.text();
  }
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const [last] = await listBackups(bot.pool, { client: 'demo', onlyOk: true });
  expect(m).toMatch(/backupbot_runs\{kind="backup",result="ok"\} [1-9]/);
  const ts = /backupbot_last_successful_backup_timestamp_seconds\{client="demo"\} ([0-9.e+]+)/.exec(m);
  expect(Number(ts?.[1])).toBeCloseTo(last!.taken_at.getTime() / 1000, 0);
  expect(m).toContain(`backupbot_last_backup_bytes{client="demo"} ${Number(last!.size_bytes)}`);
  expect(m).toMatch(/backupbot_last_backup_duration_seconds\{client="demo"\} [0-9.]+/);
  expect(m).toContain('backupbot_process_');
});

test('unknown paths are 404; Slack requests only on POST /slack/events; /healthz and /metrics not on the Slack URL', async () => {
  expect(bot.opsBase).not.toBe(bot.base);
  expect((await fetch(`${bot.base}/nope`)).status).toBe(404);
  expect((await fetch(`${bot.eventsUrl}`)).status).toBe(404);
  expect((await fetch(`${bot.base}/healthz`)).status).toBe(404);
  expect((await fetch(`${bot.base}/metrics`)).status).toBe(404);
});
