import { startBot, type Bot } from '../slack/harness.js';
import { insertBackup } from '../../src/store/backup-register.js';
import { listAudit } from '../../src/store/audit.js';

let bot: Bot;
beforeAll(async () => { bot = await startBot(); });
afterAll(async () => { await bot?.close(); });

test('empty register: says so and how to take one', async () => {
  const res = await bot.slash('list demo');
  expect(res.json.text).toContain('No backups of *demo* in the register yet');
});

test('the newest backups, newest first, with verification status', async () => {
  const pool = bot.server.ctx.pool;
  const t = Date.now();
  await insertBackup(pool, { client: 'demo', takenAt: new Date(t - 3_600_000 * 3), type: 'scheduled', file: 'backup_a.sql.gz', key: 'k/a', sizeBytes: 1000, verified: true, executedBy: 'schedule', result: 'OK', sha256: 'abcdef0123456789'.repeat(4), locations: [{ destination: 'local', ok: true }] });
  await insertBackup(pool, { client: 'demo', takenAt: new Date(t - 3_600_000 * 2), type: 'manual', file: 'backup_b.sql.gz', key: 'k/b', sizeBytes: 2000, verified: false, executedBy: 'Olga', result: 'OK' });
  await insertBackup(pool, { client: 'demo', takenAt: new Date(t - 3_600_000), type: 'manual', executedBy: 'Olga', result: 'Error', verified: false, observations: 'pg_dump: permission denied for table lotes' });
  for (let i = 0; i < 20; i++) await insertBackup(pool, { client: 'demo', takenAt: new Date(t - 86_400_000 * (i + 2)), type: 'scheduled', file: `backup_old${i}.sql.gz`, key: `k/old${i}`, sizeBytes: 10, verified: true, executedBy: 'schedule', result: 'OK' });
  const res = await bot.slash('list demo', { user: 'U0QA' });
  const lines = (res.json.text as string).split('\n');
  expect(lines[0]).toContain('Newest backups of demo');
  expect(lines[1]).toContain(':x:');
  expect(lines[1]).toContain('failed: pg_dump: permission denied for table lotes');
  expect(lines[2]).toContain(':warning:');
  expect(lines[2]).toContain('backup_b.sql.gz');
  expect(lines[2]).toContain('not verified');
  expect(lines[3]).toContain(':white_check_mark:');
  expect(lines[3]).toContain('sha256 abcdef012345');
  expect(lines).toHaveLength(1 + 15);
  expect(res.json.blocks.length).toBeLessThanOrEqual(50);
});

test('refusal: no role on the client → polite refusal, audited, nothing listed', async () => {
  const res = await bot.slash('list demo', { user: 'U0STRANGER' });
  expect(res.json.text).toContain('you need a role on *demo*');
  expect(res.json.text).not.toContain('backup_');
  expect((await listAudit(bot.server.ctx.pool, { action: 'authz.refused' })).some((a) => a.target === 'list the backups of demo')).toBe(true);
});
