import { startBot, type Bot } from '../slack/harness.js';
import { listRuns } from '../../src/store/runs.js';
import { parseBackupCommand } from '../../src/commands/parse.js';

/** `/backup help` and every unknown or malformed input: usage and the user's clients; nothing runs. */
let bot: Bot;
beforeAll(async () => { bot = await startBot(); });
afterAll(async () => { await bot?.close(); });

test('/backup help: usage and the clients the user may act on, with their roles', async () => {
  const res = await bot.slash('help');
  const resA = await res.answer();
  expect(res.status).toBe(200);
  expect(resA.response_type).toBe('ephemeral');
  expect(resA.text).toContain('`/backup now <client>`');
  expect(resA.text).toContain('`/backup log <client>`');
  expect(resA.text).toContain('Your clients: *demo* (operator)');
  expect(resA.text).not.toContain('did not understand');
  const qa = await bot.slash('help', { user: 'U0QA' });
  const qaA = await qa.answer();
  expect(qaA.text).toContain('Your clients: *demo* (QA)');
});

test('a user with no role is told so (and how to get one) in the help', async () => {
  const res = await bot.slash('help', { user: 'U0STRANGER' });
  const resA = await res.answer();
  expect(resA.text).toContain('You hold no role on any client yet');
  expect(resA.text).not.toContain('demo');
  expect(resA.text).toContain('U0STRANGER');
});

test('need to know: to someone without a role, an existing client and an unknown one read the same', async () => {
  const demo = await (await bot.slash('now demo', { user: 'U0STRANGER' })).answer();
  const prod = await (await bot.slash('now prod', { user: 'U0STRANGER' })).answer();
  expect(demo.text.replace('demo', 'X')).toBe(prod.text.replace('prod', 'X'));
  expect(demo.text).toContain('there is no client "demo" on which you hold a role');
  // an operator learns no more about an unknown client than that
  const op = await (await bot.slash('now prod')).answer();
  expect(op.text).toContain('there is no client "prod" on which you hold a role');
  expect(op.text).toContain('Your clients: *demo* (operator)');
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
  ['list', '`list` needs a client name'],
  ['log x y', '`log` takes one client name'],
])('malformed %j → usage with what was wrong; nothing runs', async (text, problem) => {
  const before = (await listRuns(bot.pool, {})).length;
  const posts = bot.emu.callsTo('chat.postMessage').length;
  const res = await bot.slash(text);
  const resA = await res.answer();
  expect(res.status).toBe(200);
  expect(resA.response_type).toBe('ephemeral');
  expect(resA.text).toContain('I did not understand that');
  expect(resA.text).toContain(problem);
  expect(resA.text).toContain('Nothing was run');
  expect(resA.text).toContain('*Usage*');
  expect(resA.text).toContain('*demo*');
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
