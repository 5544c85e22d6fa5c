import { startBot, DEMO_CHANNEL, type Bot } from '../slack/harness.js';
import { listRuns, startRun, setRunMessage, finishRun } from '../../src/store/runs.js';
import { listAudit } from '../../src/store/audit.js';
import { listRestoreTests } from '../../src/store/restore-test-register.js';
import { runBackup } from '../../src/operations/backup.js';
import { parseRestoreTestCommand } from '../../src/commands/parse.js';

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
  ['prod', 'unknown client "prod"'],
  [`demo ${'x'.repeat(250)}`, 'too long'],
])('malformed %j → usage; nothing runs', async (text, problem) => {
  const before = await restoreRuns();
  const res = await rt(text);
  expect(res.json.response_type).toBe('ephemeral');
  expect(res.json.text).toContain(problem);
  expect(res.json.text).toContain('/restore-test <client> [backup]');
  expect(await restoreRuns()).toBe(before);
});

test('refusal: QA and strangers may not run a restore test (operators only); audited', async () => {
  for (const user of ['U0QA', 'U0STRANGER']) {
    const res = await rt('demo', { user });
    expect(res.json.text).toContain('you need the *operator* role on *demo*');
  }
  const a = await listAudit(bot.pool, { action: 'authz.refused' });
  expect(a.filter((r) => r.target === 'run a restore test of demo').map((r) => r.actor).sort()).toEqual(['U0QA', 'U0STRANGER']);
  expect(await restoreRuns()).toBe(0);
});

test('busy: a restore test already running → told so with a link to its message', async () => {
  const run = await startRun(bot.pool, { kind: 'restore_test', client: 'demo', actor: 'schedule', trigger: 'schedule' });
  await setRunMessage(bot.pool, run.id, DEMO_CHANNEL, '1700000001.000001');
  try {
    const res = await rt('demo');
    expect(res.json.text).toContain('A restore test of *demo* is already running');
    expect(res.json.text).toContain(`https://slack.com/archives/${DEMO_CHANNEL}/p1700000001000001`);
  } finally {
    await finishRun(bot.pool, run.id, { status: 'failed', error: 'test' });
  }
});

test('/restore-test demo: ack within 3 s, then the test runs in staging and is registered', async () => {
  await runBackup(bot.server.ctx, { client: 'demo', actor: 'test', trigger: 'cli', notify: false });
  const res = await rt('demo');
  expect(res.ms).toBeLessThan(3000);
  expect(res.json.text).toContain('Restore test of *demo* from the newest verified backup started');
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
