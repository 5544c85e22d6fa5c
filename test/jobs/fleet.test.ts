/** @needs real-time (two real `serve` replicas on one state database; about two minutes; needs `npm run build`) */
import { afterAll, afterEach, expect, test } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { CLI } from '../helpers/cli.js';
import { createTestDatabase, withPg, type TestDatabase } from '../helpers/db.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { testSigningKeyPath } from '../helpers/signing-key.js';
import { validateConfig } from '../../src/config/load.js';
import { testContext } from '../helpers/context.js';
import { setLastFire } from '../../src/store/job-state.js';
import { listRuns } from '../../src/store/runs.js';
import { listBackups } from '../../src/store/backup-register.js';
import { latestFire } from '../../src/operations/schedule.js';
import { listAlerts } from '../../src/store/alerts.js';
import { buildDigest } from '../../src/operations/digest.js';
import { renderDigest } from '../../src/notify/slack/render/digest.js';
import { until } from '../helpers/wait.js';

/**
 * Issue 21: several `serve` replicas on one state database share the scheduled work through the queue.
 * Dumps are held at their first table lock by a transaction of the test (LOCK TABLE … ACCESS EXCLUSIVE), so a
 * dump process stays alive until the test lets it go: what is sampled is how many dumps the replicas let run
 * at once, not how fast they happen to be.
 */
const SUNDAY_0300 = '0 3 * * 0';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Replica { child: ChildProcess; out: string; name: string }
const replicas: Replica[] = [];
const databases: TestDatabase[] = [];
const blockers: pg.Client[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const r of replicas.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  for (const b of blockers.splice(0)) await b.end().catch(() => undefined);
});
afterAll(async () => {
  for (const d of databases) await d.drop().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function logs(): string {
  return replicas.map((r) => `--- ${r.name} (pid ${r.child.pid}) ---\n${r.out.slice(-5000)}`).join('\n');
}

/** A client database with a table to back up and one held locked by a transaction of the test until `release()`. */
async function lockedClientDatabase(prefix: string): Promise<{ db: TestDatabase; release: () => Promise<void> }> {
  const db = await createTestDatabase(prefix);
  databases.push(db);
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query('CREATE TABLE lotes (id int PRIMARY KEY, nombre text); INSERT INTO lotes SELECT g, md5(g::text) FROM generate_series(1, 200) g; CREATE TABLE bloqueo (id int)');
  // Not a verify table (the row counts do not read it): pg_dump is the first to wait for it.
  await c.query('BEGIN');
  await c.query('LOCK TABLE bloqueo IN ACCESS EXCLUSIVE MODE');
  blockers.push(c);
  return { db, release: async () => { await c.query('COMMIT').catch(() => undefined); } };
}

function fleetConfig(dir: string, state: TestDatabase, clients: Record<string, TestDatabase>, workers: Record<string, unknown>) {
  return {
    timezone: 'UTC',
    state: { url: state.url },
    storage: { local: { type: 'local', path: join(dir, 'backups') } },
    clients: Object.fromEntries(Object.entries(clients).map(([name, db]) => [name, {
      database: { engine: 'postgres', url: db.url }, schedule: SUNDAY_0300, storage: ['local'], verify: { minTables: 1, tables: ['lotes'] },
    }])),
    // Nothing else fires while the test runs.
    schedules: { watchdog: '0 0 1 1 *', digest: '0 0 1 1 *', retention: '0 0 1 1 *', integrityCheck: '0 0 1 1 *', restoreTest: '0 0 1 1 *', shutdownTimeout: '30s' },
    workers,
    metrics: { listen: '127.0.0.1:0' },
    evidence: { signingKey: testSigningKeyPath() },
  };
}

/** Writes the config and says the last Sunday 03:00 fire of every client was missed: each replica catches them up at start. */
async function prepare(dir: string, raw: ReturnType<typeof fleetConfig>): Promise<string> {
  const config = validateConfig(raw, 'fleet test');
  const path = join(dir, 'backup-bot.yml');
  writeFileSync(path, stringify(raw));
  const ctx = await testContext(config);
  try {
    const missed = new Date(latestFire(SUNDAY_0300, 'UTC', new Date()).getTime() - 7 * 86_400_000);
    for (const c of Object.keys(raw.clients)) await setLastFire(ctx.pool, 'scheduled-backup', c, missed);
  } finally {
    await ctx.close();
  }
  return path;
}

function startReplica(name: string, cfgPath: string): Replica {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', cfgPath], { env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Replica = { child, out: '', name };
  child.stdout!.on('data', (c: Buffer) => { r.out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { r.out += c.toString(); });
  replicas.push(r);
  return r;
}

/** The pg_dump processes each replica runs right now (by parent pid: the job's worker thread is in the replica's process). */
function dumpsByReplica(): Map<number, number> {
  const pids = new Set(replicas.map((r) => r.child.pid!));
  const counts = new Map<number, number>();
  const ps = execFileSync('ps', ['-eo', 'pid=,ppid=,comm='], { encoding: 'utf8' });
  for (const line of ps.split('\n')) {
    const [, ppid, comm] = line.trim().split(/\s+/);
    if (comm === 'pg_dump' && pids.has(Number(ppid))) counts.set(Number(ppid), (counts.get(Number(ppid)) ?? 0) + 1);
  }
  return counts;
}

function partialFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries;
    try { entries = readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.includes('.partial')) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

/**
 * Issue 21: a killed replica's backup "completes on the other replica within the lease timeout plus one backup's
 * time". The backup's own time is its run row's (started → finished); pg-boss sees a lost lease at its monitor's
 * next tick (a quarter of the lease, see work-queue.ts) and the other replica takes the retry at its next poll
 * (2 s); starting the job's worker thread and cleaning the dead attempt is given 5 s.
 */
function takeoverBound(leaseMs: number, ok: { started_at: Date | string; finished_at: Date | string | null }): { backupMs: number; boundMs: number } {
  const backupMs = new Date(ok.finished_at!).getTime() - new Date(ok.started_at).getTime();
  const detectMs = Math.max(1000, Math.floor(leaseMs / 4)) + 2000 + 5000;
  return { backupMs, boundMs: leaseMs + backupMs + detectMs };
}

async function stopAll(): Promise<Array<number | null>> {
  return Promise.all(replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null).map((r) => new Promise<number | null>((ok) => {
    r.child.on('close', (code) => ok(code));
    r.child.kill('SIGTERM');
  })));
}

test('twelve clients on one fire, two replicas with maxConcurrent 2: never more than four dumps at once, each client backed up exactly once, by both replicas', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bbt-fleet-'));
  dirs.push(dir);
  const state = await createTestDatabase('bbt_fleet_state');
  databases.push(state);
  const clients: Record<string, TestDatabase> = {};
  const releases: Array<() => Promise<void>> = [];
  for (let i = 1; i <= 12; i++) {
    const { db, release } = await lockedClientDatabase(`bbt_fleet_c${i}`);
    clients[`c${String(i).padStart(2, '0')}`] = db;
    releases.push(release);
  }
  // perDatabaseHost above the fleet's slots: here the replicas' own limit is what holds dumps back.
  const cfgPath = await prepare(dir, fleetConfig(dir, state, clients, { maxConcurrent: 2, perDatabaseHost: 12, leaseTimeout: '30s' }));

  const a = startReplica('A', cfgPath);
  const b = startReplica('B', cfgPath);
  let max = 0;
  const perReplicaMax = new Map<number, number>();
  const sampler = setInterval(() => {
    const counts = dumpsByReplica();
    let total = 0;
    for (const [pid, n] of counts) { total += n; perReplicaMax.set(pid, Math.max(perReplicaMax.get(pid) ?? 0, n)); }
    max = Math.max(max, total);
  }, 100);
  try {
    await until('both replicas to start', () => a.out.includes('scheduled job(s)') && b.out.includes('scheduled job(s)'), 60_000);
    // Every slot fills with a held dump; the other eight wait in the queue.
    await until('four dumps held at once', () => max >= 4, 60_000);
    await sleep(4000);
    expect(max).toBe(4);
    const db = await testContext(validateConfig(fleetConfig(dir, state, clients, {}), 'fleet test'));
    try {
      const queued = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM backup_bot_queue.job WHERE name = 'work' AND state < 'active'`);
      expect(Number(queued.rows[0]!.n)).toBe(8);
      // /metrics of a replica: the queue's depth, its oldest wait, and the work running here and in the fleet.
      const url = /\/healthz and \/metrics on (http:\/\/\S+)/.exec(a.out)![1]!;
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^backupbot_work_queued 8$/m);
      expect(metrics).toMatch(/^backupbot_work_active 4$/m);
      expect(metrics).toMatch(new RegExp(`^backupbot_work_running\\{replica="[^"]+:${a.child.pid}"\\} 2$`, 'm'));
      expect(Number(/^backupbot_work_oldest_wait_seconds (\S+)$/m.exec(metrics)![1])).toBeGreaterThan(3);
      // Let the dumps go, one every 300 ms.
      for (const r of releases) { await r(); await sleep(300); }
      await until('twelve finished backups', async () => (await listRuns(db.pool, { kind: 'backup', limit: 100 })).filter((r) => r.status !== 'running').length >= 12 && true, 120_000);
      await sleep(3000);
      const runs = await listRuns(db.pool, { kind: 'backup', limit: 100 });
      for (const c of Object.keys(clients)) {
        const mine = runs.filter((r) => r.client === c);
        expect({ c, runs: mine.map((r) => r.status) }).toEqual({ c, runs: ['ok'] });
        expect((await listBackups(db.pool, { client: c })).map((x) => x.result)).toEqual(['OK']);
        expect((mine[0]!.details as { work?: { attempt: number } }).work?.attempt).toBe(1);
      }
      // Both replicas took work; neither ran more than its two slots.
      expect(new Set(runs.map((r) => r.pid))).toEqual(new Set([a.child.pid, b.child.pid]));
      for (const n of perReplicaMax.values()) expect(n).toBeLessThanOrEqual(2);
      expect(max).toBe(4);
      const left = await db.pool.query<{ state: string; n: string }>(`SELECT state, count(*) AS n FROM backup_bot_queue.job WHERE name = 'work' GROUP BY state`);
      expect(left.rows.map((r) => [r.state, Number(r.n)])).toEqual([['completed', 12]]);
      // The digest shows the queue: nothing waits now; twelve pieces started in 24 h, the last ones after a wait.
      const digest = await buildDigest(db);
      expect(digest.queue).toMatchObject({ queued: 0, active: 0, started24h: 12 });
      expect(digest.queue!.longestWait24hSeconds).toBeGreaterThan(4);
      expect(renderDigest(digest).text).toMatch(/:hourglass: Work queue: nothing waiting, 0 running; in 24 h 12 piece\(s\) of work started, the longest wait \d+(?:s|m(?: \d+s)?|h(?: \d+m)?)(?=\n|$)/);
    } finally {
      await db.close();
    }
  } finally {
    clearInterval(sampler);
  }
  expect(await stopAll()).toEqual([0, 0]);
  process.stdout.write(`fleet test: at most ${max} dumps at once; per replica ${JSON.stringify([...perReplicaMax.values()])}\n`);
}, 240_000);

test('a replica killed (SIGKILL) mid-backup: the other takes the work after the lease and completes it; no .partial, no running row', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bbt-fleet-kill-'));
  dirs.push(dir);
  const state = await createTestDatabase('bbt_fleet_kstate');
  databases.push(state);
  const { db: gammaDb, release } = await lockedClientDatabase('bbt_fleet_gamma');
  const leaseMs = 10_000;
  const cfgPath = await prepare(dir, fleetConfig(dir, state, { gamma: gammaDb }, { maxConcurrent: 2, leaseTimeout: '10s', attempts: 2 }));

  const a = startReplica('A', cfgPath);
  const b = startReplica('B', cfgPath);
  await until('both replicas to start', () => a.out.includes('scheduled job(s)') && b.out.includes('scheduled job(s)'), 60_000);
  const runner = await until('the dump of gamma to start', () => [...dumpsByReplica().keys()][0], 60_000);
  const victim = replicas.find((r) => r.child.pid === runner)!;
  const survivor = replicas.find((r) => r !== victim)!;
  await until('the dump file being written', () => partialFiles(dir).length > 0 && true, 10_000);

  victim.child.kill('SIGKILL');
  const killedAt = Date.now();
  await release();

  const db = await testContext(validateConfig(fleetConfig(dir, state, { gamma: gammaDb }, {}), 'fleet test'));
  try {
    const ok = await until('the backup of gamma on the other replica', async () => (await listRuns(db.pool, { client: 'gamma', kind: 'backup', status: 'ok' }))[0], leaseMs + 60_000);
    const tookMs = Date.now() - killedAt;
    const { backupMs, boundMs } = takeoverBound(leaseMs, ok);
    expect(tookMs).toBeLessThanOrEqual(boundMs);
    // And not before the lease ran out: the other replica waited for it.
    expect(new Date(ok.started_at).getTime()).toBeGreaterThan(killedAt + leaseMs / 2);
    expect(ok.pid).toBe(survivor.child.pid);
    expect((ok.details as { work?: { attempt: number; of: number } }).work).toMatchObject({ attempt: 2, of: 2 });
    const runs = await listRuns(db.pool, { client: 'gamma', kind: 'backup' });
    expect(runs.map((r) => [r.status, r.pid]).sort()).toEqual([['interrupted', victim.child.pid], ['ok', survivor.child.pid]].sort());
    expect(await listRuns(db.pool, { status: 'running' })).toEqual([]);
    expect(partialFiles(dir)).toEqual([]);
    expect((await listBackups(db.pool, { client: 'gamma', onlyOk: true, verifiedOnly: true })).length).toBe(1);
    // The run row ends before the job's worker reports back; then the work is completed, on its second attempt.
    const work = async () => (await db.pool.query<{ state: string; retry_count: number }>(`SELECT state, retry_count FROM backup_bot_queue.job WHERE name = 'work'`)).rows;
    await until('the work to be completed', async () => (await work())[0]?.state === 'completed', 20_000);
    expect(await work()).toEqual([{ state: 'completed', retry_count: 1 }]);
    expect(survivor.out).toMatch(/attempt 2 of scheduled-backup for gamma: the earlier attempt's replica is gone/);
    process.stdout.write(`fleet kill test: the backup completed on the other replica ${Math.round(tookMs / 100) / 10} s after the kill (lease ${leaseMs / 1000} s, the backup itself ${Math.round(backupMs / 100) / 10} s, bound ${Math.round(boundMs / 100) / 10} s)\n`);
  } finally {
    await db.close();
  }
  expect(await stopAll()).toEqual([0]);
}, 240_000);

test('workers.perDatabaseHost 1: four clients on one database server, two replicas with free slots: never two dumps against it at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bbt-fleet-host-'));
  dirs.push(dir);
  const state = await createTestDatabase('bbt_fleet_hstate');
  databases.push(state);
  const clients: Record<string, TestDatabase> = {};
  const releases: Array<() => Promise<void>> = [];
  for (let i = 1; i <= 4; i++) {
    const { db, release } = await lockedClientDatabase(`bbt_fleet_h${i}`);
    clients[`h${i}`] = db;
    releases.push(release);
  }
  const cfgPath = await prepare(dir, fleetConfig(dir, state, clients, { maxConcurrent: 2, perDatabaseHost: 1, maxWait: '4s' }));
  const a = startReplica('A', cfgPath);
  const b = startReplica('B', cfgPath);
  let max = 0;
  const sampler = setInterval(() => { max = Math.max(max, [...dumpsByReplica().values()].reduce((x, y) => x + y, 0)); }, 100);
  const db = await testContext(validateConfig(fleetConfig(dir, state, clients, {}), 'fleet test'));
  try {
    await until('both replicas to start', () => a.out.includes('scheduled job(s)') && b.out.includes('scheduled job(s)'), 60_000);
    await until('one dump held', () => max >= 1, 60_000);
    const runsHold = new Set((await listRuns(db.pool, { kind: 'backup', status: 'running' })).map((r) => r.client));
    await sleep(5000);
    expect(max).toBe(1);
    // The others wait in the queue: the server's group is full. pg-boss counts a group's active work without a lock,
    // so two replicas fetching at the same instant may each start one (at most one per replica); the second then
    // waits for the server's slot before its dump, which is what the sampled maximum above shows.
    const states = await db.pool.query<{ client: string; state: string }>(`SELECT data->>'client' AS client, state::text FROM backup_bot_queue.job WHERE name = 'work'`);
    const active = states.rows.filter((r) => r.state === 'active').length;
    expect(active).toBeGreaterThanOrEqual(1);
    expect(active).toBeLessThanOrEqual(2);
    const waitingClients = states.rows.filter((r) => r.state === 'created').map((r) => r.client).sort();
    expect(waitingClients).toHaveLength(4 - active);
    expect(runsHold.size).toBe(1);
    // Waiting longer than workers.maxWait (4 s): one S2 alert per waiting client, though both replicas check.
    await until('the queue_wait alerts', async () => (await listAlerts(db.pool, {})).filter((x) => x.kind === 'queue_wait').length === waitingClients.length, 20_000);
    await sleep(3000);
    const waitAlerts = (await listAlerts(db.pool, {})).filter((x) => x.kind === 'queue_wait');
    expect(waitAlerts.map((x) => x.client).sort()).toEqual(waitingClients);
    const posted = replicas.map((r) => r.out.split('\n').filter((l) => l.includes('in the work queue (workers.maxWait 4s)')).length);
    expect(posted.reduce((x, y) => x + y, 0)).toBe(waitingClients.length);
    expect(a.out + b.out).toMatch(/:warning: \*S2\* scheduled-backup has waited \d+ s in the work queue \(workers.maxWait 4s\) \(\*h\d\*\): [23] piece\(s\) of work are queued/);
    for (const r of releases) await r();
    await until('four finished backups', async () => (await listRuns(db.pool, { kind: 'backup', limit: 100 })).filter((r) => r.status === 'ok').length === 4, 120_000);
    const runs = (await listRuns(db.pool, { kind: 'backup', limit: 100 })).sort((x, y) => new Date(x.started_at).getTime() - new Date(y.started_at).getTime());
    // One after the other: each dump started after the previous one ended.
    for (let i = 1; i < runs.length; i++) expect(new Date(runs[i]!.started_at).getTime()).toBeGreaterThanOrEqual(new Date(runs[i - 1]!.finished_at!).getTime() - 1000);
    expect(max).toBe(1);
    // Nothing waits any more: the alerts are resolved.
    await until('the queue_wait alerts resolved', async () => (await listAlerts(db.pool, {})).filter((x) => x.kind === 'queue_wait' && x.resolved_at === null).length === 0, 20_000);
  } finally {
    clearInterval(sampler);
    await db.close();
  }
  expect(await stopAll()).toEqual([0, 0]);
}, 240_000);

test('a replica stopped with SIGTERM mid-backup (graceful stop): the work goes back to the queue and its next attempt completes on the other replica; each attempt recorded with its replica', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bbt-fleet-term-'));
  dirs.push(dir);
  const state = await createTestDatabase('bbt_fleet_tstate');
  databases.push(state);
  const { db: deltaDb, release } = await lockedClientDatabase('bbt_fleet_delta');
  const raw = fleetConfig(dir, state, { delta: deltaDb }, { maxConcurrent: 2, leaseTimeout: '30s', attempts: 2 });
  raw.schedules.shutdownTimeout = '2s';
  const cfgPath = await prepare(dir, raw);

  const a = startReplica('A', cfgPath);
  const b = startReplica('B', cfgPath);
  await until('both replicas to start', () => a.out.includes('scheduled job(s)') && b.out.includes('scheduled job(s)'), 60_000);
  const runner = await until('the dump of delta to start', () => [...dumpsByReplica().keys()][0], 60_000);
  const victim = replicas.find((r) => r.child.pid === runner)!;
  const survivor = replicas.find((r) => r !== victim)!;
  await until('the dump file being written', () => partialFiles(dir).length > 0 && true, 10_000);

  const db = await testContext(validateConfig(fleetConfig(dir, state, { delta: deltaDb }, {}), 'fleet test'));
  try {
    const exited = new Promise<number | null>((ok) => victim.child.once('exit', (code) => ok(code)));
    const t0 = Date.now();
    victim.child.kill('SIGTERM');
    // A graceful stop: it waits shutdownTimeout (2 s) for the backup, cancels it, and exits 0 well before the lease (30 s) runs out.
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    // Handed back: the work waits for its next attempt (not `active` under a lease nobody renews).
    const handedBack = await db.pool.query<{ state: string; retry_count: number; output: { message?: string } }>(`SELECT state, retry_count, output FROM backup_bot_queue.job WHERE name = 'work'`);
    // (or already taken by the other replica's next poll: its attempt 2 then waits for the held dump lock).
    expect(handedBack.rows).toHaveLength(1);
    expect([['retry', 0], ['active', 1]]).toContainEqual([handedBack.rows[0]!.state, handedBack.rows[0]!.retry_count]);
    if (handedBack.rows[0]!.state === 'retry') expect(handedBack.rows[0]!.output).toMatchObject({ message: 'scheduled-backup:delta was cancelled (the bot is stopping)' });
    const first = (await listRuns(db.pool, { client: 'delta', kind: 'backup' })).find((r) => r.pid === victim.child.pid)!;
    expect(first).toMatchObject({ status: 'interrupted', instance: expect.any(Number) });
    expect((first.details as { work?: unknown }).work).toMatchObject({ attempt: 1, of: 2 });
    // The other replica takes attempt 2.
    await release();
    const ok = await until('the backup of delta on the other replica', async () => (await listRuns(db.pool, { client: 'delta', kind: 'backup', status: 'ok' }))[0], 60_000);
    // Well inside the lease: the retry was taken at the next poll (2 s), not when the lease ran out.
    const tookMs = Date.now() - t0;
    expect(tookMs).toBeLessThan(15_000);
    expect(ok.pid).toBe(survivor.child.pid);
    expect(ok.instance).not.toBe(first.instance);
    expect((ok.details as { work?: unknown }).work).toMatchObject({ attempt: 2, of: 2 });
    const runs = await listRuns(db.pool, { client: 'delta', kind: 'backup' });
    expect(runs.map((r) => [(r.details as { work: { attempt: number } }).work.attempt, r.status, r.pid]).sort()).toEqual([[1, 'interrupted', victim.child.pid], [2, 'ok', survivor.child.pid]]);
    expect(await listRuns(db.pool, { status: 'running' })).toEqual([]);
    expect(partialFiles(dir)).toEqual([]);
    expect((await listBackups(db.pool, { client: 'delta', onlyOk: true, verifiedOnly: true })).length).toBe(1);
    const work = async () => (await db.pool.query<{ state: string; retry_count: number }>(`SELECT state, retry_count FROM backup_bot_queue.job WHERE name = 'work'`)).rows;
    await until('the work to be completed', async () => (await work())[0]?.state === 'completed', 20_000);
    expect(await work()).toEqual([{ state: 'completed', retry_count: 1 }]);
    expect(victim.out).toMatch(/"msg":"scheduled-backup for delta: cancelled"/);
    expect(survivor.out).toMatch(/running queued scheduled-backup:delta \(attempt 2 of 2, waited \d+ s\)/);
    // Handed back with an attempt left, the interrupted attempt is no S2 alert (a deploy is not an incident).
    expect((await listAlerts(db.pool, {})).filter((x) => x.client === 'delta')).toEqual([]);
    expect(victim.out).not.toContain('S2 — backups of delta need attention');
    process.stdout.write(`fleet SIGTERM test: attempt 2 completed on the other replica ${Math.round(tookMs / 100) / 10} s after the SIGTERM (lease 30 s, shutdownTimeout 2 s)\n`);
  } finally {
    await db.close();
  }
  expect(await stopAll()).toEqual([0]);
}, 240_000);

test('a replica killed (SIGKILL) mid-backup to S3 (s3rver): the other replica completes it within the lease plus one backup; no open multipart upload, no .partial, no running row', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bbt-fleet-s3-'));
  dirs.push(dir);
  const state = await createTestDatabase('bbt_fleet_s3state');
  databases.push(state);
  const sigmaDb = await createTestDatabase('bbt_fleet_sigma');
  databases.push(sigmaDb);
  // ~14 MB gzipped: more than one 5 MB part of a multipart upload.
  await withPg(sigmaDb.url, (c) => c.query('CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS t FROM generate_series(1, 250000) g'));
  const s3: TestS3 = await startS3(['backups']);
  const s3c = new S3Client({ endpoint: s3.endpoint, region: 'auto', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const openUploads = async () => ((await s3c.send(new ListMultipartUploadsCommand({ Bucket: 'backups' }))).Uploads ?? []).map((u) => u.Key!);
  const leaseMs = 10_000;
  const raw = fleetConfig(dir, state, { sigma: sigmaDb }, { maxConcurrent: 2, leaseTimeout: '10s', attempts: 2 });
  const sigma = raw.clients.sigma as Record<string, unknown>;
  Object.assign(sigma, { storage: ['s3'], gzipLevel: 1, verify: { minTables: 1, tables: ['big'] } });
  Object.assign(raw.storage, {
    s3: { type: 's3', bucket: 'backups', prefix: 'p', endpoint: s3.endpoint, region: 'auto', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' },
  });
  const db = await testContext(validateConfig(raw, 'fleet test'));
  try {
    const cfgPath = await prepare(dir, raw);
    // Parts are stored by s3rver but answered late: the multipart upload is open when the replica dies.
    s3.setFault((req) => (req.method === 'PUT' && req.query.has('uploadId') ? { delayMs: 60_000 } : undefined));
    const a = startReplica('A', cfgPath);
    const b = startReplica('B', cfgPath);
    await until('both replicas to start', () => a.out.includes('scheduled job(s)') && b.out.includes('scheduled job(s)'), 60_000);
    await until('an open multipart upload', async () => (await openUploads()).length > 0, 90_000);
    const dead = await until('the running backup of sigma', async () => (await listRuns(db.pool, { client: 'sigma', kind: 'backup', status: 'running' }))[0], 10_000);
    const victim = replicas.find((r) => r.child.pid === dead.pid)!;
    const survivor = replicas.find((r) => r !== victim)!;
    expect(victim).toBeDefined();
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    s3.setFault(undefined);
    expect(await openUploads()).toEqual([expect.stringMatching(/^p\/sigma\/backup_.*\.sql\.gz$/)]);

    const ok = await until('the backup of sigma on the other replica', async () => (await listRuns(db.pool, { client: 'sigma', kind: 'backup', status: 'ok' }))[0], leaseMs + 90_000);
    const tookMs = Date.now() - killedAt;
    const { backupMs, boundMs } = takeoverBound(leaseMs, ok);
    expect(tookMs).toBeLessThanOrEqual(boundMs);
    expect(ok.pid).toBe(survivor.child.pid);
    expect((ok.details as { work?: unknown }).work).toMatchObject({ attempt: 2, of: 2 });
    const runs = await listRuns(db.pool, { client: 'sigma', kind: 'backup' });
    expect(runs.map((r) => [(r.details as { work: { attempt: number } }).work.attempt, r.status, r.pid]).sort()).toEqual([[1, 'interrupted', victim.child.pid], [2, 'ok', survivor.child.pid]]);
    expect(await listRuns(db.pool, { status: 'running' })).toEqual([]);
    // The dead attempt's upload was aborted before attempt 2 started; attempt 2's own upload completed.
    expect(await openUploads()).toEqual([]);
    const good = (await listBackups(db.pool, { client: 'sigma', onlyOk: true, verifiedOnly: true }));
    expect(good).toHaveLength(1);
    const keys = await s3.storedKeys('backups', 'p/sigma/');
    expect(keys.filter((k) => k.includes('.partial'))).toEqual([]);
    expect(keys).toContain(`p/${good[0]!.key}`);
    expect(keys.filter((k) => k.endsWith('.sql.gz'))).toEqual([`p/${good[0]!.key}`]);
    expect(partialFiles(dir)).toEqual([]);
    expect(survivor.out).toMatch(/attempt 2 of scheduled-backup for sigma: the earlier attempt's replica is gone/);
    expect(survivor.out).toMatch(/"removed":1,"msg":"removed 1 leftover\(s\) of the earlier attempt's backup of sigma"/);
    process.stdout.write(`fleet S3 kill test: the backup completed on the other replica ${Math.round(tookMs / 100) / 10} s after the kill (lease ${leaseMs / 1000} s, the backup itself ${Math.round(backupMs / 100) / 10} s, bound ${Math.round(boundMs / 100) / 10} s)\n`);
    expect(await stopAll()).toEqual([0]);
  } finally {
    s3.setFault(undefined);
    s3c.destroy();
    await db.close();
    await s3.close();
  }
}, 300_000);

test('the only replica stopped with SIGTERM mid-backup: after its restart it runs the next attempt (no lease to wait for)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bbt-fleet-restart-'));
  dirs.push(dir);
  const state = await createTestDatabase('bbt_fleet_rstate');
  databases.push(state);
  const { db: epsDb, release } = await lockedClientDatabase('bbt_fleet_eps');
  const raw = fleetConfig(dir, state, { eps: epsDb }, { maxConcurrent: 2, leaseTimeout: '60s', attempts: 2 });
  raw.schedules.shutdownTimeout = '2s';
  const cfgPath = await prepare(dir, raw);
  const first = startReplica('A', cfgPath);
  await until('the replica to start', () => first.out.includes('scheduled job(s)'), 60_000);
  await until('the dump of eps to start', () => dumpsByReplica().get(first.child.pid!), 60_000);
  const db = await testContext(validateConfig(fleetConfig(dir, state, { eps: epsDb }, {}), 'fleet test'));
  try {
    const exited = new Promise<number | null>((ok) => first.child.once('exit', (code) => ok(code)));
    first.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await release();
    const t0 = Date.now();
    const second = startReplica('A restarted', cfgPath);
    const ok = await until('the backup of eps after the restart', async () => (await listRuns(db.pool, { client: 'eps', kind: 'backup', status: 'ok' }))[0], 60_000);
    // Far inside the 60 s lease: the work was handed back by the stop, not taken back from a lost lease.
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(ok.pid).toBe(second.child.pid);
    const runs = await listRuns(db.pool, { client: 'eps', kind: 'backup' });
    expect(runs.map((r) => [(r.details as { work: { attempt: number } }).work.attempt, r.status, r.pid]).sort()).toEqual([[1, 'interrupted', first.child.pid], [2, 'ok', second.child.pid]]);
    expect(await listRuns(db.pool, { status: 'running' })).toEqual([]);
    expect(partialFiles(dir)).toEqual([]);
    const work = async () => (await db.pool.query<{ state: string; retry_count: number }>(`SELECT state, retry_count FROM backup_bot_queue.job WHERE name = 'work'`)).rows;
    await until('the work to be completed', async () => (await work())[0]?.state === 'completed', 20_000);
    expect(await work()).toEqual([{ state: 'completed', retry_count: 1 }]);
  } finally {
    await db.close();
  }
  expect(await stopAll()).toEqual([0]);
}, 240_000);
