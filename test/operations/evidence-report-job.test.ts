import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { DEMO_CHANNEL, OPS_CHANNEL, startBot, type Bot } from '../slack/harness.js';
import { insertBackup } from '../../src/store/backup-register.js';
import { listAudit } from '../../src/store/audit.js';
import { scheduledEvidenceReport } from '../../src/operations/scheduled-jobs.js';
import { monthPeriod, previousMonth } from '../../src/operations/evidence-period.js';
import { DIGEST_CHART, postDigest } from '../../src/operations/digest.js';

/**
 * The monthly evidence-report job and the digest's picture, through the bot's real Slack reporter and the Web API
 * emulator: the previous month's PDF shared in the client's channel (files upload v2), once per fire; the digest
 * message followed by a PNG of the expected size with the clients' lines drawn.
 */
const run = promisify(execFile);
let bot: Bot;
let dir: string;
beforeAll(async () => {
  bot = await startBot();
  dir = await mkdtemp(join(tmpdir(), 'bbt-evjob-'));
});
afterAll(async () => {
  await bot?.close();
  await rm(dir, { recursive: true, force: true });
});

test('evidence-report job: the previous month\'s signed report PDF posted to the client\'s channel, once per fire', async () => {
  const ctx = bot.server.ctx;
  const period = monthPeriod(previousMonth(new Date(), 'UTC'), 'UTC');
  const at = new Date(period.from.getTime() + 86_400_000 + 3 * 3_600_000);
  await insertBackup(bot.pool, { client: 'demo', takenAt: at, type: 'scheduled', file: 'backup_last_month.sql.gz', key: 'demo/backup_last_month.sql.gz', sizeBytes: 123_456, verified: true, verifiedAt: at, executedBy: 'schedule', result: 'OK', sha256: 'a'.repeat(64) });
  await insertBackup(bot.pool, { client: 'demo', takenAt: new Date(Date.now() - 60_000), type: 'manual', file: 'backup_this_month.sql.gz', sizeBytes: 1, verified: true, executedBy: 'x', result: 'OK' });

  const [outcome] = await scheduledEvidenceReport(ctx, { cron: '0 7 1 * *' });
  expect(outcome).toMatchObject({ job: 'evidence-report', client: 'demo', status: 'ok' });
  const files = bot.emu.files.filter((f) => f.filename.startsWith('evidence-report_'));
  expect(files).toHaveLength(1);
  expect(files[0]).toMatchObject({ channel: DEMO_CHANNEL, filename: `evidence-report_demo_${period.label}.pdf` });
  const audit = (await listAudit(bot.pool, { action: 'evidence.report' })).at(-1)!;
  expect(audit).toMatchObject({ actor: 'schedule', client: 'demo', target: `evidence-report:${period.label}` });
  expect(files[0]!.initial_comment).toContain(`*Evidence report of demo for ${period.label}*`);
  expect(files[0]!.initial_comment).toContain(String(audit.details.reportSha256));

  // The uploaded bytes are the PDF: last month's backup is in it, this month's is not.
  const pdf = join(dir, 'uploaded.pdf');
  await writeFile(pdf, files[0]!.bytes!);
  const text = (await run('pdftotext', ['-raw', '-enc', 'UTF-8', pdf, '-'])).stdout.replace(/\s+/g, '');
  expect(text).toContain('backup_last_month.sql.gz');
  expect(text).not.toContain('backup_this_month.sql.gz');

  // The same fire again (another replica, a restart): nothing is posted twice.
  const [again] = await scheduledEvidenceReport(ctx, { cron: '0 7 1 * *' });
  expect(again).toMatchObject({ status: 'skipped', reason: 'already ran' });
  expect(bot.emu.files.filter((f) => f.filename.startsWith('evidence-report_'))).toHaveLength(1);
}, 180_000);

test('the Slack digest is followed by one PNG: the expected size, the client\'s line drawn; the console digest keeps its sparkline', async () => {
  for (let d = 1; d <= 20; d++) {
    const at = new Date(Date.now() - d * 86_400_000);
    await insertBackup(bot.pool, { client: 'demo', takenAt: at, type: 'scheduled', file: `b${d}.sql.gz`, sizeBytes: (100 + d) * 1024 * 1024, verified: true, verifiedAt: at, executedBy: 'schedule', result: d === 5 ? 'Error' : 'OK' });
  }
  const before = bot.emu.calls.length;
  const r = await postDigest(bot.server.ctx, { trigger: 'cli', actor: 'test', chart: true });
  expect(r.chart).toBe(true);
  const calls = bot.emu.calls.slice(before).map((c) => c.method).filter((m) => m === 'chat.postMessage' || m.startsWith('files.'));
  expect(calls).toEqual(['chat.postMessage', 'files.getUploadURLExternal', 'files.completeUploadExternal']);
  const png = bot.emu.files.at(-1)!;
  expect(png).toMatchObject({ channel: OPS_CHANNEL });
  expect(png.filename).toMatch(/^backup-sizes_\d{4}-\d{2}-\d{2}\.png$/);
  const img = PNG.sync.read(png.bytes!);
  expect([img.width, img.height]).toEqual([DIGEST_CHART.width, DIGEST_CHART.height]);
  let ink = 0;
  let blue = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    const [red, g, b] = [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
    if (red < 245 || g < 245 || b < 245) ink++;
    if (Math.abs(red - 0x00) < 40 && Math.abs(g - 0x72) < 40 && Math.abs(b - 0xb2) < 40) blue++;
  }
  expect(ink).toBeGreaterThan(DIGEST_CHART.width * DIGEST_CHART.height * 0.01);
  expect(blue).toBeGreaterThan(200); // demo's line, the first palette colour
  // The message itself still carries the text sparkline.
  const msg = [...bot.emu.messages.values()].filter((m) => m.channel === OPS_CHANNEL).at(-1)!;
  expect(msg.text + JSON.stringify(msg.blocks ?? [])).toMatch(/[▁▂▃▄▅▆▇█]{3,}/);

  // Without chart (the console digest, `backup-bot digest`): no upload.
  const n = bot.emu.files.length;
  expect((await postDigest(bot.server.ctx, { trigger: 'cli', actor: 'test' })).chart).toBe(false);
  expect(bot.emu.files).toHaveLength(n);
}, 120_000);
