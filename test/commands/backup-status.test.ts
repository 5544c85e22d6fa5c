import { startBot, type Bot } from '../slack/harness.js';
import { insertBackup } from '../../src/store/backup-register.js';
import { insertRestoreTest, quarterOf } from '../../src/store/restore-test-register.js';
import { listAudit } from '../../src/store/audit.js';

let bot: Bot;
beforeAll(async () => { bot = await startBot({ client: { rpo: '7d' } }); });
afterAll(async () => { await bot?.close(); });

const DAY = 86_400_000;

test('no backup yet: says so against the RPO, and the restore test is not done this quarter', async () => {
  const res = await bot.slash('status demo');
  const resA = await res.answer();
  expect(resA.response_type).toBe('ephemeral');
  expect(resA.text).toContain('No successful backup yet (RPO 7d)');
  expect(resA.text).toContain('No restore test yet');
  expect(resA.text).toContain(`This quarter's (${quarterOf(new Date())}) restore test`);
});

test('last backup with its age against the RPO (exceeded), last restore test and the next due date', async () => {
  const pool = bot.pool;
  await insertBackup(pool, { client: 'demo', takenAt: new Date(Date.now() - 9 * DAY), type: 'scheduled', file: 'backup_old.sql.gz', key: 'demo/backup_old.sql.gz', sizeBytes: 2048, verified: true, executedBy: 'schedule', result: 'OK', sha256: 'a'.repeat(64) });
  await insertRestoreTest(pool, { client: 'demo', testedAt: new Date(Date.now() - 60_000), backupUsed: 'backup_old.sql.gz', executedBy: 'Olga Operator', result: 'OK' });
  const res = await bot.slash('status demo');
  const resA = await res.answer();
  const text = resA.text as string;
  expect(text).toContain('Last backup');
  expect(text).toContain('(9d ago; RPO 7d *exceeded*)');
  expect(text).toContain(':red_circle:');
  expect(text).toMatch(/Last restore test \d{4}-\d{2}-\d{2} \(\d{4}-Q\d\): OK, not yet QA verified/);
  expect(text).toContain(`This quarter's (${quarterOf(new Date())}) restore test passed and awaits QA's signature (it counts once signed); due 1 `);
  // a fresh backup is within the RPO
  await insertBackup(pool, { client: 'demo', takenAt: new Date(Date.now() - DAY), type: 'manual', file: 'backup_new.sql.gz', key: 'demo/backup_new.sql.gz', sizeBytes: 4096, verified: true, executedBy: 'Olga', result: 'OK' });
  const again = await bot.slash('status');
  const againA = await again.answer();
  expect(againA.text).toContain(':white_check_mark: Last backup');
  expect(againA.text).toContain('backup_new.sql.gz');
  expect(againA.blocks?.length ?? 0).toBeLessThanOrEqual(50);
});

test('refusal: a user with no role on the client is refused politely; audited', async () => {
  const res = await bot.slash('status demo', { user: 'U0STRANGER' });
  const resA = await res.answer();
  expect(resA.text).toContain('Sorry, there is no client "demo" on which you hold a role');
  const a = await listAudit(bot.pool, { action: 'authz.refused' });
  expect(a.some((r) => r.actor === 'U0STRANGER' && r.target === 'see the backup status of demo')).toBe(true);
  const all = await bot.slash('status', { user: 'U0STRANGER' });
  const allA = await all.answer();
  expect(allA.text).toContain('You hold no role on any client');
});
