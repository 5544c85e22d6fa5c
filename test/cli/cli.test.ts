/** @needs docker (the doctor test checks the Docker engine: left out of `npm run test:unit`) */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli, CLI } from '../helpers/cli.js';
import { createTestDatabase, dropDatabase, withPg, type TestDatabase } from '../helpers/db.js';

let state: TestDatabase;
let dir: string;

function writeConfig(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const localConfig = (stateUrl: string, storagePath: string, extra = '') => `
timezone: UTC
state: { url: "${stateUrl}" }
storage:
  local: { type: local, path: "${storagePath}" }
clients:
  demo:
    database: { engine: postgres, url: "\${DEMO_URL}" }
    storage: [local]
  shop:
    database: { engine: mysql, url: "mysql://root@127.0.0.1:3306/mysql" }
    storage: [local]
${extra}`;

beforeAll(async () => {
  state = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'cli-'));
});
afterAll(async () => {
  await state.drop();
});

describe('backup-bot CLI', () => {
  test('no config: every command runs on the embedded defaults of serve and says so in one line (issue 18 item 6)', async () => {
    const suffix = randomBytes(3).toString('hex');
    const stateName = `bbt_qs2_state_${suffix}`;
    const demoName = `bbt_qs2_demo_${suffix}`;
    const empty = mkdtempSync(join(tmpdir(), 'qs2-'));
    const env = { BACKUP_BOT_CONFIG: '', BACKUP_BOT_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${stateName}`, BACKUP_BOT_DEMO_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${demoName}` };
    const line = `backup-bot: no backup-bot.yml found: using the embedded defaults (state database ${stateName}, storage ./backups, client demo)`;
    try {
      const b = await runCli(['backup', 'demo'], { cwd: empty, env });
      expect(b.stderr).toContain(line);
      expect(b.stderr).toContain('created the demo database for client "demo"');
      expect(b.stderr).not.toContain('no configuration');
      expect(b.code).toBe(0);
      const l = await runCli(['list', 'demo'], { cwd: empty, env });
      expect(l.code).toBe(0);
      expect(l.stderr.split('\n').filter((x) => x.includes('embedded defaults'))).toEqual([line]);
      expect(l.stdout).toMatch(/backup_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\.sql\.gz .* verified/);
      const rt = await runCli(['restore-test', 'demo'], { cwd: empty, env, timeoutMs: 300_000 });
      expect(rt.stderr).toContain(line);
      expect(rt.code).toBe(0);
      const d = await runCli(['digest'], { cwd: empty, env });
      expect(d.stderr).toContain(line);
      expect(d.code).toBe(0);
      const rows = await withPg(`postgres://postgres@127.0.0.1:5432/${stateName}`, async (c) => (await c.query("SELECT result FROM backup_bot.backup_register WHERE client = 'demo'")).rows);
      expect(rows).toEqual([{ result: 'OK' }]);
      const tests = await withPg(`postgres://postgres@127.0.0.1:5432/${stateName}`, async (c) => (await c.query("SELECT result FROM backup_bot.restore_test_register WHERE client = 'demo'")).rows);
      expect(tests).toHaveLength(1);
    } finally {
      await dropDatabase(stateName);
      await dropDatabase(demoName);
    }
  }, 400_000);

  test('an explicit config that does not exist is still an error (exit 2), never the defaults', async () => {
    const r = await runCli(['--config', join(dir, 'nope.yml'), 'doctor'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope.yml does not exist (given by --config)');
  });

  test('bad YAML and typos: exit 2 naming the file and key path, no stack trace', async () => {
    const bad = writeConfig('bad.yml', 'state: { url: "x"\n');
    const r = await runCli(['--config', bad, 'doctor']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}: invalid YAML`);
    const typo = writeConfig('typo.yml', localConfig(state.url, dir).replace('storage: [local]\n  shop', 'storage: [local]\n    shedule: "0 3 * * *"\n  shop'));
    const r2 = await runCli(['--config', typo, 'doctor'], { env: { DEMO_URL: state.url } });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('clients.demo: unknown key "shedule"');
    expect(r2.stderr).not.toMatch(/\n\s+at /);
  });

  test('unknown client: exit 2 listing the configured clients', async () => {
    const cfg = writeConfig('ok.yml', localConfig(state.url, dir));
    const r = await runCli(['--config', cfg, 'register', 'backups', '--client', 'nope'], { env: { DEMO_URL: state.url } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown client "nope" (configured clients: demo, shop)');
    const r2 = await runCli(['--config', cfg, 'register', 'bogus'], { env: { DEMO_URL: state.url } });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('unknown register "bogus" (accepted: backups, restore-tests, incidents, approvals)');
  });

  test('unreachable state database: names host and database, hides the password, no stack trace', async () => {
    const secret = `pw-${randomBytes(6).toString('hex')}`;
    const cfg = writeConfig('unreach.yml', localConfig('${STATE_URL}', dir));
    const r = await runCli(['--config', cfg, '--json', 'register', 'backups'], { env: { DEMO_URL: state.url, STATE_URL: `postgres://bot:${secret}@127.0.0.1:1/statedb` } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot connect to the state database "statedb" on 127.0.0.1:1');
    expect(r.stderr + r.stdout).not.toContain(secret);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false });
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('doctor: one line per check, exit 0 when all pass, exit 1 with FAIL when one fails', async () => {
    const store = mkdtempSync(join(tmpdir(), 'doctor-store-'));
    const cfg = writeConfig('doctor.yml', localConfig(state.url, store));
    const r = await runCli(['--config', cfg, 'doctor'], { env: { DEMO_URL: state.url } });
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.replace(/:.*/, ''))).toEqual([
      'ok    config', 'ok    state database', 'WARN  state database role', 'ok    evidence signing key', 'ok    evidence report', 'ok    client demo', 'ok    client shop', 'ok    client shop', 'ok    storage local', 'ok    storage local', 'ok    docker', 'ok    slack',
    ]);
    expect(r.stdout).toMatch(/^ok    storage local: permissions: /m);
    expect(r.stdout).toMatch(/^ok    evidence report: headless Chromium \/\S+ prints the PDF$/m);
    // The test connects as the superuser: doctor says the evidence could be changed, and how to fix it.
    expect(r.stdout).toMatch(/WARN  state database role: the bot's role "postgres" .*backup-bot db grant <role>/);
    expect(r.stdout).toMatch(/client demo: database: postgres database ".*" on 127\.0\.0\.1:5432: PostgreSQL 1\d\.\d+ reachable, pg_dump 1\d\.\d+ compatible/);
    expect(r.stdout).toMatch(/^ok    client shop: production restore: the MySQL account 'root'@'(localhost|127\.0\.0\.1)' holds the privileges of a swap restore$/m);
    expect(r.code).toBe(0);

    const ro = mkdtempSync(join(tmpdir(), 'doctor-ro-'));
    chmodSync(ro, 0o500);
    const cfg2 = writeConfig('doctor2.yml', localConfig(state.url, join(ro, 'sub')).replace('mysql://root@127.0.0.1:3306/mysql', 'mysql://root@127.0.0.1:1/mysql'));
    const r2 = await runCli(['--config', cfg2, '--json', 'doctor'], { env: { DEMO_URL: 'postgres://postgres@127.0.0.1:5432/no_such_db_here' } });
    expect(r2.code).toBe(1);
    const out = JSON.parse(r2.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> };
    expect(out.ok).toBe(false);
    const byName = Object.fromEntries(out.checks.map((c) => [c.name, c]));
    expect(byName['client demo: database']).toMatchObject({ ok: false });
    expect(byName['client demo: database']!.detail).toContain('no_such_db_here');
    expect(byName['client shop: database']).toMatchObject({ ok: false });
    if (process.getuid?.() !== 0) expect(byName['storage local']).toMatchObject({ ok: false });
  });

  test('register backups prints the section 11 CSV header on an empty register', async () => {
    const cfg = writeConfig('reg.yml', localConfig(state.url, dir));
    const r = await runCli(['--config', cfg, 'register', 'backups'], { env: { DEMO_URL: state.url } });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('Cliente,Fecha,Hora,Tipo,Archivo,Tamano,Verificado,Ejecutado Por,Resultado,Observaciones,SHA256,Tablas,Ubicaciones,Cadena #,Hash Cadena');
  });

  test('serve with no config runs on the embedded defaults, says which, creates the demo database, stops on SIGTERM', async () => {
    const suffix = randomBytes(3).toString('hex');
    const stateName = `bbt_qs_state_${suffix}`;
    const demoName = `bbt_qs_demo_${suffix}`;
    const empty = mkdtempSync(join(tmpdir(), 'qs-'));
    const child = spawn(process.execPath, [CLI, 'serve'], {
      cwd: empty,
      env: { ...process.env, LOG_LEVEL: 'warn', BACKUP_BOT_CONFIG: '', BACKUP_BOT_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${stateName}`, BACKUP_BOT_DEMO_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${demoName}`, BACKUP_BOT_METRICS_LISTEN: '127.0.0.1:0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    try {
      const deadline = Date.now() + 60_000;
      while (!out.includes('serving') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
      expect(out).toContain('using embedded defaults');
      expect(out).toContain('storage: ./backups');
      expect(out).toContain('created the demo database for client "demo"');
      expect(out).toContain('serving 1 client(s): demo');
      const n = await withPg(`postgres://postgres@127.0.0.1:5432/${demoName}`, async (c) => Number((await c.query('SELECT count(*) AS n FROM lotes')).rows[0].n));
      expect(n).toBeGreaterThan(0);
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await dropDatabase(stateName);
      await dropDatabase(demoName);
    }
  });
});
