import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { FakeClock, testContext , type TestContext } from '../helpers/context.js';
import type { Context } from '../../src/context.js';
import type { RecordingNotifier } from '../helpers/notifier.js';
import { runJob } from '../../src/operations/job-runner.js';
import { getJobState } from '../../src/store/job-state.js';
import { listRuns } from '../../src/store/runs.js';
import { latestFire } from '../../src/operations/schedule.js';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.js';
import { withLock } from '../../src/store/locks.js';

let db: TestDatabase;
let a: TestContext;
let b: TestContext;
const clock = new FakeClock(new Date('2026-03-01T03:00:00.200Z'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  db = await createTestDatabase('bbt_jobrun');
  const config = testConfig({ stateUrl: db.url, client: { channel: 'C0DEMO' } });
  // Two "replicas": two contexts, two pools, two instance ids, one state database.
  a = await testContext(config, { clock });
  b = await testContext(config, { clock });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await db?.drop();
});

describe('runJob', () => {
  test('two replicas firing the same schedule at once run it once; the other skips and says why', async () => {
    let runs = 0;
    const body = async () => { runs++; await sleep(300); return { runId: 'x' }; };
    const t = { job: 'scheduled-backup', client: 'demo', cron: '0 3 * * *' };
    const [ra, rb] = await Promise.all([runJob(a, t, body), runJob(b, t, body)]);
    expect(runs).toBe(1);
    expect([ra.status, rb.status].sort()).toEqual(['ok', 'skipped']);
    const skipped = ra.status === 'skipped' ? ra : rb;
    expect(['another instance is running it', 'already ran']).toContain(skipped.reason);
    expect((await getJobState(a.pool, 'scheduled-backup', 'demo'))!.last_fire).toEqual(new Date('2026-03-01T03:00:00Z'));
  });

  test('finding the lock taken, a job skips and says so in the log', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) });
    const held = await withLock(b.pool, 'job:digest', '', async () => runJob({ ...a, logger }, { job: 'digest', client: '', cron: '0 8 * * *' }, async () => { throw new Error('must not run'); }));
    expect(held.acquired && held.value).toMatchObject({ status: 'skipped', reason: 'another instance is running it' });
    const held2 = await withLock(b.pool, 'job:retention', 'demo', async () => runJob({ ...a, logger }, { job: 'retention', client: 'demo', cron: '0 8 * * *' }, async () => { throw new Error('must not run'); }));
    expect(held2.acquired && held2.value).toMatchObject({ status: 'skipped' });
    expect(lines.join('')).toContain('skipped: another instance is running retention for demo');
    expect(lines.join('')).toContain('skipped: another instance is running digest');
  });

  test('a replica that fires after the other finished does not run the same fire again', async () => {
    let runs = 0;
    const t = { job: 'retention', client: 'demo', cron: '0 3 * * *' };
    expect((await runJob(a, t, async () => { runs++; })).status).toBe('ok');
    const late = await runJob(b, t, async () => { runs++; });
    expect(late).toMatchObject({ status: 'skipped', reason: 'already ran' });
    expect(runs).toBe(1);
    // The next fire runs again.
    clock.advance(24 * 3_600_000);
    expect((await runJob(b, t, async () => { runs++; })).status).toBe('ok');
    expect(runs).toBe(2);
  });

  test('a job that throws is recorded as a failed `job` run and alerted; it does not throw', async () => {
    const t = { job: 'integrity-check', client: 'demo', cron: '0 3 * * *' };
    const r = await runJob(a, t, async () => { throw new Error('disk on fire (password=hunter2 postgres://u:s3cret@h/db)'); });
    expect(r.status).toBe('failed');
    expect(r.error).toContain('disk on fire');
    expect(r.error).not.toContain('s3cret');
    const [run] = await listRuns(a.pool, { kind: 'job', client: 'demo' });
    expect(run).toMatchObject({ id: r.runId, status: 'failed', trigger: 'schedule', details: { job: 'integrity-check' } });
    expect(run!.error).toContain('disk on fire');
    const post = a.notifier.posts.at(-1)!;
    expect(post.channel).toBe('C0DEMO');
    expect(post.message.text).toContain('Scheduled job *integrity-check* of *demo* failed');
    expect(post.message.text).toContain('<@U0OPER>');
  });

  test('the body gets the signal; aborted, the job ends cancelled: no failed run, no alert; an aborted signal starts nothing', async () => {
    clock.advance(24 * 3_600_000);
    const controller = new AbortController();
    const t = { job: 'restore-test', client: 'demo', cron: '0 3 * * *', signal: controller.signal };
    const posts = a.notifier.posts.length;
    const failedRuns = (await listRuns(a.pool, { kind: 'job', status: 'failed' })).length;
    let seen: AbortSignal | undefined;
    const pending = runJob(a, t, async (_fire, signal) => {
      seen = signal;
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      throw signal.reason;
    });
    while (!seen) await sleep(10);
    controller.abort(new Error('cancelled: the bot is stopping'));
    expect(await pending).toMatchObject({ status: 'cancelled', reason: 'cancelled: the bot is stopping' });
    expect(seen).toBe(controller.signal);
    expect(a.notifier.posts.length).toBe(posts);
    expect(await listRuns(a.pool, { kind: 'job', status: 'failed' })).toHaveLength(failedRuns);
    let ran = false;
    expect(await runJob(a, { ...t, job: 'retention' }, async () => { ran = true; })).toMatchObject({ status: 'cancelled' });
    expect(ran).toBe(false);
  });

  test('the fire is the latest one at or before now (a timer a hair early still counts)', () => {
    expect(latestFire('0 3 * * *', 'UTC', new Date('2026-03-01T02:59:59.700Z'))).toEqual(new Date('2026-03-01T03:00:00Z'));
    expect(latestFire('0 6 * * 1#1', 'UTC', new Date('2026-03-09T06:00:05Z'))).toEqual(new Date('2026-03-02T06:00:00Z'));
  });
});
