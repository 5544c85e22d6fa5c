/**
 * Escalation (issue 17 item 4): a failed restore test, retention run or integrity check is a tracked alert like
 * the watchdog's — posted once per incident, naming the client's operators (S2) or operators, IT Managers and
 * System Owners (S1), with a §13.5 incident — and is resolved visibly when the same check passes again; a passing
 * restore test is then put to QA.
 * Real PostgreSQL, local storage and Docker.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { FakeClock, testContext, type TestContext } from '../helpers/context.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { scheduledIntegrityCheck, scheduledRetention } from '../../src/operations/scheduled-jobs.js';
import { runBackup } from '../../src/operations/backup.js';
import { runRestoreTest } from '../../src/operations/restore-test.js';
import { listAlerts, listOpenAlerts } from '../../src/store/alerts.js';
import { listClientIncidents } from '../../src/operations/incidents.js';
import { backupOf } from './restore-test-fixtures.js';
import { insertBackup } from '../../src/store/backup-register.js';

const TABLES = ['lotes', 'movimientos', 'users', 'productos'];
let state: TestDatabase;
let src: TestDatabase;
let dir: string;
let ctx: TestContext;
const clock = new FakeClock(new Date());
const HOUR = 3_600_000;

beforeAll(async () => {
  state = await createTestDatabase('bbt_esc_state');
  src = await createTestDatabase('bbt_esc_src');
  await fillSampleDatabase(src.url);
  dir = await mkdtemp(join(tmpdir(), 'bbt-esc-'));
  ctx = await testContext(testConfig({
    stateUrl: state.url, demoUrl: src.url, storageDir: dir,
    client: {
      channel: 'C0DEMO', retention: { scheduled: { days: 180, keep: 1 } }, verify: { minTables: 4, tables: TABLES }, restoreTest: { timeout: '2m', memoryMb: 512, cpus: 1 },
      roles: { operators: ['U0OPER'], itManagers: ['U0ITMGR'], systemOwners: ['U0OWNER'], qa: ['U0QA'] },
    },
  }), { clock });
});
afterAll(async () => {
  await ctx?.close();
  await state?.drop();
  await src?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const newPosts = (from: number) => ctx.notifier.posts.slice(from);

describe('integrity check and retention', () => {
  test('an unreadable newest backup: S1 naming operators, IT Managers and System Owners, once; a good one resolves it visibly', async () => {
    const b = await runBackup(ctx, { client: 'demo', type: 'manual', actor: 'test', trigger: 'cli' });
    expect(b.verified).toBe(true);
    const file = join(dir, b.backup!.key!);
    const good = await readFile(file);
    const bad = Buffer.from(good);
    for (let i = 200; i < 220; i++) bad[i] = bad[i]! ^ 0xff;
    await writeFile(file, bad);

    const cron = '0 * * * *';
    let from = ctx.notifier.posts.length;
    expect((await scheduledIntegrityCheck(ctx, { cron }))[0]).toMatchObject({ status: 'failed' });
    const [alert] = await listOpenAlerts(ctx.pool, 'demo');
    expect(alert).toMatchObject({ kind: 'integrity', severity: 'S1' });
    const posted = newPosts(from).find((p) => p.ref.ts === alert!.slack_ts)!;
    expect(posted.channel).toBe('C0DEMO');
    expect(posted.message.text).toMatch(/S1 — The integrity check of the newest backup \(SOP 8\.2\) of demo failed/);
    for (const id of ['<@U0OPER>', '<@U0ITMGR>', '<@U0OWNER>']) expect(posted.message.text).toContain(id);
    expect(posted.message.text).toContain(`Incident #${alert!.incident_id}`);
    expect(JSON.stringify(posted.message.blocks)).toContain('"value":"' + alert!.incident_id + '"');

    // Still broken an hour later: the check fails again, nothing new is posted (once per incident).
    clock.advance(HOUR);
    from = ctx.notifier.posts.length;
    expect((await scheduledIntegrityCheck(ctx, { cron }))[0]).toMatchObject({ status: 'failed' });
    expect(newPosts(from).filter((p) => /S1 — The integrity check/.test(p.message.text))).toHaveLength(0);
    expect(await listOpenAlerts(ctx.pool, 'demo')).toHaveLength(1);

    // Repaired: resolved — the alert message is edited, a notice is posted, the incident keeps its history.
    await writeFile(file, good);
    clock.advance(HOUR);
    from = ctx.notifier.posts.length;
    expect((await scheduledIntegrityCheck(ctx, { cron }))[0]).toMatchObject({ status: 'ok' });
    expect(await listOpenAlerts(ctx.pool, 'demo')).toHaveLength(0);
    const edit = ctx.notifier.updates.filter((u) => u.ref.ts === alert!.slack_ts).at(-1)!;
    expect(edit.message.text).toMatch(/^:white_check_mark: ~S1 — the integrity check/);
    expect(edit.message.text).toMatch(/Resolved .*: the integrity check ran cleanly \(run \d+\)\. Open for 2h/);
    expect(newPosts(from).some((p) => /Resolved: integrity check alert for \*demo\*/.test(p.message.text))).toBe(true);
    const incident = (await listClientIncidents(ctx, 'demo')).find((i) => i.id === alert!.incident_id)!;
    expect(incident).toMatchObject({ status: 'resolved', severity: 'S1', source: `alert:${alert!.id}` });
  });

  test('retention that cannot delete an expired backup: S2 to the operators only, resolved by the next clean run', async () => {
    // A manual backup past its 90 days whose file cannot be unlinked (a directory stands in its place).
    const key = 'demo/backup_2020-01-01_03-00-00.sql.gz';
    await insertBackup(ctx.pool, { client: 'demo', takenAt: new Date(clock.now().getTime() - 100 * 24 * HOUR), type: 'manual', key, file: 'backup_2020-01-01_03-00-00.sql.gz', verified: true, executedBy: 'test', result: 'OK' });
    await mkdir(join(dir, key, 'x'), { recursive: true });
    const cron = '0 * * * *';
    clock.advance(HOUR);
    const from = ctx.notifier.posts.length;
    expect((await scheduledRetention(ctx, { cron }))[0]).toMatchObject({ status: 'failed' });
    await rm(join(dir, key), { recursive: true });
    const [alert] = await listOpenAlerts(ctx.pool, 'demo');
    expect(alert).toMatchObject({ kind: 'retention', severity: 'S2' });
    const posted = newPosts(from).find((p) => p.ref.ts === alert!.slack_ts)!;
    expect(posted.message.text).toMatch(/S2 — Retention \(clean-up of old backups\) of demo failed/);
    expect(posted.message.text).toContain('<@U0OPER>');
    expect(posted.message.text).not.toContain('<@U0OWNER>');
    clock.advance(HOUR);
    expect((await scheduledRetention(ctx, { cron }))[0]).toMatchObject({ status: 'ok' });
    expect((await listAlerts(ctx.pool, { client: 'demo' })).find((a) => a.id === alert!.id)).toMatchObject({ resolved_message: expect.stringMatching(/^retention ran cleanly/) });
  });
});

describe('restore test', () => {
  test('a failed restore test: one S2 alert naming the operators for two failures in a row; a passing test resolves it', async () => {
    const good = await backupOf(ctx, 'demo', src.url, TABLES);
    const file = join(dir, good.key);
    const bad = Buffer.from(good.body);
    for (let i = 100; i < 110; i++) bad[i] = bad[i]! ^ 0xff;
    await writeFile(file, bad);
    const from = ctx.notifier.posts.length;
    for (let i = 0; i < 2; i++) {
      const out = await runRestoreTest(ctx, { client: 'demo', backupKey: good.row.file!, actor: 'U0OPER', trigger: 'cli' });
      expect(out).toMatchObject({ ok: false, failedStep: 'downloading' });
    }
    const alerts = newPosts(from).filter((p) => /S2 — restore test of demo FAILED/.test(p.message.text));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.message.text).toContain('<@U0OPER>');
    const [open] = await listOpenAlerts(ctx.pool, 'demo');
    expect(open).toMatchObject({ kind: 'restore_test', severity: 'S2', slack_ts: alerts[0]!.ref.ts });

    await writeFile(file, good.body);
    const ok = await runRestoreTest(ctx, { client: 'demo', backupKey: good.row.file!, actor: 'U0OPER', trigger: 'cli' });
    expect(ok.error).toBeUndefined();
    expect(await listOpenAlerts(ctx.pool, 'demo')).toHaveLength(0);
    expect(ctx.notifier.updates.filter((u) => u.ref.ts === open!.slack_ts).at(-1)!.message.text).toMatch(/Resolved .*restore test passed \(run \d+, register row \d+\)/);
    // QA in the loop: the passing test is put to the client's QA with the QA verified button.
    const qa = ctx.notifier.posts.at(-1)!;
    expect(qa.message.text).toContain(`restore test of *demo* passed and is recorded in §12 (row ${ok.register!.id}): QA, please review it`);
    expect(qa.message.text).toContain('<@U0QA>');
    expect(JSON.stringify(qa.message.blocks)).toContain(`"action_id":"qa_verified","value":"${ok.register!.id}"`);
  }, 180_000);
});
