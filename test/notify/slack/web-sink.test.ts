import { Writable } from 'node:stream';
import { SlackEmulator } from '../../slack/emulator.js';
import { SlackWebSink } from '../../../src/notify/slack/web-sink.js';
import { createLogger } from '../../../src/logger.js';

/** The Slack Web API sink against the emulator: limits, rate limits, outages. */
let emu: SlackEmulator;
const logs: Array<Record<string, unknown>> = [];
const logger = createLogger({ level: 'info', destination: new Writable({ write(c: Buffer, _e, cb) { for (const l of c.toString().split('\n')) if (l) logs.push(JSON.parse(l) as Record<string, unknown>); cb(); } }) });
let n: SlackWebSink;

beforeAll(async () => {
  emu = new SlackEmulator();
  await emu.start();
  n = new SlackWebSink({ token: emu.botToken, apiUrl: emu.apiUrl, logger, retryConfig: { retries: 2, factor: 1, minTimeout: 50, maxTimeout: 50 } });
});
afterAll(async () => { await emu.stop(); });
afterEach(() => { emu.clearFaults(); });

test('posts and updates one message; Block Kit is kept within 50 blocks and 3000 characters per text', async () => {
  const blocks = Array.from({ length: 60 }, (_, i) => ({ type: 'section', text: { type: 'mrkdwn', text: `${i}: ${'x'.repeat(i === 0 ? 5000 : 10)}` } }));
  const ref = await n.post('C0DEMO', { text: 'y'.repeat(5000), blocks });
  expect(ref).toEqual({ channel: 'C0DEMO', ts: expect.stringMatching(/^\d+\.\d{6}$/) });
  const m = emu.messages.get(`C0DEMO:${ref!.ts}`)!;
  expect(m.blocks).toHaveLength(50);
  expect(JSON.stringify(m.blocks![49])).toContain('11 more block(s) not shown');
  expect(((m.blocks![0] as { text: { text: string } }).text.text).length).toBeLessThanOrEqual(3000);
  expect(m.text.length).toBeLessThanOrEqual(3000);
  await n.update(ref!, { text: 'done' });
  expect(emu.messages.get(`C0DEMO:${ref!.ts}`)!.text).toBe('done');
});

test('429 with Retry-After: waits the time Slack asked for, then retries and succeeds', async () => {
  emu.fault('chat.postMessage', { kind: 'ratelimit', retryAfter: 1 }, 2);
  const t0 = Date.now();
  const ref = await n.post('C0DEMO', { text: 'after the rate limit' });
  const calls = emu.callsTo('chat.postMessage').slice(-3);
  expect(calls.map((c) => c.fault)).toEqual(['ratelimit', 'ratelimit', undefined]);
  expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(1000);
  expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(1000);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
  expect(ref).toBeDefined();
  expect(emu.messages.get(`C0DEMO:${ref!.ts}`)!.text).toBe('after the rate limit');
  expect(logs.some((l) => l.retryAfterSeconds === 1)).toBe(true);
});

test('Slack down: retried, then logged with the content; never thrown', async () => {
  emu.fault('*', { kind: 'down' });
  const before = emu.calls.length;
  await expect(n.post('C0DEMO', { text: 'the backup result' })).resolves.toBeUndefined();
  await expect(n.update({ channel: 'C0DEMO', ts: '1.000001' }, { text: 'an update' })).resolves.toBe(false);
  expect(emu.calls.slice(before).filter((c) => c.method === 'chat.postMessage')).toHaveLength(3);
  const err = logs.find((l) => l.method === 'chat.postMessage' && l.level === 50)!;
  expect(err.text).toBe('the backup result');
  expect(String(err.msg)).toContain('failed after retries');
  expect(logs.some((l) => l.method === 'chat.update' && l.level === 50)).toBe(true);
});

test('a Slack error (bot not in channel) is logged with the hint', async () => {
  emu.fault('chat.postMessage', { kind: 'error', error: 'not_in_channel' }, 1);
  await expect(n.post('C0OTHER', { text: 'x' })).resolves.toBeUndefined();
  expect(logs.some((l) => l.error === 'not_in_channel' && String(l.hint).includes('/invite'))).toBe(true);
});
