/**
 * Issue 6, "Done when", end to end: backups taken by runBackup itself (not hand-made files) of a
 * database with the SOP's tables, restored by runRestoreTest into real staging containers —
 * PostgreSQL plain (psql) and custom (pg_restore -j), and MariaDB — with the production row counts
 * the backup recorded, the user's SQL checks, and the application container ("the site loads").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { runBackup } from '../../src/operations/backup.js';
import { runRestoreTest } from '../../src/operations/restore-test.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { listRestoreTests } from '../../src/store/restore-test-register.js';
import { tarHeader } from '../../src/core/staging/tar.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createTestMysqlDatabase, mysqlExec, type TestMysqlDatabase } from '../helpers/mariadb.js';
import { testConfig } from '../helpers/config.js';
import { testContext , type TestContext } from '../helpers/context.js';
import type { Context } from '../../src/context.js';
import type { RecordingNotifier } from '../helpers/notifier.js';
import { leftovers, teardownWarnings } from './restore-test-fixtures.js';

const docker = new Docker();
const TABLES = ['lotes', 'movimientos', 'users', 'productos'];
const APP_IMAGE = 'backup-bot-test/fake-app:1';

/**
 * A stand-in for the client's application, built from the local staging image (no registry): a tiny
 * HTTP server that answers /login with 200 only when an active admin can be read from the database
 * named by DATABASE_URL (through psql, argument list, no shell) — the runbook's "admin can log in".
 */
const APP_PL = String.raw`
use strict; use IO::Socket::INET;
my $srv = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die "listen: $!";
$| = 1; print "fake app listening\n";
while (my $c = $srv->accept) {
  my $req = <$c> // ''; while (my $l = <$c>) { last if $l =~ /^\r?\n$/ }
  my ($path) = $req =~ m{^GET (\S+)};
  my $out = '';
  if (open(my $fh, '-|', 'psql', $ENV{DATABASE_URL}, '-tAc', 'SELECT count(*) FROM users WHERE admin AND activo')) { local $/; $out = <$fh> // ''; close $fh }
  my $ok = defined $path && $path eq '/login' && $out =~ /^\s*[1-9]/;
  my $body = $ok ? "login ok\n" : "no admin\n";
  print $c ($ok ? "HTTP/1.0 200 OK" : "HTTP/1.0 503 Unavailable") . "\r\nContent-Length: " . length($body) . "\r\n\r\n" . $body;
  close $c;
}
`;

async function buildFakeApp(): Promise<void> {
  const dockerfile = 'FROM postgres:15\nCOPY app.pl /app.pl\nENTRYPOINT ["perl", "/app.pl"]\nCMD []\n';
  const file = (name: string, text: string) => {
    const body = Buffer.from(text);
    return [tarHeader(name, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512)];
  };
  const tar = Buffer.concat([...file('Dockerfile', dockerfile), ...file('app.pl', APP_PL), Buffer.alloc(1024)]);
  const stream = await docker.buildImage(tar as unknown as NodeJS.ReadableStream, { t: APP_IMAGE, rm: true, forcerm: true });
  const events = await new Promise<Array<{ error?: string }>>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null, res: Array<{ error?: string }>) => (err ? reject(err) : resolve(res))));
  const failed = events.find((e) => e.error);
  if (failed) throw new Error(`building ${APP_IMAGE}: ${failed.error}`);
}

let dir: string;
const made: Array<{ drop(): Promise<void> }> = [];
const contexts: TestContext[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bbt-rte-'));
});
afterAll(async () => {
  for (const c of contexts) await c.close();
  for (const d of made) await d.drop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
  await docker.getImage(APP_IMAGE).remove({ force: true }).catch(() => undefined);
});

describe('PostgreSQL: runBackup → runRestoreTest', () => {
  let state: TestDatabase;
  let src: TestDatabase;
  let ctx: TestContext;

  beforeAll(async () => {
    state = await createTestDatabase('bbt_rte_state');
    src = await createTestDatabase('bbt_rte_src');
    made.push(state, src);
    await fillSampleDatabase(src.url);
    await buildFakeApp();
  });

  const contextFor = async (format: 'plain' | 'custom', app: boolean, appTimeout = '60s') => {
    const c = await testContext(testConfig({
      stateUrl: state.url, demoUrl: src.url, storageDir: join(dir, format),
      client: {
        database: { engine: 'postgres', url: src.url, format },
        verify: { minTables: 15, tables: TABLES, checks: [{ name: 'an active admin user exists', sql: 'SELECT EXISTS (SELECT 1 FROM users WHERE admin AND activo)' }] },
        restoreTest: { timeout: '3m', memoryMb: 512, cpus: 1, ...(app ? { app: { image: APP_IMAGE, port: 8080, path: '/login', timeout: appTimeout, env: { DATABASE_URL: '${STAGING_DB_URL}' } } } : {}) },
      },
    }));
    contexts.push(c);
    return c;
  };

  it('plain backup (psql) with the application container: passes, counts equal production at backup time, §12 row, nothing left', async () => {
    ctx = await contextFor('plain', true);
    const b = await runBackup(ctx, { client: 'demo', actor: 'U0OPER', actorName: 'Oper Ator', trigger: 'cli', notify: false });
    expect(b.error).toBeUndefined();
    expect(b.verified).toBe(true);
    // Production changes after the backup: the restore test compares against the counts of the backup, not of now.
    await import('pg').then(async ({ default: pg }) => {
      const c = new pg.Client({ connectionString: src.url });
      await c.connect();
      await c.query("INSERT INTO movimientos (lote_id, tipo, cantidad, fecha) SELECT lote_id, tipo, cantidad, now() FROM movimientos LIMIT 5");
      await c.end();
    }).catch((e: Error) => { throw new Error(`could not change production after the backup: ${e.message}`); });

    const out = await runRestoreTest(ctx, { client: 'demo', actor: 'U0OPER', actorName: 'Oper Ator', trigger: 'cli' });
    expect(out.error).toBeUndefined();
    expect(out.ok).toBe(true);
    expect(out.backup.file).toBe(b.backup!.file);
    const byName = Object.fromEntries(out.checks.map((c) => [c.name, c]));
    expect(byName['rows movimientos']).toMatchObject({ ok: true });
    expect(byName['an active admin user exists']).toMatchObject({ ok: true });
    const site = out.checks.find((c) => c.name.startsWith('site loads'));
    expect(site).toMatchObject({ ok: true, detail: 'HTTP 200 from /login' });
    const [row] = await listRestoreTests(ctx.pool, { client: 'demo' });
    expect(row).toMatchObject({ backup_used: b.backup!.file, environment: 'Test', result: 'OK', executed_by: 'Oper Ator' });
    expect(row!.records_verified).toEqual({ lotes: { staging: 200, production: 200 }, movimientos: { staging: 1000, production: 1000 }, users: { staging: 4, production: 4 }, productos: { staging: 40, production: 40 } });
    expect(teardownWarnings(out.run)).toEqual([]);
    expect(await leftovers(docker, out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });
  });

  it('custom-format backup (pg_restore -j): passes with the same counts', async () => {
    const c = await contextFor('custom', false);
    const b = await runBackup(c, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false });
    expect(b.error).toBeUndefined();
    expect(b.backup!.file).toMatch(/^backup_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\.dump$/);
    const out = await runRestoreTest(c, { client: 'demo', actor: 'U0OPER', trigger: 'cli', backupKey: b.backup!.key! });
    expect(out.error).toBeUndefined();
    expect(out.ok).toBe(true);
    expect(out.checks.find((x) => x.name === 'rows movimientos')).toMatchObject({ ok: true, detail: expect.stringMatching(/^1005 rows = production/) });
    expect(teardownWarnings(out.run)).toEqual([]);
    expect(await leftovers(docker, out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });
  });

  it('the application does not answer 200 (no active admin in the backup): the test fails at "verifying" naming the site check', async () => {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: src.url });
    await c.connect();
    await c.query('UPDATE users SET activo = false');
    await c.end();
    try {
      const rc = await contextFor('plain', true, '8s');
      const b = await runBackup(rc, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false });
      expect(b.verified).toBe(true);
      const out = await runRestoreTest(rc, { client: 'demo', actor: 'U0OPER', trigger: 'cli', backupKey: b.backup!.key! });
      expect(out.ok).toBe(false);
      expect(out.failedStep).toBe('verifying');
      expect(out.error).toBe('2 check(s) failed: an active admin user exists (returned "f" (must return true)); site loads (backup-bot-test/fake-app:1 /login) (/login did not answer 200 within 8 s (last: HTTP 503))');
      expect(out.checks.find((x) => x.name.startsWith('site loads'))).toMatchObject({ ok: false });
      expect(teardownWarnings(out.run)).toEqual([]);
    expect(await leftovers(docker, out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });
    } finally {
      const c2 = new pg.Client({ connectionString: src.url });
      await c2.connect();
      await c2.query('UPDATE users SET activo = true');
      await c2.end();
    }
  });
});

describe('MariaDB: runBackup → runRestoreTest in the mariadb staging image', () => {
  it('passes: tables, row counts equal production at backup time, a SQL check; §12 row; nothing left', async () => {
    const state = await createTestDatabase('bbt_rtm_state');
    const my: TestMysqlDatabase = await createTestMysqlDatabase('bbrtm');
    made.push(state, my);
    await mysqlExec(`SET NAMES utf8mb4;
      CREATE TABLE productos (id INT AUTO_INCREMENT PRIMARY KEY, nombre VARCHAR(100) NOT NULL) DEFAULT CHARSET=utf8mb4;
      CREATE TABLE lotes (id INT AUTO_INCREMENT PRIMARY KEY, producto_id INT NOT NULL, codigo VARCHAR(40), FOREIGN KEY (producto_id) REFERENCES productos(id)) DEFAULT CHARSET=utf8mb4;
      CREATE TABLE movimientos (id BIGINT AUTO_INCREMENT PRIMARY KEY, lote_id INT NOT NULL, cantidad INT, fecha DATETIME, FOREIGN KEY (lote_id) REFERENCES lotes(id)) DEFAULT CHARSET=utf8mb4;
      CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, nombre VARCHAR(100), admin BOOL, activo BOOL) DEFAULT CHARSET=utf8mb4;
      INSERT INTO productos (nombre) SELECT CONCAT('Ibuprofeno ', seq, ' mg — ñ') FROM seq_1_to_30;
      INSERT INTO lotes (producto_id, codigo) SELECT 1 + seq % 30, CONCAT('L-', seq) FROM seq_1_to_120;
      INSERT INTO movimientos (lote_id, cantidad, fecha) SELECT 1 + seq % 120, seq, NOW() - INTERVAL seq MINUTE FROM seq_1_to_700;
      INSERT INTO users (nombre, admin, activo) VALUES ('Admin', 1, 1), ('Operador', 0, 1);
    `, my.name);
    const ctx = await testContext(testConfig({
      stateUrl: state.url, storageDir: join(dir, 'mysql'),
      client: {
        database: { engine: 'mysql', url: my.url },
        verify: { minTables: 4, tables: TABLES, checks: [{ name: 'an active admin user exists', sql: 'SELECT EXISTS (SELECT 1 FROM users WHERE admin AND activo)' }] },
        restoreTest: { timeout: '3m', memoryMb: 768, cpus: 1 },
      },
    }));
    contexts.push(ctx);
    const b = await runBackup(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false });
    expect(b.error).toBeUndefined();
    expect(b.verified).toBe(true);
    await mysqlExec('DELETE FROM movimientos WHERE id <= 10', my.name); // production moves on after the backup

    const out = await runRestoreTest(ctx, { client: 'demo', actor: 'U0OPER', actorName: 'Oper Ator', trigger: 'cli' });
    expect(out.error).toBeUndefined();
    expect(out.ok).toBe(true);
    expect(out.checks.map((c) => [c.name, c.ok])).toEqual([
      ['tables', true], ['rows lotes', true], ['rows movimientos', true], ['rows users', true], ['rows productos', true], ['an active admin user exists', true],
    ]);
    const [row] = await listRestoreTests(ctx.pool, { client: 'demo' });
    expect(row).toMatchObject({ backup_used: b.backup!.file, result: 'OK', environment: 'Test' });
    expect(row!.records_verified).toEqual({ lotes: { staging: 120, production: 120 }, movimientos: { staging: 700, production: 700 }, users: { staging: 2, production: 2 }, productos: { staging: 30, production: 30 } });
    expect(teardownWarnings(out.run)).toEqual([]);
    expect(await leftovers(docker, out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });
  });
});
