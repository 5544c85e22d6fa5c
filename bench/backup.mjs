#!/usr/bin/env node
// `npm run bench:backup [-- --size-mb N] [--runs N] [--keep-db] [--db NAME]` (--db: reuse a database kept by --keep-db)
//
// Builds a PostgreSQL database of about N MB (default 1024: pgbench tables plus text/jsonb rows), then in one
// run times `backup-bot backup` (local destination, and s3rver) against SOP-001's own pipeline
// `pg_dump | gzip -6 > file` on the same database, and prints wall time, the ratio, throughput and the bot's
// peak RSS (VmHWM of the node process). The bot always reads the primary copy back (verification); the time
// "without read-back" is taken from the run's timeline (the moment the `verifying` phase started).
// Encrypted variants (client-side age encryption, `clients.<c>.encryption`) run in the same loop beside the
// plain ones, with an identity so that the read-back decrypts too; the overhead of encryption on the wall
// time is printed per destination (target: at most +10 %).
// This is a benchmark, not a test. The bench databases are dropped at the end (unless --keep-db).
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import S3rver from 's3rver';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { admin, benchArgs, buildBenchDatabase, mb, onDb, sec, timed, urlFor } from './lib/bench-common.mjs';

const { args, sizeMb, runs, reuseDb, keepDb } = benchArgs('usage: node bench/backup.mjs [--size-mb N (>= 10, default 1024)] [--runs N] [--keep-db] [--db NAME]', { sizeMb: 1024, runs: 2 });
const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
// The bot runs as its `bin` runs it: with the node flags of dist/cli.js's shebang (`#!/usr/bin/env -S node …`).
const NODE_FLAGS = (/^#!\S*env -S node(.*)$/m.exec(readFileSync(CLI, 'utf8').split('\n')[0]) ?? [])[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
const suffix = `${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
const benchDb = reuseDb ?? `bench_backup_${suffix}`;
const stateDb = `bench_state_${suffix}`;
const dir = mkdtempSync(join(tmpdir(), 'bench-backup-'));
const build = () => buildBenchDatabase(benchDb, sizeMb, reuseDb !== undefined);

async function writeConfig(s3endpoint) {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const encryption = `    encryption: { recipients: ["${recipient}"], identity: "${identity}" }`;
  const cfg = `
timezone: UTC
state: { url: "${urlFor(stateDb)}" }
storage:
  local: { type: local, path: "${join(dir, 'local')}" }
  s3:
    type: s3
    bucket: bench
    endpoint: "${s3endpoint}"
    region: auto
    forcePathStyle: true
    accessKeyId: S3RVER
    secretAccessKey: S3RVER
    requestChecksumCalculation: WHEN_REQUIRED
    responseChecksumValidation: WHEN_REQUIRED
clients:
  bench_local:
    database: { engine: postgres, url: "${urlFor(benchDb)}" }
    storage: [local]
    verify: { minTables: 1 }
  bench_s3:
    database: { engine: postgres, url: "${urlFor(benchDb)}" }
    storage: [s3]
    verify: { minTables: 1 }
  bench_local_age:
    database: { engine: postgres, url: "${urlFor(benchDb)}" }
    storage: [local]
    verify: { minTables: 1 }
${encryption}
  bench_s3_age:
    database: { engine: postgres, url: "${urlFor(benchDb)}" }
    storage: [s3]
    verify: { minTables: 1 }
${encryption}
`;
  const p = join(dir, 'backup-bot.yml');
  writeFileSync(p, cfg);
  return p;
}

async function sopPipeline(i) {
  const out = join(dir, `sop_${i}.sql.gz`);
  // The SOP's reference pipeline is the point of comparison, so it runs through bash exactly as written there.
  const r = await timed('bash', ['-c', 'set -o pipefail; pg_dump "$BENCH_URL" | gzip -6 > "$BENCH_OUT"'], { BENCH_URL: urlFor(benchDb), BENCH_OUT: out });
  if (r.code !== 0) throw new Error(`SOP pipeline failed: ${r.stderr}`);
  const bytes = statSync(out).size;
  rmSync(out);
  return { ...r, bytes };
}

async function bot(client, config) {
  const cpu0 = process.cpuUsage();
  const r = await timed(process.execPath, [...NODE_FLAGS, CLI, 'backup', client, '--config', config, '--json', '--type', 'manual'], { LOG_LEVEL: 'warn' });
  // CPU this process (s3rver, and the 25 ms RSS sampling) spent meanwhile, taken from the same two cores.
  const harness = process.cpuUsage(cpu0);
  r.serverCpuMs = (harness.user + harness.system) / 1000;
  let out;
  try { out = JSON.parse(r.stdout); } catch { throw new Error(`backup-bot backup ${client}: exit ${r.code}\n${r.stdout}\n${r.stderr}`); }
  if (r.code !== 0 || !out.ok || !out.verified) throw new Error(`backup-bot backup ${client} failed (exit ${r.code}): ${out.error ?? r.stderr}`);
  const run = await onDb(stateDb, (c) => c.query('SELECT started_at, finished_at, timeline FROM backup_bot.runs WHERE id = $1', [out.run]));
  const row = run.rows[0];
  const start = new Date(row.started_at).getTime();
  const verifying = row.timeline.find((t) => t.step === 'verifying');
  const done = row.timeline.find((t) => t.step === 'done');
  const readBackMs = verifying && done ? new Date(done.at).getTime() - new Date(verifying.at).getTime() : undefined;
  return {
    ...r, bytes: Number(out.sizeBytes), readBackMs,
    noReadBackMs: readBackMs !== undefined ? r.ms - readBackMs : undefined,
    // From the run row's start (after process start-up, config, state DB) to the start of the read-back.
    inRunMs: verifying ? new Date(verifying.at).getTime() - start : undefined,
  };
}


let s3server;
try {
  await admin(`CREATE DATABASE ${stateDb}`);
  const dbBytes = await build();
  const s3dir = join(dir, 's3rver');
  s3server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3dir, configureBuckets: [{ name: 'bench' }] });
  const addr = await s3server.run();
  const config = await writeConfig(`http://127.0.0.1:${addr.port}`);

  const results = { sop: [], local: [], localAge: [], s3: [], s3Age: [] };
  for (let i = 0; i < runs; i++) {
    results.sop.push(await sopPipeline(i));
    // plain and encrypted alternate, so that a change of machine load hits both alike
    results.local.push(await bot('bench_local', config));
    results.localAge.push(await bot('bench_local_age', config));
    results.s3.push(await bot('bench_s3', config));
    results.s3Age.push(await bot('bench_s3_age', config));
    rmSync(join(dir, 'local'), { recursive: true, force: true });
  }
  const best = (xs, k = 'ms') => xs.reduce((a, b) => (b[k] < a[k] ? b : a));
  const sop = best(results.sop);
  console.log(`\nresults (${runs} run(s) each, best wall time shown; database ${mb(dbBytes)} MB, machine load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`);
  console.log('| pipeline | wall s | ratio to SOP | DB MB/s | dump MB | peak RSS MB | without read-back s (ratio) | read-back s | in-run dump+store s (ratio) | harness CPU s | bot CPU s (least) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  console.log(`| SOP \`pg_dump \\| gzip -6 > file\` | ${sec(sop.ms)} | 1.00 | ${(dbBytes / 1048576 / (sop.ms / 1000)).toFixed(1)} | ${mb(sop.bytes)} | - | - | - | - | - | - |`);
  for (const [name, xs] of [['backup-bot → local', results.local], ['backup-bot → local, age', results.localAge], ['backup-bot → s3rver', results.s3], ['backup-bot → s3rver, age', results.s3Age]]) {
    const b = best(xs);
    const peak = Math.max(...xs.map((x) => x.peakRss));
    const nrb = best(xs.filter((x) => x.noReadBackMs !== undefined), 'noReadBackMs');
    console.log(`| ${name} | ${sec(b.ms)} | ${(b.ms / sop.ms).toFixed(2)} | ${(dbBytes / 1048576 / (b.ms / 1000)).toFixed(1)} | ${mb(b.bytes)} | ${mb(peak)} | ${nrb ? `${sec(nrb.noReadBackMs)} (${(nrb.noReadBackMs / sop.ms).toFixed(2)})` : '?'} | ${b.readBackMs !== undefined ? sec(b.readBackMs) : '?'} | ${b.inRunMs !== undefined ? `${sec(b.inRunMs)} (${(b.inRunMs / sop.ms).toFixed(2)})` : '?'} | ${sec(b.serverCpuMs)} | ${sec(best(xs, 'cpuMs').cpuMs)} |`);
  }
  console.log('\nall runs (wall s): ' + Object.entries(results).map(([k, xs]) => `${k}: ${xs.map((x) => sec(x.ms)).join(', ')}`).join('; '));
  const overhead = (plain, age, k = 'ms') => {
    const p = best(plain.filter((x) => x[k] !== undefined), k)[k];
    const a = best(age.filter((x) => x[k] !== undefined), k)[k];
    return `${sec(p)} → ${sec(a)} s (${a >= p ? '+' : ''}${(((a - p) / p) * 100).toFixed(1)} %)`;
  };
  console.log(`\nencryption (age) overhead on the backup's wall time, best of each: local ${overhead(results.local, results.localAge)}; s3rver ${overhead(results.s3, results.s3Age)}`);
  // Each encrypted run follows its plain run: a pair shares the machine's load of the moment.
  const pairs = (plain, age, k = 'ms') => {
    const r = plain.map((p, i) => age[i][k] / p[k] - 1).sort((a, b) => a - b);
    const med = r.length % 2 ? r[(r.length - 1) / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
    return `median ${med >= 0 ? '+' : ''}${(med * 100).toFixed(1)} % (pairs: ${r.map((x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}`).join(', ')} %)`;
  };
  console.log(`  run by run (each encrypted run right after its plain one): wall local ${pairs(results.local, results.localAge)}; s3rver ${pairs(results.s3, results.s3Age)}; bot CPU local ${pairs(results.local, results.localAge, 'cpuMs')}; s3rver ${pairs(results.s3, results.s3Age, 'cpuMs')}`);
  console.log(`  the bot's CPU (least of the runs): local ${overhead(results.local, results.localAge, 'cpuMs')}; s3rver ${overhead(results.s3, results.s3Age, 'cpuMs')} — on a loaded machine the CPU it takes is steadier than the wall time`);
  console.log(`  without read-back: local ${overhead(results.local, results.localAge, 'noReadBackMs')}; s3rver ${overhead(results.s3, results.s3Age, 'noReadBackMs')}; ciphertext ${mb(best(results.localAge).bytes)} MB vs ${mb(best(results.local).bytes)} MB`);
  console.log('targets: ratio <= 0.95 without read-back, peak RSS <= 150 MB, encryption <= +10 %');
console.log("harness CPU: this process's CPU during the bot's run (s3rver serving the upload and the read-back), taken from the same cores");
} finally {
  if (s3server) await s3server.close().catch(() => {});
  const drop = (name) => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((e) => console.error(`drop ${name}: ${e.message}`));
  if (!args.includes('--keep-db')) await drop(stateDb);
  if (!keepDb) await drop(benchDb);
  else console.log(`kept database ${benchDb} (reuse it with --db ${benchDb})`);
  rmSync(dir, { recursive: true, force: true });
}
