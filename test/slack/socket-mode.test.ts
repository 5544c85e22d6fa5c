import { startBot, DEMO_CHANNEL, type Bot } from './harness.js';
import { listBackups } from '../../src/store/backup-register.js';
import { listRuns } from '../../src/store/runs.js';

/** Socket Mode: apps.connections.open → local WebSocket → envelopes acked over the socket. */
let bot: Bot;
beforeAll(async () => { bot = await startBot({ socketMode: true }); });
afterAll(async () => { await bot?.close(); });

const responseUrls = new Map<string, string>();
const slashPayload = (text: string, user = 'U0OPER') => {
  const url = bot.emu.responseUrl();
  const p = {
    token: 'x', team_id: 'T0TEAM', team_domain: 'acme', channel_id: 'C0OPS', channel_name: 'ops', user_id: user, user_name: user.toLowerCase(),
    command: '/backup', text, api_app_id: 'A0BACKUP', is_enterprise_install: 'false', response_url: url, trigger_id: `${Date.now()}.${Math.random()}`,
  };
  responseUrls.set(p.trigger_id, url);
  return p;
};

/** The first answer the bot sent to a command's response_url (commands are acked at once and answered after). */
async function answerTo(payload: { trigger_id: string }): Promise<{ text: string; response_type: string }> {
  const id = responseUrls.get(payload.trigger_id)!.split('/').pop()!;
  await bot.emu.waitFor(() => (bot.emu.responses.get(id)?.bodies.length ?? 0) > 0, 'the answer on response_url', 60_000);
  return bot.emu.responses.get(id)!.bodies[0];
}

test('connects with the app-level token through apps.connections.open and the returned ws:// URL', async () => {
  const opens = bot.emu.callsTo('apps.connections.open');
  expect(opens.length).toBeGreaterThanOrEqual(1);
  expect(opens[0]!.token).toBe(bot.emu.appToken);
  expect(bot.emu.socketConnections).toBe(1);
  const health = await fetch(`${bot.opsBase}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ ok: true, mode: 'socket', db: true, socketConnected: true });
  // no Slack request endpoint in Socket Mode (no Slack listener at all; the operational one does not take it)
  expect(bot.server.slack!.port).toBeUndefined();
  expect((await fetch(`${bot.opsBase}/slack/events`, { method: 'POST', body: 'x' })).status).toBe(404);
});

test('a /backup help envelope is acked over the socket within 3 s, and the usage answered', async () => {
  const payload = slashPayload('help');
  const ack = await bot.emu.sendEnvelope('slash_commands', payload);
  expect(ack.receivedAt - ack.sentAt).toBeLessThan(3000);
  const answer = await answerTo(payload);
  expect(answer).toMatchObject({ response_type: 'ephemeral' });
  expect(answer.text).toContain('/backup now <client>');
});

test('a /backup now demo envelope: acked, answered "started", then the backup runs and its message progresses to verified', async () => {
  const payload = slashPayload('now demo');
  const ack = await bot.emu.sendEnvelope('slash_commands', payload);
  expect(ack.receivedAt - ack.sentAt).toBeLessThan(3000);
  expect((await answerTo(payload)).text).toContain('Backup of *demo* started');
  await bot.server.slack!.background.idle(120_000);
  const [row] = await listBackups(bot.pool, { client: 'demo' });
  expect(row).toMatchObject({ result: 'OK', verified: true });
  const msg = [...bot.emu.messages.values()].find((m) => m.channel === DEMO_CHANNEL)!;
  expect(msg.text).toContain('OK and verified');
  expect(msg.history.length).toBeGreaterThanOrEqual(3);
  // The progress went through chat.update on the bot's message; response_url (5 uses in 30 minutes) answered once.
  const url = responseUrls.get(payload.trigger_id)!.split('/').pop()!;
  expect(bot.emu.responses.get(url)!.bodies).toHaveLength(1);
  expect(bot.emu.callsTo('chat.update').filter((c) => c.params.ts === msg.ts).length).toBeGreaterThanOrEqual(2);
});

test('an unauthorized user over Socket Mode gets the refusal as the answer; nothing runs', async () => {
  const before = (await listRuns(bot.pool, { kind: 'backup' })).length;
  const payload = slashPayload('now demo', 'U0QA');
  await bot.emu.sendEnvelope('slash_commands', payload);
  expect((await answerTo(payload)).text).toContain('*operator* role');
  expect(await listRuns(bot.pool, { kind: 'backup' })).toHaveLength(before);
});

test('Slack refreshing the connection (disconnect: refresh_requested) is a reconnect, not an error: a new connection, commands still acked and answered', async () => {
  const opens = bot.emu.callsTo('apps.connections.open').length;
  const opened = bot.emu.socketConnectionsOpened;
  const logged = bot.logs.length;
  bot.emu.refreshSocketConnections();
  await bot.emu.waitFor(() => bot.emu.socketConnectionsOpened > opened && bot.emu.socketConnections === 1, 'a new Socket Mode connection (and the old one closed)', 30_000);
  expect(bot.emu.callsTo('apps.connections.open').length).toBeGreaterThan(opens);
  let health: unknown;
  for (let i = 0; i < 100; i++) {
    health = await (await fetch(`${bot.opsBase}/healthz`)).json();
    if ((health as { socketConnected?: boolean }).socketConnected) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(health).toEqual({ ok: true, mode: 'socket', db: true, socketConnected: true });
  const payload = slashPayload('help');
  const ack = await bot.emu.sendEnvelope('slash_commands', payload);
  expect(ack.receivedAt - ack.sentAt).toBeLessThan(3000);
  expect((await answerTo(payload)).text).toContain('/backup now <client>');
  // Logged as what it is, normal operation: nothing above info.
  const since = bot.logs.slice(logged);
  expect(since.filter((l) => l.level >= 40).map((l) => l.msg)).toEqual([]);
  expect(since.some((l) => l.level === 30 && /Socket Mode reconnecting \(normal/.test(l.msg))).toBe(true);
});
