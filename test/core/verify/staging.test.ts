/**
 * The app container's environment: ${STAGING_DB_*} placeholders point at the staging database in the
 * network namespace the app shares with it (127.0.0.1), never at production. And the application check
 * against the real engine: the app container has the database container's hardening and limits, no
 * network of its own (no route), the password only as a file when asked for, and is probed through exec.
 */
import Docker from 'dockerode';
import { appEnv, verifyStaging } from '../../../src/core/verify/staging.js';
import { STAGING_PIDS_LIMIT, createStaging, destroyStaging, waitReady, type Staging } from '../../../src/core/staging/container.js';
import { execIn } from '../../../src/core/staging/exec.js';
import { tarHeader } from '../../../src/core/staging/tar.js';

const s = { engine: 'postgres', innerPort: 5432, database: 'demo_restore_test', user: 'postgres', password: 'p@ss/w:rd' } as unknown as Staging;

describe('appEnv', () => {
  it('fills every STAGING_DB_* placeholder and leaves other text alone', () => {
    expect(appEnv(s, {
      DATABASE_URL: '${STAGING_DB_URL}',
      DB_HOST: '${STAGING_DB_HOST}', DB_PORT: '${STAGING_DB_PORT}', DB_NAME: '${STAGING_DB_NAME}', DB_USER: '${STAGING_DB_USER}', DB_PASS: '${STAGING_DB_PASSWORD}',
      DB_PASS_FILE: '${STAGING_DB_PASSWORD_FILE}',
      JDBC: 'jdbc:postgresql://${STAGING_DB_HOST}:${STAGING_DB_PORT}/${STAGING_DB_NAME}',
      OTHER: '${NOT_A_STAGING_VAR} plain',
    })).toEqual([
      'DATABASE_URL=postgresql://postgres:p%40ss%2Fw%3Ard@127.0.0.1:5432/demo_restore_test',
      'DB_HOST=127.0.0.1', 'DB_PORT=5432', 'DB_NAME=demo_restore_test', 'DB_USER=postgres', 'DB_PASS=p@ss/w:rd',
      'DB_PASS_FILE=/tmp/backup-bot-secret/password',
      'JDBC=jdbc:postgresql://127.0.0.1:5432/demo_restore_test',
      'OTHER=${NOT_A_STAGING_VAR} plain',
    ]);
  });
});

const docker = new Docker();
const APP_IMAGE = 'backup-bot-test/verify-app:1';
const runId = `v${Date.now().toString(36)}`;

/**
 * A stand-in application built from the local staging image (no registry): answers /login with 200 only
 * when it can log in to the staging database over TCP with the password read from DB_PASSWORD_FILE.
 */
const APP_PL = String.raw`
use strict; use IO::Socket::INET;
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die "listen: $!";
$| = 1; print "verify app listening\n";
while (my $c = $srv->accept) {
  my $req = <$c> // ''; while (my $l = <$c>) { last if $l =~ /^\r?\n$/ }
  my ($path) = $req =~ m{^GET (\S+)};
  open(my $pf, '<', $ENV{DB_PASSWORD_FILE}) or do { print $c "HTTP/1.0 500 No password file\r\n\r\n"; close $c; next };
  my $pw = <$pf>; close $pf; chomp $pw;
  local $ENV{PGPASSWORD} = $pw;
  my $out = '';
  if (open(my $fh, '-|', 'psql', '-X', '-h', $ENV{DB_HOST}, '-p', $ENV{DB_PORT}, '-U', $ENV{DB_USER}, '-d', $ENV{DB_NAME}, '-tAc', 'SELECT 42')) { local $/; $out = <$fh> // ''; close $fh }
  my $ok = defined $path && $path eq '/login' && $out =~ /^42/;
  print $c ($ok ? "HTTP/1.0 200 OK" : "HTTP/1.0 503 Unavailable") . "\r\nContent-Length: 0\r\n\r\n";
  close $c;
}
`;

async function buildApp(): Promise<void> {
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

describe('the application check (restoreTest.app) against the real engine', () => {
  let st: Staging;
  beforeAll(async () => {
    await buildApp();
    st = await createStaging(docker, { engine: 'postgres', image: 'postgres:15', runId, client: 'vertest', memoryMb: 384, cpus: 0.5 });
    await waitReady(st, { timeoutMs: 180_000 });
  }, 240_000);
  afterAll(async () => {
    if (st) await destroyStaging(st);
    await docker.getImage(APP_IMAGE).remove({ force: true }).catch(() => undefined);
  });

  const spec = (app: Record<string, unknown>) => ({
    minTables: 0, tables: [], checks: [], runId, client: 'vertest',
    app: { image: APP_IMAGE, port: 8080, path: '/login', timeoutMs: 60_000, env: { DB_HOST: '${STAGING_DB_HOST}', DB_PORT: '${STAGING_DB_PORT}', DB_USER: '${STAGING_DB_USER}', DB_NAME: '${STAGING_DB_NAME}', DB_PASSWORD_FILE: '${STAGING_DB_PASSWORD_FILE}' }, ...app },
  });

  it('answers 200 through exec; the app container shares the database namespace (no route), has the same limits and hardening, and no password in its inspect', async () => {
    const r = await verifyStaging(st, spec({}));
    expect(r.checks.find((c) => c.name.startsWith('site loads'))).toEqual({ name: `site loads (${APP_IMAGE} /login)`, ok: true, detail: 'HTTP 200 from /login' });
    const app = st.extra![st.extra!.length - 1]!;
    const info = await app.inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Config.Labels).toMatchObject({ 'backup-bot.managed': 'true', 'backup-bot.run-id': runId, 'backup-bot.role': 'app' });
    expect(info.HostConfig).toMatchObject({
      NetworkMode: `container:${st.container.id}`, Memory: 384 * 1024 * 1024, MemorySwap: 384 * 1024 * 1024, NanoCpus: 0.5e9, PidsLimit: STAGING_PIDS_LIMIT,
      CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], Privileged: false,
    });
    expect(info.HostConfig.CapAdd ?? []).toEqual([]);
    expect(JSON.stringify(info)).not.toContain(st.password);
    const route = await execIn(app, ['cat', '/proc/net/route']);
    expect(route.exitCode).toBe(0);
    expect(route.stdout.trim().split('\n').slice(1).filter((l) => l.split(/\s+/)[1] === '00000000')).toEqual([]);
    const file = await execIn(app, ['stat', '-c', '%a %U', '/tmp/backup-bot-secret', '/tmp/backup-bot-secret/password']);
    expect(file.stdout).toBe('700 postgres\n600 postgres\n');
  }, 120_000);

  const removeApps = async () => {
    for (const c of st.extra ?? []) await c.remove({ force: true }).catch(() => undefined);
    st.extra = [];
  };

  it('a wrong path, and an app.port equal to the database port: failed checks saying why', async () => {
    await removeApps();
    const r = await verifyStaging(st, spec({ path: '/nope', timeoutMs: 10_000 }));
    expect(r.checks.find((c) => c.name.startsWith('site loads'))).toMatchObject({ ok: false, detail: '/nope did not answer 200 within 10 s (last: HTTP 503)' });
    await removeApps();
    const r2 = await verifyStaging(st, spec({ port: 5432 }));
    expect(r2.checks.find((c) => c.name.startsWith('site loads'))).toMatchObject({ ok: false, detail: "restoreTest.app.port 5432 is the staging database's own port (the application shares its network namespace): use another port" });
  }, 120_000);
});
