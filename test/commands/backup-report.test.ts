import { startBot, type Bot } from '../slack/harness.js';
import { insertBackup } from '../../src/store/backup-register.js';
import { listAudit } from '../../src/store/audit.js';
import { quarterOf } from '../../src/store/restore-test-register.js';

/** `/backup report <client> [quarter]` through the Slack emulator: the signed report's PDF uploaded to the channel (files upload v2). */
let bot: Bot;
beforeAll(async () => { bot = await startBot(); });
afterAll(async () => { await bot?.close(); });

const quarter = quarterOf(new Date(), 'UTC');

test('/backup report demo <quarter>: acked at once, the PDF uploaded to the channel with its sha256 and key, the pack audited', async () => {
  await insertBackup(bot.pool, { client: 'demo', takenAt: new Date(Date.now() - 3_600_000), type: 'scheduled', file: 'backup_report_test.sql.gz', key: 'demo/backup_report_test.sql.gz', sizeBytes: 4096, verified: true, verifiedAt: new Date(), executedBy: 'schedule', result: 'OK', sha256: 'e'.repeat(64) });
  const res = await bot.slash(`report demo ${quarter.toLowerCase()}`, { channel: 'C0AUDIT', user: 'U0QA' });
  expect(res.ms).toBeLessThan(3000);
  expect((await res.answer()).text).toContain(`Making the signed evidence report of *demo* for ${quarter}`);
  await bot.server.slack!.background.idle(120_000);
  expect(res.answers().map((a) => a.text as string)).toHaveLength(1);

  const calls = bot.emu.calls.map((c) => c.method).filter((m) => m.startsWith('files.') || m === 'upload');
  expect(calls).toEqual(['files.getUploadURLExternal', 'upload', 'files.completeUploadExternal']);
  const files = bot.emu.files.filter((f) => f.channel === 'C0AUDIT');
  expect(files).toHaveLength(1);
  expect(files[0]!.filename).toBe(`evidence-report_demo_${quarter}.pdf`);
  expect(files[0]!.content.startsWith('%PDF-')).toBe(true);
  const audit = (await listAudit(bot.pool, { action: 'evidence.report' })).at(-1)!;
  expect(audit).toMatchObject({ actor: 'U0QA', client: 'demo', target: `evidence-report:${quarter}` });
  expect(files[0]!.initial_comment).toContain(`report.html sha256 \`${String(audit.details.reportSha256)}\``);
  expect(files[0]!.initial_comment).toContain('every record verifies');
  expect(files[0]!.initial_comment).toContain('<@U0QA>');
}, 180_000);

test('refusal: no role on the client → polite refusal, audited, no file, no report made', async () => {
  const before = bot.emu.files.length;
  const reports = (await listAudit(bot.pool, { action: 'evidence.report' })).length;
  const res = await bot.slash(`report demo ${quarter}`, { user: 'U0STRANGER' });
  expect((await res.answer()).text).toContain('Sorry, there is no client "demo" on which you hold a role, so you cannot get the evidence report of it');
  await bot.server.slack!.background.idle(10_000);
  expect(bot.emu.files).toHaveLength(before);
  expect(bot.emu.callsTo('files.getUploadURLExternal')).toHaveLength(1);
  expect((await listAudit(bot.pool, { action: 'authz.refused' })).some((a) => a.actor === 'U0STRANGER' && a.target === 'get the evidence report of demo')).toBe(true);
  expect(await listAudit(bot.pool, { action: 'evidence.report' })).toHaveLength(reports);
});

test('malformed text gets the usage with what was wrong; a quarter not yet begun has nothing to report', async () => {
  const bad = await bot.slash('report demo Q1-2026');
  expect((await bad.answer()).text).toContain('"Q1-2026" is not a quarter (accepted: YYYY-QN, e.g. 2026-Q1)');
  const none = await bot.slash('report');
  expect((await none.answer()).text).toContain('`report` needs a client name');
  const future = await bot.slash('report demo 2999-Q1');
  expect((await future.answer()).text).toContain('2999-Q1 has not started yet');
  await bot.server.slack!.background.idle(10_000);
  expect(bot.emu.callsTo('files.getUploadURLExternal')).toHaveLength(1);
});

test('upload refused (bot not in the channel): the requester is told why', async () => {
  bot.emu.fault('files.completeUploadExternal', { kind: 'error', error: 'not_in_channel' }, 1);
  const res = await bot.slash(`report demo ${quarter}`, { channel: 'C0PRIVATE', user: 'U0OPER' });
  await bot.server.slack!.background.idle(120_000);
  expect(res.answers().at(-1).text).toContain('could not be posted: not_in_channel');
  expect(res.answers().at(-1).text).toContain('/invite');
}, 180_000);
