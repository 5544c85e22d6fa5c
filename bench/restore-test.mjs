#!/usr/bin/env node
// `npm run bench:restore-test [-- --size-mb N] [--runs N] [--keep-db] [--db NAME]`
//
// Issue 15 item 7. Builds the benchmark database of `bench:backup` (default 650 MB: pgbench tables plus
// text/jsonb rows; --size-mb 1024 for the 1 GB one), takes one plain and one custom-format backup of it with
// `backup-bot backup`, then in one run, alternating, times:
//   shell   the steps a restore test replaces (runbook §3): docker run postgres:15 → wait for pg_isready →
//           gunzip -c backup.sql.gz | docker exec -i … psql → SELECT count(*) of every table → docker rm -f
//   plain   `backup-bot restore-test` of the plain backup (sha256, gunzip → psql, tables + row counts, teardown)
//   custom  `backup-bot restore-test` of the custom-format backup (pg_restore -j in the container)
// and prints the median of each phase (container start-up incl. network and readiness, download, restore,
// verification, teardown), the whole wall time, and the ratios: plain / shell (target <= 1.10) and
// custom / shell (target <= 0.75). This is a benchmark, not a test; the databases are dropped at the end.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { admin, benchArgs, buildBenchDatabase, median, mb, onDb, sec, timed, urlFor } from './lib/bench-common.mjs';

const { args, sizeMb, runs, reuseDb, keepDb } = benchArgs('usage: node bench/restore-test.mjs [--size-mb N (>= 10, default 650)] [--runs N (default 3)] [--keep-db] [--db NAME]', { sizeMb: 650, runs: 3 });
const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const NODE_FLAGS = (/^#!\S*env -S node(.*)$/m.exec(readFileSync(CLI, 'utf8').split('\n')[0]) ?? [])[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
const IMAGE = process.env.STAGING_POSTGRES_IMAGE ?? 'postgres:15';
const suffix = `${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
const benchDb = reuseDb ?? `bench_rt_${suffix}`;
const stateDb = `bench_rt_state_${suffix}`;
const dir = mkdtempSync(join(tmpdir(), 'bench-restore-test-'));
// Same resources for the shell container as the bot's staging container (restoreTest.cpus / memoryMb below).
const CPUS = 2;
const MEMORY_MB = 2048;

function writeConfig() {
  const client = (format) => `
  bench_${format}:
    database: { engine: postgres, url: "${urlFor(benchDb)}", format: ${format} }
    storage: [local]
    verify: { minTables: 1 }
    restoreTest: { timeout: 60m, cpus: ${CPUS}, memoryMb: ${MEMORY_MB} }`;
  const p = join(dir, 'backup-bot.yml');
  writeFileSync(p, `timezone: UTC
state: { url: "${urlFor(stateDb)}" }
storage:
  local: { type: local, path: "${join(dir, 'local')}" }
restoreTest: { postgresImage: "${IMAGE}" }
clients:${client('plain')}${client('custom')}
`);
  return p;
}

async function cli(argv) {
  const r = await timed(process.execPath, [...NODE_FLAGS, CLI, ...argv, '--json'], { LOG_LEVEL: 'warn' });
  let out;
  try { out = JSON.parse(r.stdout); } catch { throw new Error(`backup-bot ${argv.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`); }
  if (r.code !== 0 || !out.ok) throw new Error(`backup-bot ${argv.join(' ')} failed (exit ${r.code}): ${out.error ?? r.stderr}`);
  return { ...r, out };
}

async function must(cmd, argv, o) {
  const r = await timed(cmd, argv, {}, o);
  if (r.code !== 0) throw new Error(`${cmd} ${argv.slice(0, 4).join(' ')} … exited ${r.code}: ${r.stderr.slice(-400)}`);
  return r;
}

/** The shell steps, phase by phase; the backup file is the bot's plain backup (same bytes). */
async function shell(i, file, tables) {
  const name = `bench-rt-shell-${suffix}-${i}`;
  const t0 = performance.now();
  await must('docker', ['run', '-d', '--name', name, '--cpus', String(CPUS), '--memory', `${MEMORY_MB}m`, '-e', 'POSTGRES_PASSWORD=bench', '-e', 'POSTGRES_HOST_AUTH_METHOD=trust', '-p', '127.0.0.1::5432', IMAGE]);
  // ready = the server answers as it will for the restore (the image's init restarts the server once)
  for (;;) {
    const r = await timed('docker', ['exec', name, 'psql', '-U', 'postgres', '-Atc', 'SELECT 1']);
    if (r.code === 0 && r.stdout.trim() === '1') {
      const again = await timed('docker', ['exec', name, 'pg_isready', '-U', 'postgres']);
      if (again.code === 0) break;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  const t1 = performance.now();
  const gunzip = createGunzip();
  createReadStream(file).pipe(gunzip);
  await must('docker', ['exec', '-i', name, 'psql', '-U', 'postgres', '-q', '-o', '/dev/null'], { stdin: gunzip });
  const t2 = performance.now();
  const counts = tables.map((t) => `SELECT '${t}', count(*) FROM ${t}`).join(' UNION ALL ');
  await must('docker', ['exec', name, 'psql', '-U', 'postgres', '-Atc', counts]);
  const t3 = performance.now();
  await must('docker', ['rm', '-f', '-v', name]);
  const t4 = performance.now();
  return { provisionMs: t1 - t0, downloadMs: 0, restoreMs: t2 - t1, verifyMs: t3 - t2, destroyMs: t4 - t3, totalMs: t4 - t0 };
}

async function bot(client) {
  const r = await cli(['restore-test', client, '--config', config]);
  return { ...r.out.timingsMs, wallMs: r.ms };
}

let config;
try {
  await admin(`CREATE DATABASE ${stateDb}`);
  const dbBytes = await buildBenchDatabase(benchDb, sizeMb, reuseDb !== undefined);
  const tables = (await onDb(benchDb, (c) => c.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`))).rows.map((r) => r.tablename);
  config = writeConfig();
  const plainBackup = await cli(['backup', 'bench_plain', '--config', config, '--type', 'manual']);
  const customBackup = await cli(['backup', 'bench_custom', '--config', config, '--type', 'manual']);
  const plainFile = join(dir, 'local', plainBackup.out.key ?? `bench_plain/${plainBackup.out.file}`);
  console.log(`backups: plain ${mb(plainBackup.out.sizeBytes)} MB, custom ${mb(customBackup.out.sizeBytes)} MB`);

  const results = { shell: [], plain: [], custom: [] };
  for (let i = 0; i < runs; i++) {
    results.shell.push(await shell(i, plainFile, tables));
    results.plain.push(await bot('bench_plain'));
    results.custom.push(await bot('bench_custom'));
    console.log(`  run ${i + 1}/${runs}: shell ${sec(results.shell[i].totalMs)} s, plain ${sec(results.plain[i].totalMs)} s, custom ${sec(results.custom[i].totalMs)} s`);
  }
  const phases = ['provisionMs', 'downloadMs', 'restoreMs', 'verifyMs', 'destroyMs', 'totalMs'];
  const med = (xs, k) => median(xs.map((x) => x[k] ?? 0));
  const shellTotal = med(results.shell, 'totalMs');
  console.log(`\nrestore test of a ${mb(dbBytes)} MB database, median of ${runs} run(s); machine load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  console.log('| | container start-up (network, start, ready) s | download + sha256 s | restore s | verification s | teardown s | total s | ratio to shell |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [name, xs] of [['shell steps (gunzip -c | docker exec psql)', results.shell], ['backup-bot, plain backup', results.plain], ['backup-bot, custom backup (pg_restore -j)', results.custom]]) {
    console.log(`| ${name} | ${phases.map((p) => sec(med(xs, p))).join(' | ')} | ${(med(xs, 'totalMs') / shellTotal).toFixed(2)} |`);
  }
  console.log('(backup-bot downloads and checks the sha256 while the container starts: the two overlap; the CLI process wall time, start-up included, is in the run lines above as total + ~0.3 s)');
  console.log(`targets: plain <= 1.10x the shell steps (${(med(results.plain, 'totalMs') / shellTotal).toFixed(2)}), custom <= 0.75x (${(med(results.custom, 'totalMs') / shellTotal).toFixed(2)})`);
} finally {
  const drop = (name) => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((e) => console.error(`drop ${name}: ${e.message}`));
  await drop(stateDb);
  if (!keepDb) await drop(benchDb);
  else console.log(`kept database ${benchDb} (reuse it with --db ${benchDb})`);
  rmSync(dir, { recursive: true, force: true });
}
