import { mkdir, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startBot, type Bot } from '../slack/harness.js';
import { insertBackup } from '../../src/store/backup-register.js';
import { listAudit } from '../../src/store/audit.js';

let bot: Bot;
beforeAll(async () => { bot = await startBot(); });
afterAll(async () => { await bot?.close(); });

const store = async (file: string, body = 'x') => {
  await mkdir(join(bot.storageDir, 'demo'), { recursive: true });
  await writeFile(join(bot.storageDir, 'demo', file), body);
};

test('nothing stored: says so and how to take one', async () => {
  const res = await bot.slash('list demo');
  const resA = await res.answer();
  expect(resA.text).toContain('No stored backups of *demo*');
  expect(resA.text).toContain('/backup now demo');
});

test('the newest stored backups, newest first, with their register status (the listing of `backup-bot list`)', async () => {
  const pool = bot.pool;
  const day = (d: number, h = 3) => `2026-10-${String(d).padStart(2, '0')}_${String(h).padStart(2, '0')}-00-00`;
  const at = (d: number, h = 3) => new Date(`2026-10-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00Z`);
  // verified, stored
  await store(`backup_${day(20)}.sql.gz`, 'a'.repeat(1000));
  await insertBackup(pool, { client: 'demo', takenAt: at(20), type: 'scheduled', file: `backup_${day(20)}.sql.gz`, key: `demo/backup_${day(20)}.sql.gz`, sizeBytes: 1000, tablesCounted: 16, verified: true, executedBy: 'schedule', result: 'OK', sha256: 'abcdef0123456789'.repeat(4), locations: [{ destination: 'local', ok: true }] });
  // stored, not verified
  await store(`backup_${day(21)}.sql.gz`);
  await insertBackup(pool, { client: 'demo', takenAt: at(21), type: 'manual', file: `backup_${day(21)}.sql.gz`, key: `demo/backup_${day(21)}.sql.gz`, sizeBytes: 2000, verified: false, executedBy: 'Olga', result: 'OK' });
  // registered, but the object is gone
  await insertBackup(pool, { client: 'demo', takenAt: at(22), type: 'manual', file: `backup_${day(22)}.sql.gz`, key: `demo/backup_${day(22)}.sql.gz`, sizeBytes: 3000, verified: true, executedBy: 'Olga', result: 'OK' });
  // stored, never registered
  await store(`backup_${day(23)}.sql.gz`);
  // a failed run has no object: not a backup, not listed
  await insertBackup(pool, { client: 'demo', takenAt: at(24), type: 'manual', executedBy: 'Olga', result: 'Error', verified: false, observations: 'pg_dump: permission denied for table lotes' });
  // not a dump: ignored
  await store('notes.txt');
  for (let i = 1; i <= 15; i++) {
    await store(`backup_${day(i)}.sql.gz`);
    await insertBackup(pool, { client: 'demo', takenAt: at(i), type: 'scheduled', file: `backup_${day(i)}.sql.gz`, key: `demo/backup_${day(i)}.sql.gz`, sizeBytes: 10, verified: true, executedBy: 'schedule', result: 'OK' });
  }
  const res = await bot.slash('list demo', { user: 'U0QA' });
  const resA = await res.answer();
  const lines = (resA.text as string).split('\n');
  expect(lines[0]).toBe('*Newest backups of demo* (15 of 19)');
  expect(lines[1]).toMatch(/^:grey_question: .*backup_2026-10-23_03-00-00\.sql\.gz .*not in the register · local not read back$/);
  expect(lines[2]).toMatch(/^:x: .*backup_2026-10-22_03-00-00\.sql\.gz .*MISSING from every destination · local absent$/);
  expect(lines[3]).toMatch(/^:warning: .*manual · backup_2026-10-21_03-00-00\.sql\.gz .*not verified · local not read back$/);
  expect(lines[4]).toMatch(/^:white_check_mark: .*scheduled · backup_2026-10-20_03-00-00\.sql\.gz · .* · 16 tables · verified · sha256 abcdef012345 · local verified$/);
  expect(resA.text).not.toContain('permission denied');
  expect(resA.text).not.toContain('notes.txt');
  expect(lines).toHaveLength(1 + 15);
  expect(resA.blocks.length).toBeLessThanOrEqual(50);
  await rm(join(bot.storageDir, 'demo'), { recursive: true, force: true });
});

test('a destination that cannot be listed is named', async () => {
  await rm(bot.storageDir, { recursive: true, force: true });
  await writeFile(bot.storageDir, 'not a directory');
  try {
    const res = await bot.slash('list demo', { user: 'U0QA' });
    const resA = await res.answer();
    expect(resA.text).toMatch(/:warning: cannot list local: storage "local"/);
  } finally {
    await rm(bot.storageDir, { force: true });
    await mkdir(bot.storageDir);
  }
});

test('refusal: no role on the client → polite refusal, audited, nothing listed', async () => {
  const res = await bot.slash('list demo', { user: 'U0STRANGER' });
  const resA = await res.answer();
  expect(resA.text).toContain('there is no client "demo" on which you hold a role');
  expect(resA.text).not.toContain('backup_');
  expect((await listAudit(bot.pool, { action: 'authz.refused' })).some((a) => a.target === 'list the backups of demo')).toBe(true);
});
