import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, PG_ADMIN_URL, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { FakeClock, testContext , type TestContext } from '../helpers/context.js';
import type { Context } from '../../src/context.js';
import type { RecordingNotifier } from '../helpers/notifier.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { scheduledBackup, scheduledIntegrityCheck, scheduledRestoreTest, scheduledRetention } from '../../src/operations/scheduled-jobs.js';
import { withLock } from '../../src/store/locks.js';
import { finishRun, listRuns, startRun } from '../../src/store/runs.js';
import { listBackups } from '../../src/store/backup-register.js';
import { listAlerts, listOpenAlerts } from '../../src/store/alerts.js';
import { insertRestoreTest } from '../../src/store/restore-test-register.js';
import { runBackup } from '../../src/operations/backup.js';

let state: TestDatabase;
let src: TestDatabase;
let dir: string;
let ctx: TestContext;
const clock = new FakeClock(new Date());
/**
 * A fire time no other test has used: a job runs once per fire (the claim), so tests that shared a minute
 * would depend on which ran first. Each test moves the clock to its own minute, after the real time.
 */
let minute = Math.floor(Date.now() / 60_000);
const freshMinute = () => clock.set(new Date(++minute * 60_000 + 10_000));

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try { await c.query(sql); } finally { await c.end(); }
}

beforeAll(async () => {
  state = await createTestDatabase('bbt_sched_state');
  src = await createTestDatabase('bbt_sched_src');
  await fillSampleDatabase(src.url);
  dir = mkdtempSync(join(tmpdir(), 'bbt-sched-'));
  const config = testConfig({ stateUrl: state.url, demoUrl: src.url, storageDir: dir, client: { channel: 'C0DEMO', schedule: '* * * * *', verify: { minTables: 4, tables: ['lotes'] } } });
  ctx = await testContext(config, { clock });
});
afterAll(async () => {
  await ctx?.close().catch(() => undefined);
  await src?.drop().catch(() => undefined);
  if (src) await admin(`DROP DATABASE IF EXISTS "${src.name}_off" WITH (FORCE)`).catch(() => undefined);
  await state?.drop().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('scheduled-backup', () => {
  test('takes a scheduled backup through runBackup (trigger schedule, type scheduled)', async () => {
    freshMinute();
    const r = await scheduledBackup(ctx, { client: 'demo', cron: '* * * * *' });
    expect(r).toMatchObject({ job: 'scheduled-backup', client: 'demo', status: 'ok' });
    const [b] = await listBackups(ctx.pool, { client: 'demo' });
    expect(b).toMatchObject({ type: 'scheduled', result: 'OK', verified: true, run_id: r.runId });
    const [run] = await listRuns(ctx.pool, { kind: 'backup', client: 'demo' });
    expect(run).toMatchObject({ id: r.runId, trigger: 'schedule', status: 'ok' });
  });

  test('a backup already running (from Slack) means skip, never overlap', async () => {
    freshMinute();
    const slackRun = await startRun(ctx.pool, { kind: 'backup', client: 'demo', actor: 'U0OPER', trigger: 'slack', instance: ctx.instance });
    const before = (await listRuns(ctx.pool, { kind: 'backup', client: 'demo' })).length;
    const held = await withLock(ctx.pool, 'backup', 'demo', () => scheduledBackup(ctx, { client: 'demo', cron: '* * * * *' }));
    expect(held.acquired).toBe(true);
    const r = held.acquired ? held.value : undefined;
    expect(r).toMatchObject({ status: 'skipped' });
    expect(r!.reason).toContain(`a backup of demo is already running (run ${slackRun.id})`);
    expect((await listRuns(ctx.pool, { kind: 'backup', client: 'demo' })).length).toBe(before);
    await finishRun(ctx.pool, slackRun.id, { status: 'ok' });
  });

  test('an unreachable database: the run fails and an S2 alert is posted at once; when it is back, resolved', async () => {
    await admin(`ALTER DATABASE "${src.name}" RENAME TO "${src.name}_off"`);
    freshMinute();
    const failed = await scheduledBackup(ctx, { client: 'demo', cron: '* * * * *' });
    expect(failed.status).toBe('failed');
    const open = await listOpenAlerts(ctx.pool, 'demo');
    expect(open.map((a) => a.kind)).toEqual(['backup']);
    const alert = ctx.notifier.posts.find((p) => p.ref.ts === open[0]!.slack_ts)!;
    expect(alert.channel).toBe('C0DEMO');
    expect(alert.message.text).toContain('S2');
    expect(alert.message.text).toContain('<@U0OPER>');

    // Still down at the next fire: no second alert.
    freshMinute();
    expect((await scheduledBackup(ctx, { client: 'demo', cron: '* * * * *' })).status).toBe('failed');
    expect(ctx.notifier.texts().filter((t) => t.includes('S2 — backups of demo'))).toHaveLength(1);

    await admin(`ALTER DATABASE "${src.name}_off" RENAME TO "${src.name}"`);
    freshMinute();
    expect((await scheduledBackup(ctx, { client: 'demo', cron: '* * * * *' })).status).toBe('ok');
    expect(await listOpenAlerts(ctx.pool, 'demo')).toHaveLength(0);
    expect((await listAlerts(ctx.pool, { client: 'demo' }))[0]!.resolved_at).not.toBeNull();
    expect(ctx.notifier.texts().filter((t) => t.startsWith(':white_check_mark: Resolved'))).toHaveLength(1);
  });
});

describe('scheduled-backup cancelled by a stop (work from the queue)', () => {
  /** Runs a queued attempt whose pg_dump waits for a table lock of the test; the stop's signal aborts it mid-dump. */
  async function cancelledAttempt(n: number, of: number) {
    const holder = new pg.Client({ connectionString: src.url });
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE lotes IN ACCESS EXCLUSIVE MODE');
      freshMinute();
      const stop = new AbortController();
      const attempt = { id: `w-${n}-${minute}`, n, of, fire: clock.now().toISOString(), waitedSeconds: 0 };
      const pending = scheduledBackup(ctx, { client: 'demo', cron: '* * * * *', signal: stop.signal, attempt });
      for (let i = 0; i < 200 && !(await listRuns(ctx.pool, { kind: 'backup', client: 'demo', status: 'running' })).some((r) => r.step === 'dumping'); i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      stop.abort(new Error('the bot is stopping'));
      // The killed pg_dump's server backend goes on waiting for the lock until it is let go.
      await new Promise((r) => setTimeout(r, 300));
      await holder.query('ROLLBACK');
      return await pending;
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
  }

  test('with attempts left the work goes back to the queue: no S2 alert; on the last attempt the interrupted backup is alerted', async () => {
    const alertsBefore = ctx.notifier.texts().filter((t) => t.includes('S2 — backups of demo')).length;
    const first = await cancelledAttempt(1, 2);
    expect(first.status).toBe('cancelled');
    expect((await ctx.store.runs.get(first.runId!))!.status).toBe('interrupted');
    expect(await listOpenAlerts(ctx.pool, 'demo')).toEqual([]);
    expect(ctx.notifier.texts().filter((t) => t.includes('S2 — backups of demo'))).toHaveLength(alertsBefore);

    const last = await cancelledAttempt(2, 2);
    expect(last.status).toBe('cancelled');
    expect((await listOpenAlerts(ctx.pool, 'demo')).map((a) => a.kind)).toEqual(['backup']);
    expect(ctx.notifier.texts().filter((t) => t.includes('S2 — backups of demo'))).toHaveLength(alertsBefore + 1);
    // A good backup resolves it (and leaves the next tests a clean client).
    freshMinute();
    expect((await scheduledBackup(ctx, { client: 'demo', cron: '* * * * *' })).status).toBe('ok');
    expect(await listOpenAlerts(ctx.pool, 'demo')).toEqual([]);
  }, 60_000);
});

describe('integrity-check and retention with the backup engine', () => {
  test('integrity-check reads back the newest backup of every client (a verify run) and posts one summary', async () => {
    freshMinute();
    // Its own backup to read back: the test does not rely on the scheduled-backup tests having run first.
    const taken = await runBackup(ctx, { client: 'demo', actor: 'test', trigger: 'cli', notify: false });
    expect(taken).toMatchObject({ ok: true, verified: true });
    const [r] = await scheduledIntegrityCheck(ctx, { cron: '* * * * *' });
    expect(r).toMatchObject({ job: 'integrity-check', client: 'demo', status: 'ok' });
    const [run] = await listRuns(ctx.pool, { kind: 'verify', client: 'demo' });
    expect(run).toMatchObject({ id: r!.runId, trigger: 'schedule', status: 'ok' });
    expect(ctx.notifier.texts().at(-1)).toContain('Monthly integrity check (SOP 8.2)');
    expect(ctx.notifier.texts().at(-1)).toContain(':white_check_mark: *demo*: newest backup read back and verified');
    // Same fire again (another replica, a catch-up): nothing runs.
    const [again] = await scheduledIntegrityCheck(ctx, { cron: '* * * * *' });
    expect(again).toMatchObject({ status: 'skipped', reason: 'already ran' });
  });

  test('retention runs the engine\'s prune per client (a prune run, trigger schedule)', async () => {
    freshMinute();
    const [r] = await scheduledRetention(ctx, { cron: '* * * * *' });
    expect(r).toMatchObject({ job: 'retention', client: 'demo', status: 'ok' });
    const [run] = await listRuns(ctx.pool, { kind: 'prune', client: 'demo' });
    expect(run).toMatchObject({ id: r!.runId, trigger: 'schedule' });
  });
});

describe('restore-test', () => {
  test('restore-test: skipped in other months, and when the quarter already has a passing test', async () => {
    clock.set('2026-04-01T05:00:10Z');
    const [april] = await scheduledRestoreTest(ctx, { cron: '0 5 1 * *' });
    expect(april).toMatchObject({ status: 'skipped' });
    expect(april!.reason).toContain('month 4 is not a restore-test month');

    await insertRestoreTest(ctx.pool, { client: 'demo', testedAt: new Date('2026-05-10T10:00:00Z'), executedBy: 'U0OPER', result: 'OK' });
    clock.set('2026-06-01T05:00:10Z');
    const [june] = await scheduledRestoreTest(ctx, { cron: '0 5 1 * *' });
    expect(june).toMatchObject({ status: 'skipped' });
    // Passed but not yet signed by QA: not run again (QA is reminded instead).
    expect(june!.reason).toContain('the 2026-Q2 restore test passed and awaits QA\'s signature');
  });
});
