/**
 * Issue 15 item 6 for work started from Slack: a `/restore-test` still running when the bot stops past
 * schedules.shutdownTimeout is cancelled — its staging container is removed and its run ends `interrupted` —
 * within shutdownTimeout + 10 s. Real Docker, the Slack emulator.
 */
import Docker from 'dockerode';
import { startBot, type Bot } from '../slack/harness.js';
import { listRuns } from '../../src/store/runs.js';
import { leftovers, slowDump, storeBackup } from '../operations/restore-test-fixtures.js';

const SHUTDOWN_TIMEOUT_MS = 1000;
let bot: Bot;
beforeAll(async () => { bot = await startBot({ client: { restoreTest: { timeout: '30m', memoryMb: 512 } }, raw: { schedules: { shutdownTimeout: '1s' } } }); });
afterAll(async () => { await bot?.close(); });

test('/restore-test running at stop: cancelled after the shutdown timeout, container removed, run interrupted', async () => {
  const b = await storeBackup(bot.server.ctx, { client: 'demo', body: slowDump(600), tables: 1 });
  const res = await bot.slash(`demo ${b.row.file}`, { command: '/restore-test' });
  expect(res.ms).toBeLessThan(3000);
  let run;
  for (let i = 0; i < 1200 && !run; i++) {
    run = (await listRuns(bot.pool, { client: 'demo', kind: 'restore_test', status: 'running' })).find((r) => r.step === 'restoring');
    if (!run) await new Promise((r) => setTimeout(r, 100));
  }
  expect(run).toBeDefined();
  expect((await leftovers(new Docker(), run!.id, bot.state.url)).containers).toBe(1);

  const t0 = Date.now();
  await bot.stopServer();
  const took = Date.now() - t0;
  expect(took).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_MS);
  expect(took).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 10_000);
  const [after] = await listRuns(bot.pool, { client: 'demo', kind: 'restore_test' });
  expect(after).toMatchObject({ id: run!.id, status: 'interrupted', error: expect.stringContaining('cancelled: the bot is stopping') });
  expect(await leftovers(new Docker(), run!.id, bot.state.url)).toEqual({ containers: 0, networks: 0 });
  expect(bot.logs.some((l) => l.msg.includes('cancelling it'))).toBe(true);
}, 240_000);
