// What the benchmarks share: argument parsing, the admin connection, timed child processes (argument arrays,
// never a shell string, peak RSS and CPU sampled from /proc), and the benchmark database (about half pgbench
// tables, half text/jsonb rows, built to a size in MB, reusable with --db after --keep-db).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';

export function benchArgs(usage, defaults) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : dflt;
  };
  const positional = args.find((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith('--'));
  const sizeMb = Number(opt('size-mb', positional ?? String(defaults.sizeMb)));
  const runs = Number(opt('runs', String(defaults.runs)));
  const reuseDb = opt('db', undefined);
  if (reuseDb !== undefined && !/^[a-z_][a-z0-9_]*$/.test(reuseDb)) {
    console.error('--db takes the name of a database left by an earlier --keep-db run (lower case, digits, _)');
    process.exit(2);
  }
  if (!Number.isFinite(sizeMb) || sizeMb < 10 || !Number.isInteger(runs) || runs < 1) {
    console.error(usage);
    process.exit(2);
  }
  return { args, sizeMb, runs, reuseDb, keepDb: args.includes('--keep-db') || reuseDb !== undefined };
}

export const ADMIN = process.env.BENCH_PG_URL ?? process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const urlFor = (name) => { const u = new URL(ADMIN); u.pathname = `/${name}`; return u.toString(); };

export async function admin(sql) {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  try { return await c.query(sql); } finally { await c.end(); }
}

export async function onDb(name, fn) {
  const c = new pg.Client({ connectionString: urlFor(name) });
  await c.connect();
  try { return await fn(c); } finally { await c.end(); }
}

/** Runs a program (argument array, no shell); resolves with wall time, exit code, stdout, stderr, peak RSS and CPU. */
export function timed(cmd, argv, env = {}, o = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: [o.stdin ? 'pipe' : 'ignore', o.stdout ?? 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hwm = 0;
    let cpuTicks = 0;
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
        // utime + stime of the process (all its threads), in clock ticks
        const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
        cpuTicks = Math.max(cpuTicks, Number(f[11]) + Number(f[12]));
      } catch { /* exited */ }
    };
    const timer = setInterval(sample, 25);
    if (o.stdin) o.stdin.pipe(child.stdin);
    child.stdout?.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('error', reject);
    child.on('exit', () => sample());
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code, stdout, stderr, peakRss: hwm, cpuMs: cpuTicks * 10 });
    });
  });
}

/** Builds (or reuses) the benchmark database; returns its size in bytes. */
export async function buildBenchDatabase(benchDb, sizeMb, reuse) {
  const size = async () => Number((await onDb(benchDb, (c) => c.query('SELECT pg_database_size(current_database()) AS s'))).rows[0].s);
  if (reuse) {
    const s = await size();
    console.log(`reusing ${benchDb}: ${(s / 1048576).toFixed(0)} MB`);
    return s;
  }
  console.log(`building ${benchDb} (~${sizeMb} MB) ...`);
  await admin(`CREATE DATABASE ${benchDb}`);
  // About half pgbench (scale 1 ≈ 15 MB), half text/jsonb rows.
  const scale = Math.max(1, Math.round(sizeMb / 2 / 15));
  const r = await timed('pgbench', ['-i', '-q', '-s', String(scale), '-d', urlFor(benchDb)]);
  if (r.code !== 0) throw new Error(`pgbench failed: ${r.stderr}`);
  await onDb(benchDb, async (c) => {
    await c.query(`CREATE TABLE documents (id bigserial PRIMARY KEY, title text NOT NULL, body text NOT NULL, meta jsonb NOT NULL, created timestamptz NOT NULL DEFAULT now())`);
    const target = sizeMb * 1024 * 1024;
    const now = async () => Number((await c.query('SELECT pg_database_size(current_database()) AS s')).rows[0].s);
    let n = 0;
    while ((await now()) < target) {
      await c.query(`INSERT INTO documents (title, body, meta)
        SELECT 'Lote ' || g || ' — análisis ñandú', repeat(md5(g::text || random()::text), 8) || ' ' || md5(random()::text),
               jsonb_build_object('lote', g, 'producto', 'P-' || (g % 997), 'tags', jsonb_build_array(md5(g::text), 'frío', g % 7), 'ok', g % 3 = 0)
        FROM generate_series($1::bigint, $1::bigint + 49999) g`, [n]);
      n += 50_000;
    }
    await c.query('VACUUM ANALYZE');
  });
  const s = await size();
  console.log(`  ${benchDb}: ${(s / 1048576).toFixed(0)} MB (pgbench scale ${scale} + documents)`);
  return s;
}

export const mb = (b) => (b / 1048576).toFixed(1);
export const sec = (ms) => (ms / 1000).toFixed(2);
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
