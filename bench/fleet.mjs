#!/usr/bin/env node
// `npm run bench:fleet [-- --clients N] [--replicas R] [--max-concurrent M] [--per-host P] [--rows K]`
//
// Issue 21: N small client databases (default 50, K rows each) on one schedule fire, R `backup-bot serve`
// replicas (default 2) on one state database, workers.maxConcurrent M (default 2). Every client's last Sunday
// 03:00 fire is recorded as missed, so the replicas catch it up at start: the whole fleet is due at once, as at
// 03:00 on a Sunday. Prints the total time (first dump started → last backup recorded), peak RSS per replica
// (VmHWM), the most pg_dump processes seen at once (sampled every 100 ms, by replica), and how long work waited.
// All the client databases live on this machine's one PostgreSQL server, so workers.perDatabaseHost defaults
// here to R × M (the replicas' own limit is what is measured; with the product default of 1 the dumps would
// run one at a time). This is a benchmark, not a test; its databases are dropped at the end.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const clients = opt('clients', 50);
const replicas = opt('replicas', 2);
const maxConcurrent = opt('max-concurrent', 2);
const perHost = opt('per-host', replicas * maxConcurrent);
const rows = opt('rows', 2000);
for (const [k, v] of Object.entries({ clients, replicas, maxConcurrent, perHost, rows })) {
  if (!Number.isInteger(v) || v < 1) { console.error(`--${k} must be a positive integer`); process.exit(2); }
}

const ADMIN = process.env.BENCH_PG_URL ?? process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const NODE_FLAGS = (/^#!\S*env -S node(.*)$/m.exec(readFileSync(CLI, 'utf8').split('\n')[0]) ?? [])[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
const suffix = `${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
const stateDb = `bench_fleet_state_${suffix}`;
const clientDb = (i) => `bench_fleet_${suffix}_c${i}`;
const urlFor = (name) => { const u = new URL(ADMIN); u.pathname = `/${name}`; return u.toString(); };
const dir = mkdtempSync(join(tmpdir(), 'bench-fleet-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function onDb(url, fn) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return await fn(c); } finally { await c.end(); }
}

const names = Array.from({ length: clients }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
const procs = [];
try {
  process.stdout.write(`creating ${clients} client databases of ${rows} rows …\n`);
  await onDb(ADMIN, async (c) => {
    await c.query(`CREATE DATABASE ${stateDb}`);
    for (let i = 0; i < clients; i++) await c.query(`CREATE DATABASE ${clientDb(i)}`);
  });
  for (let i = 0; i < clients; i++) {
    await onDb(urlFor(clientDb(i)), (c) => c.query(`CREATE TABLE lotes (id int PRIMARY KEY, nombre text, creado timestamptz DEFAULT now());
      INSERT INTO lotes (id, nombre) SELECT g, md5(g::text) FROM generate_series(1, ${rows}) g`));
  }
  const cfgPath = join(dir, 'backup-bot.yml');
  const cfg = {
    timezone: 'UTC',
    state: { url: urlFor(stateDb) },
    storage: { local: { type: 'local', path: join(dir, 'backups') } },
    clients: Object.fromEntries(names.map((n, i) => [n, { database: { engine: 'postgres', url: urlFor(clientDb(i)) }, schedule: '0 3 * * 0', storage: ['local'], verify: { minTables: 1, tables: ['lotes'] } }])),
    schedules: { watchdog: '0 0 1 1 *', digest: '0 0 1 1 *', retention: '0 0 1 1 *', integrityCheck: '0 0 1 1 *', restoreTest: '0 0 1 1 *' },
    workers: { maxConcurrent, perDatabaseHost: perHost },
    metrics: { listen: '127.0.0.1:0' },
  };
  writeFileSync(cfgPath, JSON.stringify(cfg));
  // Migrations, the signing key and the "missed" fire, before any replica starts.
  const { openStore } = await import('../dist/store/store.js');
  const { loadSigner } = await import('../dist/evidence/signer.js');
  loadSigner({ trustedKeys: [], baseDir: dir }); // creates the default key beside the config: the replicas share it
  const store = await openStore(urlFor(stateDb), { poolSize: 1 });
  await store.close();
  await onDb(urlFor(stateDb), async (c) => {
    for (const n of names) await c.query(`INSERT INTO backup_bot.job_state (job, client, last_fire) VALUES ('scheduled-backup', $1, now() - interval '14 days')`, [n]);
  });

  const t0 = Date.now();
  for (let r = 0; r < replicas; r++) {
    const child = spawn(process.execPath, [...NODE_FLAGS, CLI, 'serve', '--config', cfgPath], { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const p = { child, out: '', maxDumps: 0, hwmKb: 0 };
    child.stdout.on('data', (b) => { p.out += b.toString(); });
    child.stderr.on('data', (b) => { p.out += b.toString(); });
    procs.push(p);
  }
  let maxTotal = 0;
  const sample = () => {
    const byPid = new Map();
    for (const line of execFileSync('ps', ['-eo', 'ppid=,comm='], { encoding: 'utf8' }).split('\n')) {
      const [ppid, comm] = line.trim().split(/\s+/);
      if (comm === 'pg_dump') byPid.set(Number(ppid), (byPid.get(Number(ppid)) ?? 0) + 1);
    }
    let total = 0;
    for (const p of procs) {
      const n = byPid.get(p.child.pid) ?? 0;
      total += n;
      p.maxDumps = Math.max(p.maxDumps, n);
      try { p.hwmKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'))?.[1] ?? p.hwmKb); } catch { /* exited */ }
    }
    maxTotal = Math.max(maxTotal, total);
  };
  const sampler = setInterval(sample, 100);
  let done = 0;
  const deadline = Date.now() + 30 * 60_000;
  while (done < clients) {
    if (Date.now() > deadline) throw new Error(`only ${done} of ${clients} backups finished in 30 min\n${procs.map((p) => p.out.slice(-3000)).join('\n---\n')}`);
    if (procs.some((p) => p.child.exitCode !== null)) throw new Error(`a replica exited\n${procs.map((p) => p.out.slice(-3000)).join('\n---\n')}`);
    await sleep(500);
    done = Number((await onDb(urlFor(stateDb), (c) => c.query(`SELECT count(*) AS n FROM backup_bot.runs WHERE kind = 'backup' AND status <> 'running'`))).rows[0].n);
  }
  sample();
  clearInterval(sampler);
  const wall = (Date.now() - t0) / 1000;
  const figures = (await onDb(urlFor(stateDb), (c) => c.query(`SELECT
      extract(epoch FROM max(finished_at) - min(started_at))::float8 AS span,
      count(*) FILTER (WHERE status = 'ok')::int AS ok, count(*)::int AS runs, count(DISTINCT client)::int AS clients,
      max((details->'work'->>'waitedSeconds')::int) AS max_wait, avg((details->'work'->>'waitedSeconds')::int)::float8 AS avg_wait,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)) AS median_backup
    FROM backup_bot.runs WHERE kind = 'backup'`))).rows[0];
  const perReplica = await onDb(urlFor(stateDb), (c) => c.query(`SELECT pid, count(*)::int AS n FROM backup_bot.runs WHERE kind = 'backup' GROUP BY pid ORDER BY pid`));
  process.stdout.write([
    `fleet: ${clients} clients (${rows} rows each) on one fire, ${replicas} replicas, workers.maxConcurrent ${maxConcurrent}, workers.perDatabaseHost ${perHost}`,
    `  backups: ${figures.ok} ok of ${figures.runs} runs for ${figures.clients} clients`,
    `  total: ${figures.span.toFixed(1)} s from the first backup started to the last recorded (${wall.toFixed(1)} s from the replicas' spawn)`,
    `  one backup: median ${Number(figures.median_backup).toFixed(1)} s; queue wait: mean ${Number(figures.avg_wait).toFixed(0)} s, max ${figures.max_wait} s`,
    `  most pg_dump processes at once: ${maxTotal} (limit ${replicas * maxConcurrent}); per replica ${procs.map((p) => p.maxDumps).join(', ')}`,
    `  backups per replica: ${perReplica.rows.map((r) => r.n).join(', ')}`,
    `  peak RSS per replica (VmHWM): ${procs.map((p) => `${Math.round(p.hwmKb / 1024)} MB`).join(', ')}`,
    '',
  ].join('\n'));
} finally {
  await Promise.all(procs.map((p) => new Promise((ok) => { if (p.child.exitCode !== null) return ok(); p.child.on('close', ok); p.child.kill('SIGTERM'); setTimeout(() => p.child.kill('SIGKILL'), 30_000).unref(); })));
  await onDb(ADMIN, async (c) => {
    for (let i = 0; i < clients; i++) await c.query(`DROP DATABASE IF EXISTS ${clientDb(i)} WITH (FORCE)`);
    await c.query(`DROP DATABASE IF EXISTS ${stateDb} WITH (FORCE)`);
  }).catch((e) => process.stderr.write(`could not drop the bench databases: ${e.message}\n`));
  rmSync(dir, { recursive: true, force: true });
}
