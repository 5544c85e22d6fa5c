import { afterAll, beforeAll, expect, test } from '@jest/globals';
import pg from 'pg';
import { startBot, DEMO_CHANNEL, type Bot } from '../slack/harness.js';
import { listRuns } from '../../src/store/runs.js';
import { listBackups } from '../../src/store/backup-register.js';
import { until } from '../helpers/wait.js';

/**
 * Issue 21: with the shared work queue (serve with its scheduler), `/backup now` waits for a free slot like
 * scheduled work. One slot (workers.maxConcurrent 1) is held by a backup whose dump waits at a table lock
 * of the test; further requests are answered at once with their place in the queue, and run when it frees.
 */
let bot: Bot;
let blocker: pg.Client;

beforeAll(async () => {
  bot = await startBot({ client: { roles: { operators: ['U0OPER'] } }, workers: { maxConcurrent: 1 } });
  blocker = new pg.Client({ connectionString: bot.demo.url });
  await blocker.connect();
  // Not a verify table: the row counts do not read it, pg_dump waits for it.
  await blocker.query('CREATE TABLE IF NOT EXISTS bloqueo (id int)');
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE bloqueo IN ACCESS EXCLUSIVE MODE');
}, 60_000);
afterAll(async () => {
  await blocker?.end().catch(() => undefined);
  await bot?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('/backup now while the queue is full: answered at once with its place in the queue, run when a slot frees', async () => {
  const first = await bot.slash('now demo');
  expect((await first.answer()).text).toContain('Backup of *demo* queued: it starts as soon as a slot is free');
  const running = await until('the first backup to hold the slot', async () => (await listRuns(bot.pool, { client: 'demo', kind: 'backup', status: 'running' }))[0], 30_000);

  // The slot is taken: the next two wait, each told how many are before it.
  const second = await bot.slash('now demo');
  const secondA = await second.answer();
  expect(second.ms).toBeLessThan(3000);
  expect(secondA).toMatchObject({ response_type: 'ephemeral' });
  expect(secondA.text).toContain('Backup of *demo* queued: it starts as soon as a slot is free');
  const third = await bot.slash('now demo');
  const thirdA = await third.answer();
  expect(third.ms).toBeLessThan(3000);
  expect(thirdA.text).toBe(`:hourglass_flowing_sand: Backup of *demo* queued: 1 ahead of it. Progress will be shown in <#${DEMO_CHANNEL}>.`);
  await sleep(2000);
  // /backup status shows what waits, how long, and its place.
  const status = await (await bot.slash('status demo')).answer();
  expect(status.text).toMatch(/:hourglass_flowing_sand: A backup is running/);
  expect(status.text).toMatch(/:hourglass: Queued: backup-now, waiting \d+ ?s \(next\)\n:hourglass: Queued: backup-now, waiting \d+ ?s \(1 ahead of it\)/);
  // Still one backup at a time: the queued ones have not started.
  expect((await listRuns(bot.pool, { client: 'demo', kind: 'backup' })).map((r) => r.status)).toEqual(['running']);
  const queued = await bot.pool.query<{ n: string }>(`SELECT count(*) AS n FROM backup_bot_queue.job WHERE name = 'work' AND state < 'active'`);
  expect(Number(queued.rows[0]!.n)).toBe(2);

  await blocker.query('COMMIT');
  const runs = await until('three finished backups', async () => {
    const rs = await listRuns(bot.pool, { client: 'demo', kind: 'backup' });
    return rs.length === 3 && rs.every((r) => r.status !== 'running') && rs;
  }, 120_000);
  expect(runs.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
  // One after the other, each as the requester (re-authorized when it ran), each saying how long it waited.
  const byStart = [...runs].sort((a, b) => new Date(a.started_at).getTime() - new Date(b.started_at).getTime());
  expect(byStart[0]!.id).toBe(running.id);
  for (let i = 1; i < byStart.length; i++) expect(new Date(byStart[i]!.started_at).getTime()).toBeGreaterThanOrEqual(new Date(byStart[i - 1]!.finished_at!).getTime());
  for (const r of runs) {
    expect(r).toMatchObject({ trigger: 'slack', actor: 'U0OPER' });
    expect((r.details as { work?: { attempt: number } }).work?.attempt).toBe(1);
  }
  expect(((byStart[2]!.details as { work: { waitedSeconds: number } }).work.waitedSeconds)).toBeGreaterThanOrEqual(2);
  expect((await listBackups(bot.pool, { client: 'demo' })).map((b) => b.result)).toEqual(['OK', 'OK', 'OK']);
}, 180_000);
