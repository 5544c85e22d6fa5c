import { startBot, type Bot } from '../slack/harness.js';
import { listRuns } from '../../src/store/runs.js';
import { parseBackupCommand } from '../../src/commands/parse.js';

/** `/backup help` and every unknown or malformed input: usage and the user's clients; nothing runs. */
let bot: Bot;
beforeAll(async () => { bot = await startBot(); });
afterAll(async () => { await bot?.close(); });

test('/backup help: usage and the clients the user may act on, with their roles', async () => {
  const res = await bot.slash('help');
  expect(res.status).toBe(200);
  expect(res.json.response_type).toBe('ephemeral');
  expect(res.json.text).toContain('`/backup now <client>`');
  expect(res.json.text).toContain('`/backup log <client>`');
  expect(res.json.text).toContain('• *demo*: operator');
  expect(res.json.text).not.toContain('did not understand');
  const qa = await bot.slash('help', { user: 'U0QA' });
  expect(qa.json.text).toContain('• *demo*: QA');
});

test('a user with no role is told so (and how to get one) in the help', async () => {
  const res = await bot.slash('help', { user: 'U0STRANGER' });
  expect(res.json.text).toContain('You have no role on any client yet');
  expect(res.json.text).toContain('U0STRANGER');
});

test.each([
  ['', 'no subcommand given'],
  ['   ', 'no subcommand given'],
  ['frobnicate demo', 'unknown subcommand "frobnicate"'],
  ['now', '`now` needs a client name'],
  ['now ../../etc', 'is not a client name'],
  ['now demo;rm -rf /', 'takes one client name'],
  ['now DEMO$(id)', 'is not a client name'],
  ['now démo', 'characters that are not accepted'],
  ['now demo\u0000', 'characters that are not accepted'],
  [`now ${'a'.repeat(300)}`, 'too long'],
  ['now prod', 'unknown client "prod"'],
  ['list', '`list` needs a client name'],
  ['log x y', '`log` takes one client name'],
])('malformed %j → usage with what was wrong; nothing runs', async (text, problem) => {
  const before = (await listRuns(bot.pool, {})).length;
  const posts = bot.emu.callsTo('chat.postMessage').length;
  const res = await bot.slash(text);
  expect(res.status).toBe(200);
  expect(res.json.response_type).toBe('ephemeral');
  expect(res.json.text).toContain('I did not understand that');
  expect(res.json.text).toContain(problem);
  expect(res.json.text).toContain('Nothing was run');
  expect(res.json.text).toContain('*Usage*');
  expect(res.json.text).toContain('*demo*');
  await new Promise((r) => setTimeout(r, 100));
  expect(await listRuns(bot.pool, {})).toHaveLength(before);
  expect(bot.emu.callsTo('chat.postMessage')).toHaveLength(posts);
});

test('parser: accepted forms', () => {
  expect(parseBackupCommand('now demo')).toEqual({ sub: 'now', client: 'demo' });
  expect(parseBackupCommand('  NOW   demo ')).toEqual({ sub: 'now', client: 'demo' });
  expect(parseBackupCommand('status')).toEqual({ sub: 'status', client: undefined });
  expect(parseBackupCommand('status demo')).toEqual({ sub: 'status', client: 'demo' });
  expect(parseBackupCommand('help')).toEqual({ sub: 'help' });
});
