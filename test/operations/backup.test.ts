import { mkdtempSync, readdirSync, existsSync, readFileSync, mkdirSync, writeFileSync, statSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createGunzip } from 'node:zlib';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, withPg, type TestDatabase } from '../helpers/db.js';
import { createTestMysqlDatabase, mysqlExec, type TestMysqlDatabase } from '../helpers/mariadb.js';
import { testConfig } from '../helpers/config.js';
import { testContext } from '../helpers/context.js';
import { startS3 } from '../helpers/s3.js';
import { fillSampleDatabase, SAMPLE_TABLES } from '../../src/core/demo-database.js';
import { runBackup, BackupBusyError, type BackupOutcome } from '../../src/operations/backup.js';
import { listBackups } from '../../src/store/backup-register.js';
import { listRuns } from '../../src/store/runs.js';
import { listAudit } from '../../src/store/audit.js';
import { runProgram } from '../../src/core/run-program.js';
import type { Config } from '../../src/config/schema.js';
import { processes } from '../helpers/processes.js';

let state: TestDatabase;
let src: TestDatabase;
let big: TestDatabase;
const dbs: Array<{ drop(): Promise<void> }> = [];

beforeAll(async () => {
  state = await createTestDatabase('bbstate');
  src = await createTestDatabase('bbsrc');
  await fillSampleDatabase(src.url);
  big = await createTestDatabase('bbbig');
  await withPg(big.url, async (c) => {
    await c.query('CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS t FROM generate_series(1, 250000) g');
  });
});
afterAll(async () => {
  for (const d of dbs) await d.drop().catch(() => {});
  await src.drop();
  await big.drop();
  await state.drop();
});

function walk(d: string): string[] {
  if (!existsSync(d)) return [];
  return readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
}
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

async function withCtx<T>(config: Config, fn: (ctx: Awaited<ReturnType<typeof testContext>>) => Promise<T>): Promise<T> {
  const ctx = await testContext(config);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

/** Per-table checksums of every table in public, and every sequence's value. */
async function pgFingerprint(url: string): Promise<Record<string, string>> {
  return withPg(url, async (c) => {
    const out: Record<string, string> = {};
    const tables = await c.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    for (const { t } of tables.rows) {
      const r = await c.query<{ h: string; n: string }>(`SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) AS h, count(*) AS n FROM public.${pg.escapeIdentifier(t)} x`);
      out[`table ${t}`] = `${r.rows[0]!.n}:${r.rows[0]!.h}`;
    }
    const seqs = await c.query<{ s: string }>("SELECT sequencename AS s FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1");
    for (const { s } of seqs.rows) {
      const r = await c.query<{ v: string; c: boolean }>(`SELECT last_value AS v, is_called AS c FROM public.${pg.escapeIdentifier(s)}`);
      out[`sequence ${s}`] = `${r.rows[0]!.v}:${r.rows[0]!.c}`;
    }
    const v = await c.query<{ v: string }>("SELECT string_agg(viewname, ',' ORDER BY viewname) AS v FROM pg_views WHERE schemaname = 'public'");
    out.views = v.rows[0]!.v;
    const f = await c.query<{ n: string }>("SELECT stock_de('P0001')::text AS n").catch(() => ({ rows: [{ n: 'no function' }] }));
    out['function stock_de'] = f.rows[0]!.n;
    return out;
  });
}

/** Streams a file through zlib into a program's stdin (gunzip | psql without a shell). */
async function gunzipInto(file: string, program: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(program, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  await pipeline(createReadStream(file), createGunzip(), child.stdin);
  return { code: await closed, stderr };
}

const sha256File = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

function expectNoPartials(dir: string) {
  expect(walk(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
}

describe('runBackup: PostgreSQL round trip (Done when)', () => {
  test('plain backup → gunzip | psql into an empty database gives identical tables, sequences, views, functions', async () => {
    const dir = tmp('bk-pg-');
    const config = testConfig({ stateUrl: state.url, demoUrl: src.url, storageDir: dir, client: { verify: { minTables: 10, tables: ['lotes', 'movimientos', 'public.users'] } } });
    const o = await withCtx(config, async (ctx) => {
      const phases: string[] = [];
      const o = await runBackup(ctx, { client: 'demo', actor: 'U0OPER', actorName: 'Olga Operadora', trigger: 'slack', onProgress: (p) => phases.push(p) });
      expect(phases).toEqual(['started', 'dumping', 'uploading', 'verifying', 'done']);
      // one message, updated per phase, final one with file/size/tables/sha/destinations/who
      expect(ctx.notifier.posts).toHaveLength(1);
      const final = ctx.notifier.texts()[0]!;
      expect(final).toContain(o.backup!.file!);
      expect(final).toContain('16 tables');
      expect(final).toContain(o.backup!.sha256!.slice(0, 12));
      expect(final).toContain('local ok');
      expect(final).toContain('Olga Operadora');
      expect(ctx.notifier.updates.length).toBeGreaterThanOrEqual(4);
      return o;
    });
    expect(o).toMatchObject({ ok: true, verified: true });
    expect(o.run).toMatchObject({ status: 'ok', kind: 'backup', step: 'done', slack_ts: 'rec.1' });
    expect(o.run.timeline.map((t) => t.step)).toEqual(['started', 'dumping', 'uploading', 'verifying', 'done', 'ok']);
    const file = o.backup!.file!;
    expect(file).toMatch(/^backup_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.sql\.gz$/);
    const path = join(dir, 'demo', file);
    expect(sha256File(path)).toBe(o.backup!.sha256);
    expect(statSync(path).size).toBe(Number(o.backup!.size_bytes));
    expectNoPartials(dir);

    // register row (SOP section 11)
    const [row] = await withPg(state.url, async () => []).then(async () => withCtx(config, (ctx) => listBackups(ctx.pool, { client: 'demo' })));
    expect(row).toMatchObject({ type: 'manual', file, key: `demo/${file}`, verified: true, result: 'OK', executed_by: 'Olga Operadora', tables_counted: 16, engine: 'postgres', format: 'plain' });
    expect(row!.locations).toEqual([{ destination: 'local', ok: true, key: `demo/${file}`, verified: true }]);
    // manifest beside the backup == manifest in the register; row counts from the same snapshot
    const manifest = JSON.parse(readFileSync(`${path}.manifest.json`, 'utf8'));
    expect(manifest).toEqual(row!.manifest);
    expect(manifest).toMatchObject({ client: 'demo', engine: 'postgres', format: 'plain', type: 'manual', file, key: `demo/${file}`, sha256: o.backup!.sha256, sizeBytes: statSync(path).size, tables: 16, rowCountsMode: 'snapshot', files: [] });
    expect(manifest.rowCounts).toEqual({ lotes: 200, movimientos: 1000, 'public.users': 4 });
    expect(manifest.serverVersion).toMatch(/^\d+\.\d+/);
    expect(manifest.dumpToolVersion).toMatch(/^pg_dump \d+/);

    // restore into an empty database: identical
    const dst = await createTestDatabase('bbrest');
    dbs.push(dst);
    const u = new URL(dst.url);
    const r = await gunzipInto(path, 'psql', ['--host', u.hostname, '--port', u.port || '5432', '--username', 'postgres', '--dbname', dst.name, '--set', 'ON_ERROR_STOP=1', '--quiet', '--no-psqlrc']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [a, b] = [await pgFingerprint(src.url), await pgFingerprint(dst.url)];
    expect(Object.keys(a).filter((k) => k.startsWith('table ')).length).toBe(SAMPLE_TABLES.length);
    expect(b).toEqual(a);
    // non-ASCII and bytea really are there
    const names = await withPg(dst.url, (c) => c.query("SELECT nombre FROM users WHERE username = 'jpérez'"));
    expect(names.rows[0].nombre).toBe('José Pérez');

    // audit
    const audits = await withCtx(config, (ctx) => listAudit(ctx.pool, { client: 'demo' }));
    expect(audits.map((x) => x.action)).toEqual(['backup.started', 'backup.completed']);
  });

  test('custom format (-Fc) is stored as .dump, verified through pg_restore, and restores identically', async () => {
    const dir = tmp('bk-pgc-');
    const config = testConfig({ stateUrl: state.url, demoUrl: src.url, storageDir: dir, client: { database: { engine: 'postgres', url: src.url, format: 'custom' }, verify: { minTables: 16, tables: [] } } });
    const o = await withCtx(config, (ctx) => runBackup(ctx, { client: 'demo', actor: 'schedule', trigger: 'schedule', type: 'scheduled', notify: false }));
    expect(o).toMatchObject({ ok: true, verified: true });
    expect(o.backup).toMatchObject({ format: 'custom', tables_counted: 16, type: 'scheduled' });
    const path = join(dir, 'demo', o.backup!.file!);
    expect(o.backup!.file).toMatch(/\.dump$/);
    expect(readFileSync(path).subarray(0, 5).toString()).toBe('PGDMP');
    const dst = await createTestDatabase('bbrestc');
    dbs.push(dst);
    const r = await runProgram('pg_restore', ['--host', '127.0.0.1', '--username', 'postgres', '--dbname', dst.name, '--exit-on-error', path]);
    expect(r.stderr).toBe('');
    expect(await pgFingerprint(dst.url)).toEqual(await pgFingerprint(src.url));
  });
});

describe('runBackup: MariaDB round trip (Done when)', () => {
  let my: TestMysqlDatabase;
  beforeAll(async () => {
    my = await createTestMysqlDatabase('bbmy');
    dbs.push(my);
    await mysqlExec(`SET NAMES utf8mb4;
      CREATE TABLE clientes (id INT AUTO_INCREMENT PRIMARY KEY, nombre VARCHAR(100) NOT NULL, datos JSON, foto BLOB, alta DATETIME(3)) DEFAULT CHARSET=utf8mb4;
      CREATE TABLE pedidos (id BIGINT AUTO_INCREMENT PRIMARY KEY, cliente_id INT, total DECIMAL(12,2), nota TEXT, FOREIGN KEY (cliente_id) REFERENCES clientes(id)) DEFAULT CHARSET=utf8mb4;
      CREATE TABLE log_pedidos (id INT AUTO_INCREMENT PRIMARY KEY, pedido_id BIGINT, evento VARCHAR(20));
      INSERT INTO clientes (nombre, datos, foto, alta) VALUES ('María Núñez 🐘', '{"pais": "Argentina", "tags": ["a", "ñ"]}', UNHEX('00FF10200D0A'), '2026-01-06 03:00:00.123'),
        ('José "Pepe" O''Brien', NULL, NULL, NULL), ('línea\\nnueva\\ttab', '{}', UNHEX('5C27'), NOW(3));
      CREATE TRIGGER pedidos_ai AFTER INSERT ON pedidos FOR EACH ROW INSERT INTO log_pedidos (pedido_id, evento) VALUES (NEW.id, 'alta');
      INSERT INTO pedidos (cliente_id, total, nota) SELECT 1 + seq % 3, seq * 1.5, CONCAT('pedido nº ', seq) FROM seq_1_to_500;
      CREATE VIEW resumen AS SELECT cliente_id, COUNT(*) AS n, SUM(total) AS total FROM pedidos GROUP BY cliente_id;
      CREATE FUNCTION doble(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
    `, my.name);
  });

  async function myFingerprint(db: string): Promise<string> {
    const sums = await mysqlExec('CHECKSUM TABLE clientes, pedidos, log_pedidos', db);
    const ai = await mysqlExec(`SELECT table_name, auto_increment FROM information_schema.tables WHERE table_schema = '${db}' ORDER BY 1`);
    const objs = await mysqlExec(`SELECT doble(21), (SELECT COUNT(*) FROM resumen), (SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = '${db}')`, db);
    const text = await mysqlExec("SET NAMES utf8mb4; SELECT nombre, HEX(foto), datos FROM clientes ORDER BY id", db);
    return [sums.replace(new RegExp(db, 'g'), 'DB'), ai, objs, text].join('\n');
  }

  test('mysqldump → gunzip | mariadb into an empty database gives identical tables (checksums), auto_increment, view, function, trigger', async () => {
    const dir = tmp('bk-my-');
    const config = testConfig({ stateUrl: state.url, storageDir: dir, client: { database: { engine: 'mysql', url: my.url }, verify: { minTables: 3, tables: ['clientes', 'pedidos', 'nope'], allowMissing: true } } });
    const o = await withCtx(config, (ctx) => runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false }));
    expect(o.error).toBeUndefined();
    expect(o).toMatchObject({ ok: true, verified: true });
    expect(o.backup).toMatchObject({ engine: 'mysql', tables_counted: 3, result: 'OK' });
    expect(o.backup!.manifest).toMatchObject({ rowCounts: { clientes: 3, pedidos: 500 }, rowCountsMode: 'before-dump', dumpToolVersion: expect.stringMatching(/^mysqldump /) });
    expect(o.backup!.observations).toContain('verify.tables not found in the database: nope (not counted; verify.allowMissing: true)');
    const path = join(dir, 'demo', o.backup!.file!);
    const dst = await createTestMysqlDatabase('bbmyr');
    dbs.push(dst);
    const r = await gunzipInto(path, 'mariadb', ['--host=127.0.0.1', '--port=3306', '--user=root', '--protocol=TCP', dst.name]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await myFingerprint(dst.name)).toEqual(await myFingerprint(my.name));
  });

  test('wrong password: failed with the server\'s message, no object in storage, register Error, notifier told, secret never shown', async () => {
    const secret = 'Wr0ngPassw0rd-xyz';
    await mysqlExec("CREATE USER IF NOT EXISTS 'bbuser'@'%' IDENTIFIED BY 'right-one'");
    const dir = tmp('bk-mypw-');
    const url = `mysql://bbuser:${secret}@127.0.0.1:3306/${my.name}`;
    const config = testConfig({ stateUrl: state.url, storageDir: dir, client: { database: { engine: 'mysql', url }, verify: { minTables: 1, tables: [] } } });
    const o = await withCtx(config, async (ctx) => {
      const o = await runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli' });
      const text = ctx.notifier.texts()[0]!;
      expect(text).toContain('FAILED');
      expect(text).toContain("Access denied for user 'bbuser'");
      expect(text).toContain('first check');
      expect(JSON.stringify([ctx.notifier.posts, ctx.notifier.updates])).not.toContain(secret);
      return o;
    });
    expect(o).toMatchObject({ ok: false, verified: false });
    expect(o.error).toContain("Access denied for user 'bbuser'");
    expect(o.hint).toMatch(/refused the login/);
    expect(o.run).toMatchObject({ status: 'failed', step: 'failed' });
    expect(o.run.error).toContain('Access denied');
    expect(o.backup).toMatchObject({ result: 'Error', verified: false, key: null, sha256: null, size_bytes: null });
    expect(o.backup!.observations).toContain('Access denied');
    expect(JSON.stringify(o)).not.toContain(secret);
    expect(walk(dir)).toEqual([]);
  });
});

describe('runBackup: faults', () => {
  test('unreachable database host: failed with the server\'s message; maintenance off still runs; nothing stored', async () => {
    const dir = tmp('bk-host-');
    const marks = tmp('bk-marks-');
    const config = testConfig({
      stateUrl: state.url, storageDir: dir,
      client: { database: { engine: 'postgres', url: 'postgres://postgres:s3cretpw@127.0.0.1:1/nodb' }, maintenance: { on: ['touch', join(marks, 'on')], off: ['touch', join(marks, 'off')] } },
    });
    const o = await withCtx(config, async (ctx) => {
      const o = await runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli' });
      expect(ctx.notifier.texts()[0]).toMatch(/FAILED.*127\.0\.0\.1/);
      return o;
    });
    expect(o.ok).toBe(false);
    expect(o.error).toMatch(/cannot connect to postgres database "nodb" on 127\.0\.0\.1:1.*(refused|ECONNREFUSED)/i);
    expect(o.hint).toMatch(/could not be reached/);
    expect(JSON.stringify(o)).not.toContain('s3cretpw');
    expect(existsSync(join(marks, 'on'))).toBe(true);
    expect(existsSync(join(marks, 'off'))).toBe(true);
    expect(walk(dir)).toEqual([]);
    expect(o.backup).toMatchObject({ result: 'Error', verified: false });
  });

  test('maintenance off runs when the dump program fails; a failing off is reported', async () => {
    const dir = tmp('bk-mnt-');
    const marks = tmp('bk-marks-');
    const config = testConfig({
      stateUrl: state.url, storageDir: dir,
      // the server is reachable but the database does not exist: pg_dump itself fails
      client: { database: { engine: 'postgres', url: `postgres://postgres@127.0.0.1:5432/${src.name}` }, maintenance: { on: ['touch', join(marks, 'on')], off: ['false'] } },
    });
    await withPg(src.url, (c) => c.query('SELECT 1'));
    const ok = await withCtx(config, (ctx) => runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false }));
    // the dump is fine; maintenance off failed → reported, hint says to take the app out of maintenance
    expect(ok).toMatchObject({ ok: true, verified: true });
    expect(ok.backup!.observations).toContain('maintenance off FAILED');
    expect(ok.hint).toMatch(/maintenance/);

    const config2 = testConfig({
      stateUrl: state.url, storageDir: dir,
      client: { database: { engine: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/no_such_db_x' }, maintenance: { on: ['true'], off: ['touch', join(marks, 'off2')] } },
    });
    const bad = await withCtx(config2, (ctx) => runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false }));
    expect(bad.ok).toBe(false);
    expect(bad.error).toContain('database "no_such_db_x" does not exist');
    expect(existsSync(join(marks, 'off2'))).toBe(true);
  });

  test('pg_dump killed halfway: failed, no final-named object, no .partial left', async () => {
    const dir = tmp('bk-kill-');
    const config = testConfig({ stateUrl: state.url, demoUrl: big.url, storageDir: dir, client: { gzipLevel: 9 } });
    let killed = false;
    const killer = (async () => {
      for (let i = 0; i < 600 && !killed; i++) {
        await new Promise((r) => setTimeout(r, 10));
        const partial = walk(dir).find((f) => f.endsWith('.partial'));
        let size = 0;
        try { size = partial ? statSync(partial).size : 0; } catch { /* renamed meanwhile */ }
        if (size < 64 * 1024) continue;
        for (const pid of processes('pg_dump', big.name)) { process.kill(pid, 'SIGKILL'); killed = true; }
      }
    })();
    const o = await withCtx(config, (ctx) => runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false }));
    await killer;
    expect(killed).toBe(true);
    expect(o).toMatchObject({ ok: false, verified: false });
    expect(o.error).toContain('pg_dump was killed by SIGKILL');
    expect(o.run.status).toBe('failed');
    expect(o.backup).toMatchObject({ result: 'Error', key: null });
    expect(walk(dir)).toEqual([]);
  });

  test('disk full on local storage: failed, partial removed', async () => {
    if (process.getuid?.() !== 0) return;
    const dir = tmp('bk-full-');
    const m = await runProgram('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
    expect(m.code).toBe(0);
    try {
      const config = testConfig({ stateUrl: state.url, demoUrl: big.url, storageDir: dir, client: { gzipLevel: 1 } });
      const o = await withCtx(config, (ctx) => runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli' }));
      expect(o.ok).toBe(false);
      expect(o.error).toMatch(/storage "local".*(ENOSPC|no space)/i);
      expect(o.hint).toMatch(/No space left/);
      expect(o.locations).toEqual([expect.objectContaining({ destination: 'local', ok: false })]);
      expect(walk(dir)).toEqual([]);
    } finally {
      await runProgram('umount', [dir]);
    }
  });

  test('a files path with shell metacharacters is archived literally, never run by a shell', async () => {
    rmSync('/tmp/pwned', { force: true });
    const dir = tmp('bk-sh-');
    const files = tmp('bk-files-');
    const evil = join(files, '$(touch /tmp/pwned); `touch /tmp/pwned` | x');
    mkdirSync(evil, { recursive: true });
    writeFileSync(join(evil, 'index.php'), '<?php echo "hola";');
    const config = testConfig({ stateUrl: state.url, demoUrl: src.url, storageDir: dir, client: { files: [evil] } });
    const o = await withCtx(config, (ctx) => runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false }));
    expect(o.error).toBeUndefined();
    expect(o).toMatchObject({ ok: true, verified: true });
    expect(existsSync('/tmp/pwned')).toBe(false);
    const manifest = o.backup!.manifest as { files: Array<{ path: string; key: string; sha256: string }> };
    expect(manifest.files).toHaveLength(1);
    expect(manifest.files[0]!.path).toBe(evil);
    expect(manifest.files[0]!.key).toMatch(/^demo\/backup_.*_files_1-tmp_bk-files-\w+_touch_tmp_pwned_touch_tmp_pwned_x\.tar\.gz$/);
    const archive = join(dir, manifest.files[0]!.key);
    expect(sha256File(archive)).toBe(manifest.files[0]!.sha256);
    const list = await runProgram('tar', ['-tzf', archive]);
    expect(list.stdout).toContain(`${evil.slice(1)}/index.php`);
    // a client name with metacharacters never gets anywhere
    await withCtx(config, async (ctx) => {
      await expect(runBackup(ctx, { client: '$(touch /tmp/pwned)', actor: 'x', trigger: 'cli' })).rejects.toThrow(/unknown client/);
    });
    expect(existsSync('/tmp/pwned')).toBe(false);
  });

  test('two backups of one client at once: the second is refused (BackupBusyError); with wait it runs after, never interleaved', async () => {
    const dir = tmp('bk-busy-');
    const config = testConfig({ stateUrl: state.url, demoUrl: big.url, storageDir: dir, client: { gzipLevel: 9 } });
    const since = new Date();
    await withCtx(config, async (ctx) => {
      let dumping!: () => void;
      const isDumping = new Promise<void>((r) => { dumping = r; });
      const first = runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false, onProgress: (p) => { if (p === 'dumping') dumping(); } });
      await isDumping;
      const refused = await runBackup(ctx, { client: 'demo', actor: 'bob', trigger: 'slack' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(BackupBusyError);
      const running = (refused as BackupBusyError).running;
      expect(running.actor).toBe('alice');
      expect((refused as Error).message).toMatch(/already running/);
      const waited = runBackup(ctx, { client: 'demo', actor: 'carol', trigger: 'cli', notify: false, wait: true });
      const [a, c] = await Promise.all([first, waited]) as [BackupOutcome, BackupOutcome];
      expect(a.ok && c.ok).toBe(true);
      expect(running.id).toBe(a.run.id);
      expect(c.run.started_at.getTime()).toBeGreaterThanOrEqual(a.run.finished_at!.getTime());
      expect(a.backup!.file).not.toBe(c.backup!.file);
      // the refused one left no run and no register row
      const runs = await listRuns(ctx.pool, { client: 'demo', kind: 'backup', since });
      expect(runs.map((r) => r.actor).sort()).toEqual(['alice', 'carol']);
    });
  });

  test('two backups in the same second get distinct names', async () => {
    const dir = tmp('bk-same-');
    const { FakeClock } = await import('../helpers/context.js');
    const config = testConfig({ stateUrl: state.url, demoUrl: src.url, storageDir: dir });
    const ctx = await testContext(config, { clock: new FakeClock(new Date('2026-01-06T03:00:00Z')) });
    try {
      const a = await runBackup(ctx, { client: 'demo', actor: 'a', trigger: 'cli', notify: false });
      const b = await runBackup(ctx, { client: 'demo', actor: 'a', trigger: 'cli', notify: false });
      expect(a.backup!.file).toBe('backup_2026-01-06_03-00-00.sql.gz');
      expect(b.backup!.file).toBe('backup_2026-01-06_03-00-00_2.sql.gz');
    } finally {
      await ctx.close();
    }
  });

  test('a failed secondary destination is reported while the primary succeeds', async () => {
    const dir = tmp('bk-sec-');
    const notADir = join(tmp('bk-secf-'), 'file');
    writeFileSync(notADir, 'x');
    const config = testConfig({
      stateUrl: state.url, demoUrl: src.url, storageDir: dir,
      raw: { storage: { local: { type: 'local', path: dir }, usb: { type: 'local', path: notADir } } },
      client: { storage: ['local', 'usb'] },
    });
    const o = await withCtx(config, async (ctx) => {
      const o = await runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli' });
      const text = ctx.notifier.texts()[0]!;
      expect(text).toContain('a secondary destination failed');
      expect(text).toContain('usb FAILED');
      return o;
    });
    expect(o).toMatchObject({ ok: true, verified: true });
    expect(o.locations).toEqual([
      { destination: 'local', ok: true, key: `demo/${o.backup!.file}`, verified: true },
      { destination: 'usb', ok: false, key: `demo/${o.backup!.file}`, error: expect.stringMatching(/^storage "usb" \(.*\): .*(ENOTDIR|not a directory)/i) },
    ]);
    expect(o.backup!.observations).toMatch(/destination usb failed: storage "usb"/);
    expect(o.backup!.manifest).toMatchObject({ destinations: ['local'] });
    expect(existsSync(join(dir, 'demo', o.backup!.file!))).toBe(true);
  });

  test('storage unreachable (s3rver closed): failed, naming the destination', async () => {
    const s3 = await startS3(['backups']);
    const endpoint = s3.endpoint;
    await s3.close();
    const config = testConfig({
      stateUrl: state.url, demoUrl: src.url,
      raw: { storage: { r2: { type: 's3', bucket: 'backups', prefix: 'prod', endpoint, region: 'auto', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } } },
      client: { storage: ['r2'] },
    });
    const o = await withCtx(config, (ctx) => runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false }));
    expect(o.ok).toBe(false);
    expect(o.error).toContain('storage "r2" (s3://backups/prod)');
    expect(o.run.status).toBe('failed');
    expect(o.backup).toMatchObject({ result: 'Error', key: null });
  });

  test('round trip through s3rver: stored, read back, manifest beside it', async () => {
    const s3 = await startS3(['backups']);
    try {
      const config = testConfig({
        stateUrl: state.url, demoUrl: src.url,
        raw: { storage: { r2: { type: 's3', bucket: 'backups', prefix: 'prod', endpoint: s3.endpoint, region: 'auto', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } } },
        client: { storage: ['r2'] },
      });
      await withCtx(config, async (ctx) => {
        const o = await runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false });
        expect(o.error).toBeUndefined();
        expect(o).toMatchObject({ ok: true, verified: true });
        const keys = (await ctx.storage('r2').list('demo/')).map((x) => x.key).sort();
        expect(keys).toEqual([o.backup!.key, `${o.backup!.key}.manifest.json`]);
      });
    } finally {
      await s3.close();
    }
  });
});
