import { startBot, DEMO_CHANNEL, type Bot } from '../slack/harness.js';
import { listRuns, startRun, setRunMessage, finishRun } from '../../src/store/runs.js';
import { listAudit } from '../../src/store/audit.js';
import { listRestoreTests } from '../../src/store/restore-test-register.js';
import { runBackup } from '../../src/operations/backup.js';
import { parseRestoreTestCommand } from '../../src/commands/parse.js';
import { withLock } from '../../src/store/locks.js';

let bot: Bot;
beforeAll(async () => { bot = await startBot(); });
afterAll(async () => { await bot?.close(); });

const rt = (text: string, o: Parameters<Bot['slash']>[1] = {}) => bot.slash(text, { command: '/restore-test', ...o });
const restoreRuns = async () => (await listRuns(bot.pool, { kind: 'restore_test' })).length;

test.each([
  ['', 'no client given'],
  ['Demo!', 'a client name is lowercase'],
  ['demo ../../etc/passwd', 'a backup is a key or file name'],
  ['demo demo/../../etc/passwd', 'cannot contain ".."'],
  ['demo a b', 'too many words'],
  ['prod', 'there is no client "prod"'],
  [`demo ${'x'.repeat(250)}`, 'too long'],
])('malformed %j → usage; nothing runs', async (text, problem) => {
  const before = await restoreRuns();
  const res = await (await rt(text)).answer();
  expect(res.response_type).toBe('ephemeral');
  expect(res.text).toContain(problem);
  if (text === 'prod') expect(res.text).toContain('there is no client "prod" on which you hold a role');
  else expect(res.text).toContain('/restore-test <client> [backup]');
  expect(await restoreRuns()).toBe(before);
});

test('refusal: QA and strangers may not run a restore test (operators only); audited', async () => {
  expect((await (await rt('demo', { user: 'U0QA' })).answer()).text).toContain('you need the *operator* role on *demo*');
  // need to know: to a stranger, demo and a client that does not exist read the same
  const stranger = (await (await rt('demo', { user: 'U0STRANGER' })).answer()).text;
  const nosuch = (await (await rt('nosuch', { user: 'U0STRANGER' })).answer()).text;
  expect(stranger.replace('demo', 'X')).toBe(nosuch.replace('nosuch', 'X'));
  expect(stranger).not.toContain('roles.operators');
  const a = await listAudit(bot.pool, { action: 'authz.refused' });
  expect(a.filter((r) => r.target === 'run a restore test of demo').map((r) => r.actor).sort()).toEqual(['U0QA', 'U0STRANGER']);
  expect(a.find((r) => r.target === 'run a restore test of nosuch')).toMatchObject({ actor: 'U0STRANGER', reason: 'unknown client' });
  expect(await restoreRuns()).toBe(0);
});

test('busy: a restore test already running → told so with a link to its message', async () => {
  await runBackup(bot.server.ctx, { client: 'demo', actor: 'test', trigger: 'cli', notify: false });
  // Another process runs a restore test of demo: it holds the client's lock and its run row is running.
  await withLock(bot.pool, 'restore_test', 'demo', async () => {
    const run = await startRun(bot.pool, { kind: 'restore_test', client: 'demo', actor: 'schedule', trigger: 'schedule' });
    await setRunMessage(bot.pool, run.id, DEMO_CHANNEL, '1700000001.000001');
    try {
      const res = await (await rt('demo')).answer();
      expect(res.text).toContain('A restore test of *demo* is already running');
      expect(res.text).toContain(`https://slack.com/archives/${DEMO_CHANNEL}/p1700000001000001`);
    } finally {
      await finishRun(bot.pool, run.id, { status: 'failed', error: 'test' });
    }
  });
});

test('/restore-test demo: ack within 3 s, then the test runs in staging and is registered', async () => {
  await runBackup(bot.server.ctx, { client: 'demo', actor: 'test', trigger: 'cli', notify: false });
  const res = await rt('demo');
  expect(res.ms).toBeLessThan(3000);
  expect((await res.answer(120_000)).text).toContain('Restore test of *demo* from the newest verified backup started');
  expect(await bot.server.slack!.background.idle(240_000)).toBe(true);
  const [run] = await listRuns(bot.pool, { kind: 'restore_test', client: 'demo' });
  expect(run).toMatchObject({ trigger: 'slack', actor: 'U0OPER' });
  const [row] = await listRestoreTests(bot.pool, { client: 'demo' });
  expect(row).toBeDefined();
  expect(row!.run_id).toBe(run!.id);
  expect(row!.executed_by).toBe('Olga Operator');
}, 300_000);

test('parser', () => {
  expect(parseRestoreTestCommand('demo')).toEqual({ ok: true, client: 'demo' });
  expect(parseRestoreTestCommand('demo prefix/demo/backup_2026-01-06_03-00-00.sql.gz')).toEqual({ ok: true, client: 'demo', backupKey: 'prefix/demo/backup_2026-01-06_03-00-00.sql.gz' });
});
