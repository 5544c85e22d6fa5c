/** @needs real-time (waits for two real minute boundaries: left out of `npm run test:unit`) */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { CLI } from '../helpers/cli.js';
import { createTestDatabase, PG_ADMIN_URL, type TestDatabase } from '../helpers/db.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { validateConfig } from '../../src/config/load.js';
import { testContext } from '../helpers/context.js';
import { setLastFire } from '../../src/store/job-state.js';
import { listRuns } from '../../src/store/runs.js';
import { listBackups } from '../../src/store/backup-register.js';
import { listAlerts } from '../../src/store/alerts.js';
import { until } from '../helpers/wait.js';

/**
 * Done-when (issue 5): `backup-bot serve` with two clients on one-minute schedules, left running,
 * takes backups on time, posts a digest, raises an alert when one client's database becomes
 * unreachable, and a resolution when it is back. Real time: about two minutes (the first backups are
 * a catch-up at start — the state says the last fire was missed — so only two minute boundaries are
 * waited for). Needs `npm run build`.
 */
let state: TestDatabase;
let alpha: TestDatabase;
let beta: TestDatabase;
let dir: string;
let child: ChildProcess | undefined;
let out = '';
let err = '';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function admin(sql: string, params: unknown[] = []): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try { await c.query(sql, params); } finally { await c.end(); }
}
/** Renames a database, disconnecting its sessions first (retries while a backup holds a connection). */
async function rename(from: string, to: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [from]);
      await admin(`ALTER DATABASE "${from}" RENAME TO "${to}"`);
      return;
    } catch (e) {
      if (i > 50) throw e;
      await sleep(200);
    }
  }
}

beforeAll(async () => {
  state = await createTestDatabase('bbt_serve_state');
  alpha = await createTestDatabase('bbt_serve_alpha');
  beta = await createTestDatabase('bbt_serve_beta');
  await fillSampleDatabase(alpha.url);
  await fillSampleDatabase(beta.url);
  dir = mkdtempSync(join(tmpdir(), 'bbt-serve-'));
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await admin(`DROP DATABASE IF EXISTS "${beta.name}_off" WITH (FORCE)`).catch(() => undefined);
  for (const d of [alpha, beta, state]) await d?.drop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

test('serve: two clients every minute → backups on time, a digest, an alert for the unreachable one, then its resolution', async () => {
  const raw = {
    timezone: 'UTC',
    state: { url: state.url },
    storage: { local: { type: 'local', path: join(dir, 'backups') } },
    clients: Object.fromEntries([['alpha', alpha], ['beta', beta]].map(([name, db]) => [name as string, {
      database: { engine: 'postgres', url: (db as TestDatabase).url },
      schedule: '* * * * *',
      storage: ['local'],
      verify: { minTables: 4, tables: ['lotes', 'movimientos'] },
      roles: { operators: ['U0OPER'] },
    }])),
    schedules: { watchdog: '* * * * *', digest: '* * * * *', watchdogGrace: '1m', shutdownTimeout: '1m' },
    metrics: { listen: '127.0.0.1:0' },
    // Both clients' databases are on this machine's one server: let both dump at once so that each starts on its minute.
    workers: { perDatabaseHost: 2 },
  };
  const config = validateConfig(raw, 'serve test');
  const cfgPath = join(dir, 'backup-bot.yml');
  writeFileSync(cfgPath, stringify(raw));

  // The state database says both backups' last fire was missed (the bot was down): serve catches them up at start.
  const ctx = await testContext(config);
  try {
    for (const c of ['alpha', 'beta']) await setLastFire(ctx.pool, 'scheduled-backup', c, new Date(Date.now() - 3_600_000));
  } finally {
    await ctx.close();
  }

  const started = Date.now();
  child = spawn(process.execPath, [CLI, 'serve', '--config', cfgPath], { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  await until('serve to start', () => out.includes('scheduled job(s)'), 30_000);
  expect(out).toMatch(/catching up scheduled-backup:alpha, scheduled-backup:beta/);

  const db = await testContext(config);
  try {
    const verified = async (client: string) => (await listBackups(db.pool, { client, onlyOk: true, verifiedOnly: true })).length;
    await until('the caught-up backups', async () => (await verified('alpha')) >= 1 && (await verified('beta')) >= 1, 60_000);

    // beta's database becomes unreachable.
    await rename(beta.name, `${beta.name}_off`);
    const failedAt = await until('a failed backup of beta', async () => (await listRuns(db.pool, { client: 'beta', kind: 'backup', status: 'failed' }))[0], 90_000);
    await until('the S2 alert for beta', () => out.includes('S2 — backups of beta need attention'), 30_000);
    const alerts = await listAlerts(db.pool, { client: 'beta' });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.resolved_at).toBeNull();
    expect(out).toContain('<@U0OPER>');
    expect(await listAlerts(db.pool, { client: 'alpha' })).toHaveLength(0);

    // It comes back: the next scheduled backup is good and the alert is resolved (once).
    await rename(`${beta.name}_off`, beta.name);
    await until('the resolution', () => out.includes('Resolved: backup alert for *beta*'), 90_000);
    expect((await listAlerts(db.pool, { client: 'beta' }))[0]!.resolved_at).not.toBeNull();
    expect(out.split('S2 — backups of beta need attention').length - 1).toBe(1);
    expect(out.split('Resolved: backup alert for *beta*').length - 1).toBe(1);

    // On time: every scheduled (not caught-up) backup started within seconds of its minute.
    const runs = (await listRuns(db.pool, { kind: 'backup', limit: 100 })).filter((r) => r.trigger === 'schedule');
    const onTheMinute = runs.filter((r) => new Date(r.started_at).getUTCSeconds() < 15);
    expect(onTheMinute.filter((r) => r.client === 'alpha').length).toBeGreaterThanOrEqual(1);
    expect(onTheMinute.some((r) => r.id === failedAt.id)).toBe(true);
    // alpha kept its schedule while beta was down: one backup per minute, never two at once.
    const alphaRuns = runs.filter((r) => r.client === 'alpha');
    const minutes = alphaRuns.map((r) => Math.floor(new Date(r.started_at).getTime() / 60_000));
    expect(new Set(minutes).size).toBe(minutes.length);

    // A digest was posted (console), with both clients.
    expect(out).toMatch(/Backup digest .*: \d+ ok/);
    expect(out).toMatch(/\*alpha\*/);
    expect((await listRuns(db.pool, { kind: 'digest', status: 'ok' })).length).toBeGreaterThanOrEqual(1);
  } finally {
    await db.close();
  }

  // SIGTERM: stops taking jobs, lets running ones finish, exits 0.
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child!.on('close', (c) => r(c)));
  expect(code).toBe(0);
  process.stdout.write(`serve test: ${Math.round((Date.now() - started) / 1000)} s of real time\n`);
  if (process.env.SERVE_TEST_OUT) writeFileSync(process.env.SERVE_TEST_OUT, out);
}, 300_000);
