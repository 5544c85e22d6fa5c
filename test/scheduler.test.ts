/** @needs slow */
import { afterAll, afterEach, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { testConfig } from './helpers/config.js';
import { testContext } from './helpers/context.js';
import { RecordingNotifier } from './helpers/notifier.js';
import type { OutFile } from '../src/notify/sink.js';
import type { Context } from '../src/context.js';
import type { Config } from '../src/config/schema.js';
import { fillSampleDatabase } from '../src/core/demo-database.js';
import { createScheduler, cronTimer, MAX_SLEEP_MS, scheduleFor, type Scheduler } from '../src/scheduler.js';
import { upcomingFire } from '../src/operations/schedule.js';
import { getJobState, listJobStates, setLastFire } from '../src/store/job-state.js';
import { getRun, listRuns } from '../src/store/runs.js';
import { listBackups } from '../src/store/backup-register.js';
import { startServer } from '../src/server.js';
import { silentLogger } from '../src/logger.js';

/**
 * The bree scheduler with its real worker threads (dist/jobs, built by `npm run build`) against the real
 * state database. Schedules are never waited for here: jobs are started through catch-up or run().
 */
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const JOBS = join(DIST, 'jobs');
const WEEK = 7 * 86_400_000;

let state: TestDatabase;
let src: TestDatabase;
let dir: string;
let config: Config;
const open: Array<Context | Scheduler> = [];
type TestContext = Awaited<ReturnType<typeof testContext>>;

async function ctxFor(): Promise<TestContext> {
  const c = await testContext(config);
  open.push(c);
  return c;
}

/** A jobs directory: the real compiled jobs, with some files replaced. */
function jobsDirWith(replace: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'bbt-jobs-'));
  for (const f of readdirSync(JOBS)) if (f.endsWith('.js') && !(f in replace)) symlinkSync(join(JOBS, f), join(d, f));
  for (const [f, body] of Object.entries(replace)) writeFileSync(join(d, f), body);
  return d;
}
const distUrl = (p: string) => pathToFileURL(join(DIST, p)).href;
/** A job that records a `job` run, works for `ms`, then finishes it. */
const slowJob = (ms: number) => `
import { runJobWorker } from '${distUrl('jobs/worker.js')}';
await runJobWorker(async (ctx, spec) => {
  const run = await ctx.store.runs.start({ kind: 'job', client: null, actor: 'schedule', trigger: 'schedule', details: { job: 'slow:' + spec.name }, instance: ctx.instance });
  await new Promise((r) => setTimeout(r, ${ms}));
  await ctx.store.runs.finish(run.id, { status: 'ok' });
  return { job: spec.job, client: '', status: 'ok', runId: run.id };
});
`;

/** A job that records a `job` run and waits until its signal is aborted (runJob hands the body the worker's signal). */
const abortableJob = `
import { runJobWorker } from '${distUrl('jobs/worker.js')}';
import { runJob } from '${distUrl('operations/job-runner.js')}';
await runJobWorker((ctx, spec, signal) => runJob(ctx, { job: spec.job, client: '', cron: spec.cron, signal }, async (_fire, signal) => {
  const run = await ctx.store.runs.start({ kind: 'job', client: null, actor: 'schedule', trigger: 'schedule', details: { job: 'abortable:' + spec.name }, instance: ctx.instance });
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  await ctx.store.runs.finish(run.id, { status: 'interrupted', error: 'stopped by its signal: ' + signal.reason.message });
  throw signal.reason;
}));
`;

beforeAll(async () => {
  state = await createTestDatabase('bbt_scheduler');
  src = await createTestDatabase('bbt_scheduler_src');
  await fillSampleDatabase(src.url);
  dir = mkdtempSync(join(tmpdir(), 'bbt-sched-store-'));
  config = testConfig({ stateUrl: state.url, demoUrl: src.url, storageDir: dir, client: { channel: 'C0DEMO', schedule: '0 3 * * *', verify: { minTables: 4, tables: [] } } });
});
afterAll(async () => {
  for (const o of open.reverse()) {
    if ('bree' in o) await o.stop({ timeoutMs: 100 }).catch(() => undefined);
    else await o.close().catch(() => undefined);
  }
  await src?.drop();
  await state?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('schedule', () => {
  test('one list from the config: per-client backups, the shared jobs, their config keys', () => {
    const specs = scheduleFor(config);
    expect(specs.map((s) => s.name)).toEqual(['scheduled-backup:demo', 'retention', 'integrity-check', 'restore-test', 'watchdog', 'digest', 'evidence-report']);
    expect(specs.find((s) => s.name === 'evidence-report')).toMatchObject({ cron: '0 7 1 * *', keys: ['demo'], keyPath: 'schedules.evidenceReport' });
    expect(specs.find((s) => s.name === 'integrity-check')).toMatchObject({ cron: '0 6 * * 1#1', keys: ['demo'], keyPath: 'schedules.integrityCheck' });
    expect(specs.find((s) => s.name === 'digest')).toMatchObject({ cron: '0 8 * * *', keys: [''] });
    expect(specs[0]).toMatchObject({ cron: '0 3 * * *', client: 'demo', keyPath: 'clients.demo.schedule' });
  });

  test('bree gets no cron: the timers fire on cron-parser\'s instants, the first Monday only', async () => {
    const ctx = await ctxFor();
    const s = await createScheduler(ctx);
    open.push(s);
    for (const job of s.bree.config.jobs as Array<{ name: string; cron?: string; interval?: number; timeout?: number | boolean }>) {
      expect(job.cron).toBeUndefined();
      expect(job.interval ?? 0).toBe(0);
    }
    expect(s.nextFires()).toEqual({});
    await s.start();
    const next = s.nextFires();
    const now = ctx.clock.now();
    expect(next['integrity-check']).toEqual(upcomingFire('0 6 * * 1#1', 'UTC', now));
    expect(next['integrity-check']!.getUTCDay()).toBe(1);
    expect(next['integrity-check']!.getUTCDate()).toBeLessThanOrEqual(7);
    expect(next['scheduled-backup:demo']).toEqual(upcomingFire('0 3 * * *', 'UTC', now));
    await s.stop();
    expect(s.nextFires()).toEqual({});
  });
});

describe('cronTimer', () => {
  afterEach(() => { jest.useRealTimers(); });

  test('fires at each instant of "0 3 * * 0" in Europe/Madrid across the spring DST change, on time and once', () => {
    jest.useFakeTimers({ now: new Date('2026-03-16T00:00:00Z') });
    const fired: Array<{ fire: string; at: string }> = [];
    const t = cronTimer('0 3 * * 0', 'Europe/Madrid', (fire) => fired.push({ fire: fire.toISOString(), at: new Date().toISOString() }));
    expect(t.next.toISOString()).toBe('2026-03-22T02:00:00.000Z');
    jest.advanceTimersByTime(21 * 86_400_000);
    t.cancel();
    expect(fired).toEqual([
      { fire: '2026-03-22T02:00:00.000Z', at: '2026-03-22T02:00:00.000Z' },
      { fire: '2026-03-29T01:00:00.000Z', at: '2026-03-29T01:00:00.000Z' },
      { fire: '2026-04-05T01:00:00.000Z', at: '2026-04-05T01:00:00.000Z' },
    ]);
  });

  test('"0 6 * * 1#1" in America/New_York fires on first Mondays only, across the autumn change; a timer far away (> 24.8 days) does not fire early', () => {
    jest.useFakeTimers({ now: new Date('2026-09-08T00:00:00Z') });
    const fired: string[] = [];
    const t = cronTimer('0 6 * * 1#1', 'America/New_York', (fire) => { expect(Date.now()).toBe(fire.getTime()); fired.push(fire.toISOString()); });
    jest.advanceTimersByTime(26 * 86_400_000); // 2026-10-04: the next fire is still ahead
    expect(fired).toEqual([]);
    jest.advanceTimersByTime(65 * 86_400_000); // to 2026-12-08
    t.cancel();
    expect(fired).toEqual(['2026-10-05T10:00:00.000Z', '2026-11-02T11:00:00.000Z', '2026-12-07T11:00:00.000Z']);
  });

  test('a wall clock that jumps past a fire runs it within a minute, once', () => {
    jest.useFakeTimers({ now: new Date('2026-03-01T02:00:00Z') });
    const fired: string[] = [];
    const t = cronTimer('0 3 * * *', 'UTC', (fire) => fired.push(fire.toISOString()));
    jest.setSystemTime(new Date('2026-03-01T03:30:00Z')); // NTP step / resumed VM: timers did not run
    jest.advanceTimersByTime(MAX_SLEEP_MS);
    expect(fired).toEqual(['2026-03-01T03:00:00.000Z']);
    expect(t.next.toISOString()).toBe('2026-03-02T03:00:00.000Z');
    t.cancel();
  });
});

describe('scheduler', () => {
  test('a first start records a baseline and runs nothing; a schedule missed while down is caught up once', async () => {
    const ctx = await ctxFor();
    const s1 = await createScheduler(ctx);
    open.push(s1);
    expect((await s1.start()).caughtUp).toEqual([]);
    const states = await listJobStates(ctx.pool);
    expect(states.map((r) => `${r.job}/${r.client}`).sort()).toEqual(['digest/', 'evidence-report/demo', 'integrity-check/demo', 'restore-test/demo', 'retention/demo', 'scheduled-backup/demo', 'watchdog/']);
    await s1.stop();

    // The bot was down when the digest should have been posted.
    const fire = (await getJobState(ctx.pool, 'digest', ''))!.last_fire;
    await setLastFire(ctx.pool, 'digest', '', new Date(fire.getTime() - 86_400_000));
    const s2 = await createScheduler(ctx);
    open.push(s2);
    const result = new Promise((r) => s2.events.on('result', (name: string, o: unknown) => { if (name === 'digest') r(o); }));
    expect((await s2.start()).caughtUp).toEqual(['digest']);
    expect(await result).toEqual([expect.objectContaining({ job: 'digest', status: 'ok' })]);
    expect(ctx.notifier.texts().filter((t) => t.includes('Backup digest'))).toHaveLength(1);
    expect((await getJobState(ctx.pool, 'digest', ''))!.last_fire).toEqual(fire);
    await s2.stop();

    // Started again: nothing is behind any more.
    const s3 = await createScheduler(ctx);
    open.push(s3);
    expect((await s3.start()).caughtUp).toEqual([]);
    await s3.stop();
    expect(ctx.notifier.texts().filter((t) => t.includes('Backup digest'))).toHaveLength(1);
  });

  test('two schedulers (two replicas) catching up the same missed backup at once take it once', async () => {
    const a = await ctxFor();
    const b = await ctxFor();
    const fire = (await getJobState(a.pool, 'scheduled-backup', 'demo'))!.last_fire;
    await setLastFire(a.pool, 'scheduled-backup', 'demo', new Date(fire.getTime() - WEEK));
    const before = (await listBackups(a.pool, { client: 'demo' })).length;
    const sa = await createScheduler(a);
    const sb = await createScheduler(b);
    open.push(sa, sb);
    const outcome = (s: Scheduler) => new Promise<Array<{ status: string; reason?: string }>>((r) => s.events.on('result', (n: string, o: Array<{ status: string }>) => { if (n === 'scheduled-backup:demo') r(o); }));
    const [oa, ob] = [outcome(sa), outcome(sb)];
    const [ca, cb] = await Promise.all([sa.start(), sb.start()]);
    expect(ca.caughtUp).toContain('scheduled-backup:demo');
    expect(cb.caughtUp).toContain('scheduled-backup:demo');
    const results = [(await oa)[0]!, (await ob)[0]!];
    expect(results.map((r) => r.status).sort()).toEqual(['ok', 'skipped']);
    expect(['another instance is running it', 'already ran']).toContain(results.find((r) => r.status === 'skipped')!.reason);
    const after = await listBackups(a.pool, { client: 'demo' });
    expect(after.length).toBe(before + 1);
    expect(after[0]).toMatchObject({ type: 'scheduled', result: 'OK', verified: true });
    // Messages from the workers reached the main thread's notifier (the backup's progress message).
    expect([...a.notifier.texts(), ...b.notifier.texts()].some((t) => /demo/.test(t))).toBe(true);
    await Promise.all([sa.stop(), sb.stop()]);
  });

  test('a job that throws is recorded failed and alerted; the scheduler keeps running jobs', async () => {
    const ctx = await ctxFor();
    const jobsDir = jobsDirWith({ 'digest.js': "throw new Error('digest exploded');\n" });
    const s = await createScheduler(ctx, { jobsDir });
    open.push(s);
    await s.start();
    const failed = await s.run('digest');
    expect(failed).toEqual([expect.objectContaining({ job: 'digest', status: 'failed' })]);
    expect(failed[0]!.error).toContain('digest exploded');
    const run = await getRun(ctx.pool, failed[0]!.runId!);
    expect(run).toMatchObject({ kind: 'job', status: 'failed', details: { job: 'digest' } });
    expect(ctx.notifier.texts().some((t) => t.includes('Scheduled job *digest* failed') && t.includes('digest exploded'))).toBe(true);
    // Still alive: the next job runs (the watchdog claims its fire: ok, or skipped when this fire already ran).
    await setLastFire(ctx.pool, 'watchdog', '', new Date(0));
    const next = await s.run('watchdog');
    expect(next).toEqual([expect.objectContaining({ job: 'watchdog', status: 'ok' })]);
    await s.stop();
    rmSync(jobsDir, { recursive: true, force: true });
  });

  test('stop waits for a running job to finish; past the shutdown timeout it cancels it and marks its run interrupted', async () => {
    const ctx = await ctxFor();
    const jobsDir = jobsDirWith({ 'watchdog.js': slowJob(1500), 'digest.js': slowJob(60_000) });
    const s = await createScheduler(ctx, { jobsDir });
    open.push(s);
    await s.start();
    const done = s.run('watchdog');
    while (!s.running().includes('watchdog')) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    expect(await s.stop({ timeoutMs: 20_000 })).toEqual({ cancelled: [] });
    expect(Date.now() - t0).toBeGreaterThan(500);
    const [o] = await done;
    expect((await getRun(ctx.pool, o!.runId!))!.status).toBe('ok');
    await expect(s.run('watchdog')).rejects.toThrow('stopping');

    const s2 = await createScheduler(ctx, { jobsDir });
    open.push(s2);
    await s2.start();
    void s2.run('digest');
    let runId: string | undefined;
    while (!runId) {
      runId = (await listRuns(ctx.pool, { kind: 'job', status: 'running' })).find((r) => (r.details as { job?: string }).job === 'slow:digest')?.id;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await s2.stop({ timeoutMs: 300 })).cancelled).toContain('digest');
    expect(s2.running()).toEqual([]);
    expect((await getRun(ctx.pool, runId))!.status).toBe('interrupted');
    rmSync(jobsDir, { recursive: true, force: true });
  });

  test('cancel means cancel: a job waiting on its AbortSignal ends promptly on stop() with a short shutdown timeout', async () => {
    const ctx = await ctxFor();
    const jobsDir = jobsDirWith({ 'digest.js': abortableJob });
    const s = await createScheduler(ctx, { jobsDir, cancelGraceMs: 20_000 });
    open.push(s);
    await s.start();
    await setLastFire(ctx.pool, 'digest', '', new Date(0));
    const outcome = s.run('digest');
    let runId: string | undefined;
    while (!runId) {
      runId = (await listRuns(ctx.pool, { kind: 'job', status: 'running' })).find((r) => (r.details as { job?: string }).job === 'abortable:digest')?.id;
      await new Promise((r) => setTimeout(r, 50));
    }
    const failedDigests = async () => (await listRuns(ctx.pool, { kind: 'job', status: 'failed' })).filter((r) => (r.details as { job?: string }).job === 'digest').length;
    const failedBefore = await failedDigests();
    const t0 = Date.now();
    // (a job whose own cron fires meanwhile, the watchdog at a quarter hour, is cancelled too)
    expect((await s.stop({ timeoutMs: 300 })).cancelled).toContain('digest');
    const took = Date.now() - t0;
    // The body saw the abort and ended: well inside the 20 s grace, which is only for a body that ignores it.
    expect(took).toBeLessThan(5000);
    expect(s.running()).toEqual([]);
    expect(await outcome).toEqual([expect.objectContaining({ job: 'digest', status: 'cancelled', reason: 'cancelled: the bot is stopping' })]);
    const run = await getRun(ctx.pool, runId);
    expect(run).toMatchObject({ status: 'interrupted', error: 'stopped by its signal: cancelled: the bot is stopping' });
    // A deliberate cancel is not alerted as a failed job.
    expect(ctx.notifier.texts().some((t) => t.includes('Scheduled job *digest* failed'))).toBe(false);
    expect(await failedDigests()).toBe(failedBefore);
    rmSync(jobsDir, { recursive: true, force: true });
  });

  test('a crash mid-backup (its process killed) is marked interrupted and reported at the next start', async () => {
    // A real process takes a run and dies with SIGKILL, as a crash would.
    const script = `
      const { createContext } = await import(${JSON.stringify(distUrl('context.js'))});
      const ctx = await createContext(JSON.parse(process.env.CFG));
      const run = await ctx.store.runs.start({ kind: 'backup', client: 'demo', actor: 'schedule', trigger: 'schedule', instance: ctx.instance });
      await ctx.store.runs.step(run.id, 'dumping');
      process.stdout.write(run.id);
      process.kill(process.pid, 'SIGKILL');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, CFG: JSON.stringify(config) }, encoding: 'utf8' });
    expect(child.signal).toBe('SIGKILL');
    const runId = child.stdout.trim();
    expect(runId).toMatch(/^\d+$/);

    // What its upload had written so far.
    mkdirSync(join(dir, 'demo'), { recursive: true });
    const partial = join(dir, 'demo', 'backup_2026-01-01_03-00-00.sql.gz.abcd1234.partial');
    writeFileSync(partial, 'half a dump');

    const notifier = new RecordingNotifier();
    const server = await startServer({ config, source: 'test', notes: [] }, { sink: notifier, logger: silentLogger, handleSignals: false, scheduler: {} });
    try {
      expect(server.scheduler).toBeDefined();
      const run = await server.ctx.store.runs.get(runId);
      expect(run).toMatchObject({ status: 'interrupted', step: 'dumping' });
      // One message for the client: the run and the leftover it cleaned.
      expect(notifier.texts().filter((t) => t.includes('Recovered what a stopped process left for *demo*'))).toEqual([
        expect.stringContaining(`run ${runId} (backup, last step "dumping") marked interrupted; 1 leftover partial upload removed from storage "local"`),
      ]);
      expect(existsSync(partial)).toBe(false);
    } finally {
      await server.stop();
    }
  });

  test('the evidence-report job runs in its worker thread: the previous month\'s PDF bytes reach the main thread\'s sink', async () => {
    const notifier = new (class extends RecordingNotifier {
      readonly files: OutFile[] = [];
      async upload(_channel: string, f: OutFile): Promise<boolean> { this.files.push(f); return true; }
    })();
    const ctx = await testContext(config, { notifier });
    open.push(ctx);
    const s = await createScheduler(ctx);
    open.push(s);
    await s.start();
    await setLastFire(ctx.pool, 'evidence-report', 'demo', new Date(0));
    const out = await s.run('evidence-report');
    expect(out).toEqual([expect.objectContaining({ job: 'evidence-report', client: 'demo', status: 'ok' })]);
    expect(notifier.files).toHaveLength(1);
    expect(notifier.files[0]!.filename).toMatch(/^evidence-report_demo_\d{4}-\d{2}\.pdf$/);
    expect(Buffer.from(notifier.files[0]!.bytes).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(notifier.files[0]!.comment).toContain('*Evidence report of demo for ');
    await s.stop();
  }, 120_000);
});
