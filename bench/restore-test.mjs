#!/usr/bin/env node
/**
 * npm run bench:restore-test [-- SCALE]
 *
 * Times the whole restore test of a benchmark database (runRestoreTest: provision a postgres:15
 * container, sha256 check, gunzip → psql, table + row-count verification, teardown) against the shell
 * steps it replaces (SOP 9.3):
 *   docker run -d postgres:15 … ; wait for pg_isready ; gunzip -c backup.sql.gz | docker exec -i c psql ; docker rm -f c
 * in one run, and prints the ratio (target <= 1.15) and the container start-up + teardown overhead
 * (target < 5 s). The benchmark database is made with `pgbench -i -s SCALE` (default 10 ≈ 150 MB;
 * 1 ≈ 15 MB) on the local PostgreSQL (TEST_PG_URL or postgres://postgres@127.0.0.1:5432/postgres).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import pg from 'pg';

const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href;
const { validateConfig } = await import(dist('config/load.js'));
const { createContext } = await import(dist('context.js'));
const { SilentNotifier } = await import(dist('slack/notifier.js'));
const { runRestoreTest } = await import(dist('operations/restore-test.js'));
const { insertBackup } = await import(dist('store/backup-register.js'));
const { pino } = await import('pino');

const scale = Number(process.argv[2] ?? process.env.BENCH_SCALE ?? 68);
if (!Number.isInteger(scale) || scale < 1) { console.error('usage: bench/restore-test.mjs [SCALE >= 1]'); process.exit(2); }
const ADMIN = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const IMAGE = process.env.STAGING_POSTGRES_IMAGE ?? 'postgres:15';
const urlFor = (db) => { const u = new URL(ADMIN); u.pathname = `/${db}`; return u.toString(); };
const now = () => performance.now();
const sec = (ms) => `${(ms / 1000).toFixed(2)} s`;

async function admin(sql) {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  try { await c.query(sql); } finally { await c.end(); }
}

/** Runs a program (argument array, no shell); resolves with stdout, rejects on a non-zero exit. */
function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let out = ''; let err = '';
    p.stdout.on('data', (c) => { out += c; });
    p.stderr.on('data', (c) => { err += c; });
    if (opts.stdin) opts.stdin.pipe(p.stdin);
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-500)}`))));
  });
}

const tag = `${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
const srcDb = `bench_rt_src_${tag}`;
const stateDb = `bench_rt_state_${tag}`;
const dir = await mkdtemp(join(tmpdir(), 'bench-rt-'));
let ctx;
try {
  await admin(`CREATE DATABASE ${srcDb}`);
  await admin(`CREATE DATABASE ${stateDb}`);
  const srcUrl = urlFor(srcDb);
  const u = new URL(srcUrl);
  let t = now();
  await run('pgbench', ['-i', '-q', '-s', String(scale), '-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username) || 'postgres', srcDb]);
  const c = new pg.Client({ connectionString: srcUrl });
  await c.connect();
  const size = (await c.query('SELECT pg_database_size(current_database()) AS s')).rows[0].s;
  const tables = ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history'];
  const rowCounts = {};
  for (const tb of tables) rowCounts[tb] = Number((await c.query(`SELECT count(*) AS n FROM ${tb}`)).rows[0].n);
  await c.end();
  console.log(`benchmark database: pgbench -s ${scale}, ${(Number(size) / 1048576).toFixed(0)} MB (${rowCounts.pgbench_accounts} accounts), built in ${sec(now() - t)}`);

  // The backup, as runBackup stores it: pg_dump plain → gzip (level 6) → local storage + manifest.
  t = now();
  const file = `backup_bench_${tag}.sql.gz`;
  const key = `bench/${file}`;
  await mkdir(join(dir, 'store', 'bench'), { recursive: true });
  const path = join(dir, 'store', key);
  const dump = spawn('pg_dump', ['--dbname', srcUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
  const hash = createHash('sha256');
  const gz = createGzip({ level: 6 });
  gz.on('data', (chunk) => hash.update(chunk));
  await pipeline(dump.stdout, gz, createWriteStream(path));
  const sha256 = hash.digest('hex');
  const sizeBytes = (await stat(path)).size;
  console.log(`backup: ${(sizeBytes / 1048576).toFixed(1)} MB gzip, dumped in ${sec(now() - t)}`);

  const config = validateConfig({
    timezone: 'UTC', state: { url: urlFor(stateDb) },
    storage: { local: { type: 'local', path: join(dir, 'store') } },
    clients: { bench: { database: { engine: 'postgres', url: srcUrl }, storage: ['local'], verify: { minTables: 4, tables, checks: [] }, restoreTest: { timeout: '30m', memoryMb: 2048, cpus: 2 } } },
  }, 'bench config');
  ctx = await createContext(config, { notifier: new SilentNotifier(), logger: pino({ level: 'silent' }) });
  const takenAt = new Date();
  await insertBackup(ctx.pool, {
    client: 'bench', takenAt, type: 'manual', file, key, format: 'plain', engine: 'postgres', sizeBytes, verified: true, verifiedAt: takenAt, executedBy: 'bench', result: 'OK', sha256, tablesCounted: 4,
    locations: [{ destination: 'local', ok: true, key }],
    manifest: { client: 'bench', engine: 'postgres', format: 'plain', type: 'manual', file, key, sha256, sizeBytes, tables: 4, serverVersion: '15', dumpToolVersion: '15', startedAt: takenAt.toISOString(), finishedAt: takenAt.toISOString(), rowCounts, files: [] },
  });

  // 1. The shell steps it replaces (SOP 9.3), timed end to end.
  t = now();
  const pw = randomBytes(12).toString('hex');
  const cid = (await run('docker', ['run', '-d', '--label', 'backup-bot.bench=1', '-e', `POSTGRES_PASSWORD=${pw}`, '-p', '127.0.0.1::5432', IMAGE])).trim();
  try {
    for (;;) {
      try { await run('docker', ['exec', cid, 'pg_isready', '-q', '-h', '127.0.0.1']); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
    }
    const tReady = now();
    const gunzip = spawn('gunzip', ['-c', path], { stdio: ['ignore', 'pipe', 'inherit'] });
    await run('docker', ['exec', '-i', cid, 'psql', '-X', '-q', '-U', 'postgres', '-d', 'postgres'], { stdin: gunzip.stdout });
    const tRestored = now();
    await run('docker', ['rm', '-f', '-v', cid]);
    const shellMs = now() - t;
    console.log(`shell steps:  ${sec(shellMs)}  (docker run → ready ${sec(tReady - t)}, gunzip | docker exec -i psql ${sec(tRestored - tReady)}, docker rm ${sec(now() - tRestored)})`);

    // 2. The bot's restore test (sha256 pre-check, streamed restore, verification, register, teardown).
    t = now();
    const out = await runRestoreTest(ctx, { client: 'bench', backupKey: key, actor: 'bench', trigger: 'cli', notify: false });
    const botMs = now() - t;
    if (!out.ok) throw new Error(`restore test failed at ${out.failedStep}: ${out.error}`);
    const tm = out.timings;
    console.log(`restore test: ${sec(botMs)}  (provision → ready ${sec(tm.provisionMs ?? 0)}, sha256 pre-check ${sec(tm.downloadMs ?? 0)}, restore ${sec(tm.restoreMs ?? 0)}, verify ${sec(tm.verifyMs ?? 0)}, teardown ${sec(tm.destroyMs ?? 0)})`);
    const ratio = botMs / shellMs;
    const overhead = (tm.provisionMs ?? 0) + (tm.destroyMs ?? 0);
    console.log(`ratio restore test / shell steps: ${ratio.toFixed(3)} (target <= 1.15) ${ratio <= 1.15 ? 'OK' : 'OVER'}`);
    console.log(`container start-up + teardown overhead: ${sec(overhead)} (target < 5 s) ${overhead < 5000 ? 'OK' : 'OVER'}`);
  } finally {
    await run('docker', ['rm', '-f', '-v', cid]).catch(() => {});
  }
} finally {
  await ctx?.close().catch(() => {});
  await admin(`DROP DATABASE IF EXISTS ${srcDb} WITH (FORCE)`).catch(() => {});
  await admin(`DROP DATABASE IF EXISTS ${stateDb} WITH (FORCE)`).catch(() => {});
  await rm(dir, { recursive: true, force: true });
}

