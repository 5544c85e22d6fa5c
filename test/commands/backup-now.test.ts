import { startBot, DEMO_CHANNEL, type Bot } from '../slack/harness.js';
import { listBackups } from '../../src/store/backup-register.js';
import { listRuns, startRun, setRunMessage, finishRun } from '../../src/store/runs.js';
import { listAudit } from '../../src/store/audit.js';
import { withLock } from '../../src/store/locks.js';

/** End to end: signed slash commands to the running bot, Slack Web API answered by the emulator. */
let bot: Bot;

beforeAll(async () => {
  bot = await startBot({ client: { roles: { systemOwners: ['U0OWNER'], itManagers: ['U0ITMGR'], qa: ['U0QA'], operators: ['U0OPER', 'S0OPS'] } }, retryConfig: { retries: 2, factor: 1, minTimeout: 50, maxTimeout: 100 } });
});
afterAll(async () => { await bot?.close(); });
afterEach(async () => {
  bot.emu.clearFaults();
  await bot.server.slack!.background.idle(120_000);
});

const pool = () => bot.pool;

test('/backup now demo: ephemeral ack within 3 s, one channel message that progresses to a verified backup', async () => {
  const res = await bot.slash('now demo');
  const resA = await res.answer();
  expect(res.status).toBe(200);
  expect(res.ms).toBeLessThan(3000);
  expect(resA).toMatchObject({ response_type: 'ephemeral' });
  expect(resA.text).toContain('Backup of *demo* started');
  expect(resA.text).toContain(`<#${DEMO_CHANNEL}>`);

  expect(await bot.server.slack!.background.idle(120_000)).toBe(true);
  const posts = bot.emu.callsTo('chat.postMessage').filter((c) => c.params.channel === DEMO_CHANNEL);
  expect(posts).toHaveLength(1);
  const ts = bot.emu.messages.get(`${DEMO_CHANNEL}:${[...bot.emu.messages.values()].find((m) => m.channel === DEMO_CHANNEL)!.ts}`)!.ts;
  const updates = bot.emu.callsTo('chat.update').filter((c) => c.params.channel === DEMO_CHANNEL && c.params.ts === ts);
  const sequence = [posts[0]!.params.text as string, ...updates.map((u) => u.params.text as string)];
  // started → dumping → uploading → verifying → done, edited into the same message
  const order = ['starting', 'dumping', 'finishing the uploads', 'reading the primary copy back', 'OK and verified'];
  let at = -1;
  for (const step of order) {
    const i = sequence.findIndex((t, k) => k > at && t.includes(step));
    expect({ step, found: i > at }).toEqual({ step, found: true });
    at = i;
  }
  const final = bot.emu.messages.get(`${DEMO_CHANNEL}:${ts}`)!;
  const [row] = await listBackups(pool(), { client: 'demo' });
  expect(row).toMatchObject({ result: 'OK', verified: true, type: 'manual', executed_by: 'Olga Operator' });
  expect(final.text).toContain(row!.file!);
  expect(final.text).toContain(row!.sha256!.slice(0, 12));
  expect(final.text).toContain('16 tables');
  expect(final.text).toContain('local ok');
  expect(final.text).toContain('launched by Olga Operator');
  expect(JSON.stringify(final.blocks)).toContain('*Verified:* yes');
  const [run] = await listRuns(pool(), { client: 'demo', kind: 'backup' });
  expect(run).toMatchObject({ status: 'ok', trigger: 'slack', actor: 'U0OPER', slack_channel: DEMO_CHANNEL, slack_ts: ts });
  // users.info resolved the launcher's name
  expect(bot.emu.callsTo('users.info').some((c) => c.params.user === 'U0OPER')).toBe(true);
});

test('a user without the operator role gets a polite refusal; audited; nothing runs', async () => {
  const before = (await listRuns(pool(), { client: 'demo', kind: 'backup' })).length;
  const res = await bot.slash('now demo', { user: 'U0STRANGER' });
  const resA = await res.answer();
  expect(res.status).toBe(200);
  expect(resA.response_type).toBe('ephemeral');
  // need to know: someone without any role on demo is not told that it exists
  expect(resA.text).toMatch(/^Sorry, there is no client "demo" on which you hold a role/);
  // QA holds a role on demo, so QA is told which role a backup needs
  const qa = await bot.slash('now demo', { user: 'U0QA' });
  const qaA = await qa.answer();
  expect(qaA.text).toMatch(/^Sorry, to run a backup of demo you need the \*operator\* role on \*demo\*/);
  expect(qaA.text).toContain('clients.demo.roles.operators');
  const refused = await listAudit(pool(), { action: 'authz.refused', client: 'demo' });
  expect(refused.filter((a) => a.actor === 'U0STRANGER' && a.target === 'run a backup of demo' && a.reason === 'no role on this client')).toHaveLength(1);
  expect(refused.filter((a) => a.actor === 'U0QA' && a.reason === 'missing role operators')).toHaveLength(1);
  expect(await listRuns(pool(), { client: 'demo', kind: 'backup' })).toHaveLength(before);
});

test('operators listed through a user group (usergroups.users.list) may run it', async () => {
  bot.emu.addUser('U0GROUPIE', 'Gala Groupmember');
  bot.emu.addUsergroup('S0OPS', ['U0GROUPIE']);
  const res = await bot.slash('now demo', { user: 'U0GROUPIE' });
  const resA = await res.answer();
  expect(resA.text).toContain('Backup of *demo* started');
  await bot.server.slack!.background.idle(120_000);
  expect(bot.emu.callsTo('usergroups.users.list').some((c) => c.params.usergroup === 'S0OPS')).toBe(true);
  const [run] = await listRuns(pool(), { client: 'demo', kind: 'backup' });
  expect(run).toMatchObject({ actor: 'U0GROUPIE', status: 'ok' });
});

test('a second /backup now while one is running: told it is running, with a link to its message; nothing new starts', async () => {
  const before = await listBackups(pool(), { client: 'demo' });
  // Another process runs a backup of demo: it holds the client's backup lock and its run row is running.
  await withLock(pool(), 'backup', 'demo', async () => {
    const run = await startRun(pool(), { kind: 'backup', client: 'demo', actor: 'schedule', trigger: 'schedule' });
    await setRunMessage(pool(), run.id, DEMO_CHANNEL, '1700000000.000777');
    try {
      const res = await bot.slash('now demo');
      expect(res.status).toBe(200);
      const resA = await res.answer();
      expect(resA.response_type).toBe('ephemeral');
      expect(resA.text).toContain('already running');
      expect(resA.text).toContain(`https://slack.com/archives/${DEMO_CHANNEL}/p1700000000000777`);
      expect(resA.text).toContain(`run ${run.id}`);
      expect(resA.text).not.toContain('Backup of *demo* started');
      expect((await listRuns(pool(), { client: 'demo', kind: 'backup', status: 'running' })).map((r) => r.id)).toEqual([run.id]);
    } finally {
      await finishRun(pool(), run.id, { status: 'failed', error: 'test' });
    }
  });
  expect(await listBackups(pool(), { client: 'demo' })).toHaveLength(before.length);
});

test('Slack down when the result is posted: the backup still completes and is registered; the failure is logged', async () => {
  const before = (await listBackups(pool(), { client: 'demo' })).length;
  bot.emu.fault('chat.update', { kind: 'down' });
  const res = await bot.slash('now demo');
  const resA = await res.answer();
  expect(resA.text).toContain('started');
  await bot.server.slack!.background.idle(120_000);
  const rows = await listBackups(pool(), { client: 'demo' });
  expect(rows).toHaveLength(before + 1);
  expect(rows[0]).toMatchObject({ result: 'OK', verified: true });
  const [run] = await listRuns(pool(), { client: 'demo', kind: 'backup' });
  expect(run!.status).toBe('ok');
  // every update was retried (1 + 2 retries) and then logged with its content
  const downs = bot.emu.callsTo('chat.update').filter((c) => c.fault === 'down');
  expect(downs.length).toBeGreaterThanOrEqual(3);
  const failures = bot.logs.filter((l) => l.method === 'chat.update' && String(l.msg).includes('failed after retries'));
  expect(failures.length).toBeGreaterThan(0);
  expect(failures.some((l) => String(l.text).includes('OK and verified'))).toBe(true);
});

test('rate limited (429 + Retry-After) when posting: the post waits and is retried; the backup completes', async () => {
  const before = (await listBackups(pool(), { client: 'demo' })).length;
  bot.emu.fault('chat.postMessage', { kind: 'ratelimit', retryAfter: 1 }, 1);
  const res = await bot.slash('now demo');
  const resA = await res.answer();
  expect(res.ms).toBeLessThan(3000);
  await bot.server.slack!.background.idle(120_000);
  const posts = bot.emu.callsTo('chat.postMessage').filter((c) => c.params.channel === DEMO_CHANNEL).slice(-2);
  expect(posts[0]!.fault).toBe('ratelimit');
  expect(posts[1]!.fault).toBeUndefined();
  expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(1000);
  const rows = await listBackups(pool(), { client: 'demo' });
  expect(rows).toHaveLength(before + 1);
  const final = bot.emu.messages.get(`${DEMO_CHANNEL}:${[...bot.emu.messages.values()].filter((m) => m.channel === DEMO_CHANNEL).pop()!.ts}`)!;
  expect(final.text).toContain('OK and verified');
});
