import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createTestDatabase, type TestDatabase, asSuperuser } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { FakeClock, testContext , type TestContext } from '../helpers/context.js';
import type { Context } from '../../src/context.js';
import type { RecordingNotifier } from '../helpers/notifier.js';
import { insertBackup } from '../../src/store/backup-register.js';
import { finishRun, startRun } from '../../src/store/runs.js';
import { listAlerts, listOpenAlerts } from '../../src/store/alerts.js';
import { setLastFire } from '../../src/store/job-state.js';
import { checkClient, evaluateClient, runWatchdog } from '../../src/operations/watchdog.js';
import { fireInterval } from '../../src/operations/schedule.js';

const H = 3_600_000;
let db: TestDatabase;
let ctx: TestContext;
const clock = new FakeClock(new Date('2026-03-02T04:00:00Z'));

/** A backup run and its register row, as the backup engine writes them. */
async function backup(at: Date, ok: boolean, client = 'demo', error = 'connection refused'): Promise<string> {
  const run = await startRun(ctx.pool, { kind: 'backup', client, actor: 'schedule', trigger: 'schedule', startedAt: at, instance: ctx.instance });
  await finishRun(ctx.pool, run.id, { status: ok ? 'ok' : 'failed', error: ok ? null : error, at: new Date(at.getTime() + 60_000) });
  if (ok) {
    await insertBackup(ctx.pool, { runId: run.id, client, takenAt: at, type: 'scheduled', key: `demo/backup_${at.toISOString()}.sql.gz`, file: `backup_${at.toISOString()}.sql.gz`, sizeBytes: 1000, verified: true, verifiedAt: at, executedBy: 'schedule', result: 'OK' });
  }
  return run.id;
}

beforeAll(async () => {
  db = await createTestDatabase('bbt_watchdog');
  // demo: daily 03:00 UTC, 6 h grace, RPO 2 days; operators U0OPER + group S0OPS.
  const config = testConfig({
    stateUrl: db.url,
    client: { rpo: '2d', channel: 'C0DEMO', roles: { operators: ['U0OPER', 'S0OPS'], qa: ['U0QA'], systemOwners: ['U0OWNER'], itManagers: [] } },
    raw: { schedules: { watchdogGrace: '6h' } },
  });
  ctx = await testContext(config, { clock });
});
afterAll(async () => {
  await ctx?.close();
  await db?.drop();
});

describe('watchdog', () => {
  test('the interval comes from the cron: the time between its two latest fires', () => {
    expect(fireInterval('0 3 * * *', 'UTC', clock.now())).toBe(24 * H);
    expect(fireInterval('0 3 * * 0', 'UTC', clock.now())).toBe(7 * 24 * H);
    expect(fireInterval('*/5 * * * *', 'UTC', clock.now())).toBe(5 * 60_000);
  });

  test('a fresh verified backup raises nothing', async () => {
    await backup(new Date('2026-03-02T03:00:00Z'), true);
    const r = await runWatchdog(ctx);
    expect(r.opened).toHaveLength(0);
    expect(r.statuses[0]).toMatchObject({ stale: false, failed: false, rpoBreach: false });
    expect(ctx.notifier.posts).toHaveLength(0);
  });

  test('a backup older than interval + grace opens ONE S2 alert mentioning the operators, once per incident', async () => {
    clock.set('2026-03-03T08:59:00Z'); // 29 h 59 m: inside 24 h + 6 h
    expect((await runWatchdog(ctx)).opened).toHaveLength(0);
    clock.set('2026-03-03T09:01:00Z'); // 30 h 1 m
    const r1 = await runWatchdog(ctx);
    expect(r1.opened.map((a) => a.kind)).toEqual(['backup']);
    expect(ctx.notifier.posts).toHaveLength(1);
    const post = ctx.notifier.posts[0]!;
    expect(post.channel).toBe('C0DEMO');
    expect(post.message.text).toContain('S2');
    expect(post.message.text).toContain('<@U0OPER>');
    expect(post.message.text).toContain('<!subteam^S0OPS>');
    expect(post.message.text).toContain('1d 6h old');
    expect(post.message.text).not.toContain('RPO breach');

    // Later passes, same incident: nothing new posted, still one open row.
    clock.advance(5 * 60_000);
    expect((await runWatchdog(ctx)).opened).toHaveLength(0);
    clock.advance(5 * 60_000);
    expect((await checkClient(ctx, 'demo')).opened).toHaveLength(0);
    expect(ctx.notifier.posts).toHaveLength(1);
    const open = await listOpenAlerts(ctx.pool, 'demo');
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ kind: 'backup', severity: 'S2', slack_channel: 'C0DEMO', slack_ts: post.ref.ts });
    // Its §13.5 incident, with the button to record the cause and the fix.
    expect(JSON.stringify(post.message.blocks)).toContain(`"action_id":"record_incident","value":"${open[0]!.incident_id}"`);
  });

  test('older than the RPO is called out as an RPO breach (one more post, once)', async () => {
    clock.set('2026-03-04T03:01:00Z'); // 2 d 1 m > RPO 2d
    const r = await runWatchdog(ctx);
    expect(r.opened.map((a) => a.kind)).toEqual(['rpo']);
    expect(ctx.notifier.posts).toHaveLength(2);
    expect(ctx.notifier.posts[1]!.message.text).toContain('RPO breach');
    expect(ctx.notifier.posts[1]!.message.text).toContain('older than the RPO of 2d');
    expect((await runWatchdog(ctx)).opened).toHaveLength(0);
    expect(ctx.notifier.posts).toHaveLength(2);
    expect(await listOpenAlerts(ctx.pool, 'demo')).toHaveLength(2);
  });

  test('a good backup resolves the incident once: rows resolved, alert messages updated, one "resolved" message', async () => {
    clock.set('2026-03-04T05:00:00Z');
    await backup(new Date('2026-03-04T04:55:00Z'), true);
    const r = await runWatchdog(ctx);
    expect(r.resolved.map((a) => a.kind).sort()).toEqual(['backup', 'rpo']);
    expect(await listOpenAlerts(ctx.pool, 'demo')).toHaveLength(0);
    const all = await listAlerts(ctx.pool, { client: 'demo' });
    expect(all.every((a) => a.resolved_at !== null)).toBe(true);
    expect(ctx.notifier.posts).toHaveLength(3);
    expect(ctx.notifier.posts[2]!.message.text).toMatch(/^:white_check_mark: Resolved: .*demo/);
    // Resolved by the bot, the incidents stay for the cause and the fix (runbook §5 step 4).
    expect(ctx.notifier.posts[2]!.message.text).toMatch(/Record the cause and the fix of incidents #\d+, #\d+ \(runbook §5 step 4\)/);
    expect((await ctx.store.incidents.list({ client: 'demo' })).map((i) => i.status)).toEqual(['resolved', 'resolved']);
    expect(ctx.notifier.updates).toHaveLength(2); // both alert messages edited in place
    expect(ctx.notifier.updates.every((u) => u.message.text.includes('Resolved'))).toBe(true);
    // And not again.
    clock.advance(5 * 60_000);
    const again = await runWatchdog(ctx);
    expect(again.resolved).toHaveLength(0);
    expect(again.opened).toHaveLength(0);
    expect(ctx.notifier.posts).toHaveLength(3);
  });

  test('a failed last backup run opens an alert with the error; the next good run resolves it', async () => {
    clock.set('2026-03-05T03:05:00Z');
    await backup(new Date('2026-03-05T03:00:00Z'), false, 'demo', 'could not connect to database "gone"');
    const r = await checkClient(ctx, 'demo');
    expect(r.status).toMatchObject({ failed: true, stale: false, rpoBreach: false });
    expect(r.opened.map((a) => a.kind)).toEqual(['backup']);
    expect(ctx.notifier.posts.at(-1)!.message.text).toContain('could not connect to database "gone"');
    expect((await checkClient(ctx, 'demo')).opened).toHaveLength(0);

    clock.set('2026-03-05T03:20:00Z');
    await backup(new Date('2026-03-05T03:15:00Z'), true);
    const ok = await checkClient(ctx, 'demo');
    expect(ok.resolved.map((a) => a.kind)).toEqual(['backup']);
    const rows = await listAlerts(ctx.pool, { client: 'demo' });
    expect(rows.filter((a) => a.kind === 'backup')).toHaveLength(2);
    expect(rows.filter((a) => a.resolved_at === null)).toHaveLength(0);
  });

  test('a client without any verified backup is measured from when scheduling started', async () => {
    const other = await testContext(testConfig({ stateUrl: db.url, client: { channel: 'C0DEMO' } }), { clock });
    try {
      await asSuperuser(other.pool, "DELETE FROM backup_register");
      await other.pool.query("DELETE FROM runs WHERE kind = 'backup'");
      await setLastFire(other.pool, 'scheduled-backup', 'demo', new Date('2026-03-05T03:00:00Z'));
      await other.pool.query("UPDATE job_state SET since = '2026-03-05T03:00:00Z' WHERE job = 'scheduled-backup'");
      clock.set('2026-03-06T08:00:00Z');
      expect(await evaluateClient(other, 'demo')).toMatchObject({ stale: false, lastVerified: null });
      clock.set('2026-03-06T09:30:00Z');
      const s = await evaluateClient(other, 'demo');
      expect(s).toMatchObject({ stale: true, lastVerified: null });
      const r = await checkClient(other, 'demo');
      expect(other.notifier.posts[0]!.message.text).toContain('No verified backup since scheduling started');
      expect(r.opened).toHaveLength(1);
    } finally {
      await other.close();
    }
  });
});
