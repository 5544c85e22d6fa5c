/**
 * The staging core against the real Docker engine: one postgres:15 container for the file
 * (labels, limits, no mounts, no network, dropped capabilities, password as a file), exec with demux + exit codes,
 * stdin streaming into psql, a custom-format archive through putArchive + pg_restore -j, and the
 * removal of the container and network. Plus cleanupOrphans on a labelled leftover.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import Docker from 'dockerode';
import { STAGING_PIDS_LIMIT, containerLogTail, createStaging, destroyStaging, waitReady, describeContainerState, type Staging } from '../../../src/core/staging/container.js';
import { execIn } from '../../../src/core/staging/exec.js';
import { cleanupOrphans } from '../../../src/core/staging/orphans.js';
import { stateIdOf } from '../../../src/core/staging/labels.js';
import { ensureImage } from '../../../src/core/staging/image.js';
import { restoreIntoStaging } from '../../../src/core/staging/restore.js';
import { runProgram } from '../../../src/core/run-program.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.js';
import { fillSampleDatabase } from '../../../src/core/demo-database.js';
import { dockerFromConfig, pingDocker } from '../../../src/core/staging/docker.js';

const docker = new Docker();
const runId = `t${Date.now().toString(36)}`;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('staging container', () => {
  let s: Staging;
  let src: TestDatabase;
  let t0 = 0;
  let readyMs = 0;

  beforeAll(async () => {
    src = await createTestDatabase('bbt_stg');
    await fillSampleDatabase(src.url);
    t0 = performance.now();
    s = await createStaging(docker, { engine: 'postgres', image: 'postgres:15', runId, client: 'stgtest', memoryMb: 512, cpus: 1 });
    await waitReady(s, { timeoutMs: 60_000 });
    readyMs = performance.now() - t0;
  });

  afterAll(async () => {
    if (s) await destroyStaging(s);
    await src?.drop();
  });

  it('is labelled, limited and isolated: no network (no route, no published port), CapDrop ALL, no-new-privileges, pids limit', async () => {
    const info = await s.container.inspect();
    expect(info.Config.Labels).toMatchObject({ 'backup-bot.managed': 'true', 'backup-bot.run-id': runId, 'backup-bot.client': 'stgtest' });
    expect(info.HostConfig).toMatchObject({
      Memory: 512 * 1024 * 1024, NanoCpus: 1e9, PidsLimit: STAGING_PIDS_LIMIT,
      NetworkMode: 'none', CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], Privileged: false, PublishAllPorts: false,
    });
    // The image runs as its own user (USER postgres): nothing is added back.
    expect(info.HostConfig.CapAdd ?? []).toEqual([]);
    expect(info.Mounts.filter((m) => m.Type === 'bind')).toEqual([]);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual(['none']);
    expect(Object.values(info.NetworkSettings.Ports ?? {}).flat().filter(Boolean)).toEqual([]);
    console.log(`[staging] create + start + ready: ${readyMs.toFixed(0)} ms`);
  });

  it('has no route anywhere and no interface but loopback (read inside, nothing sent)', async () => {
    const route = await execIn(s.container, ['cat', '/proc/net/route']);
    expect(route.exitCode).toBe(0);
    const routes = route.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/));
    expect(routes.filter((r) => r[1] === '00000000')).toEqual([]);
    const dev = await execIn(s.container, ['cat', '/proc/net/dev']);
    const ifaces = dev.stdout.trim().split('\n').slice(2).map((l) => l.trim().split(':')[0]);
    expect(ifaces).toEqual(['lo']);
    // The processes hold no capability at all (non-root image, CapDrop ALL, no-new-privileges).
    const status = await execIn(s.container, ['grep', '-E', '^(CapEff|CapBnd|NoNewPrivs)', '/proc/1/status']);
    expect(status.stdout).toMatch(/CapEff:\s+0000000000000000/);
    expect(status.stdout).toMatch(/CapBnd:\s+0000000000000000/);
    expect(status.stdout).toMatch(/NoNewPrivs:\s+1/);
  });

  it('the password is in no docker inspect field, no log line and no file once ready; it works for TCP logins inside', async () => {
    const info = await s.container.inspect();
    expect(info.Config.Env).toEqual(expect.arrayContaining(['POSTGRES_PASSWORD_FILE=/tmp/backup-bot-secret/password']));
    expect(JSON.stringify(info)).not.toContain(s.password);
    expect(await containerLogTail(s, 1000)).not.toContain(s.password);
    const gone = await execIn(s.container, ['ls', '/tmp/backup-bot-secret']);
    expect(gone.exitCode).not.toBe(0);
    const tcp = ['psql', '-X', '-At', '-h', '127.0.0.1', '-U', s.user, '-d', s.database, '-c', 'select 1'];
    expect(await execIn(s.container, tcp, { env: [`PGPASSWORD=${s.password}`] })).toMatchObject({ exitCode: 0, stdout: '1\n' });
    const wrong = await execIn(s.container, tcp, { env: ['PGPASSWORD=wrong'] });
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.stderr).toMatch(/password authentication failed/);
  });

  it('exec: demultiplexed output and the real exit code', async () => {
    const ok = await execIn(s.container, ['psql', '-X', '-At', '-U', s.user, '-d', s.database, '-c', "select 'héllo'"]);
    expect(ok).toMatchObject({ exitCode: 0, stdout: 'héllo\n' });
    const bad = await execIn(s.container, ['psql', '-X', '-U', s.user, '-d', 'nope', '-c', 'select 1']);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/nope/);
  });

  it('streams stdin into psql (half-close ends the input)', async () => {
    const sql = Buffer.from('CREATE TABLE t1 (id int);\nINSERT INTO t1 SELECT generate_series(1, 5000);\n'.repeat(1) + 'SELECT count(*) FROM t1;\n');
    const r = await execIn(s.container, ['psql', '-X', '-q', '-At', '-U', s.user, '-d', s.database], { stdin: Readable.from([sql]) });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe('5000');
    expect(r.stdinBytes).toBe(sql.length);
  });

  it('restores a real plain dump (gzip) of the sample database', async () => {
    const dump = await runProgram('pg_dump', ['--dbname', src.url, '--no-owner']);
    expect(dump.code).toBe(0);
    const gz = gzipSync(Buffer.from(dump.stdout));
    const r = await restoreIntoStaging(s, { open: async () => Readable.from([gz]), what: 'x.sql.gz', format: 'plain', gzip: true, expected: { sha256: sha(gz), sizeBytes: gz.length } });
    expect(r.bytes).toBe(gz.length);
    const n = await execIn(s.container, ['psql', '-X', '-At', '-U', s.user, '-d', s.database, '-c', 'select count(*) from movimientos']);
    expect(n.stdout.trim()).toBe('1000');
  });

  it('restores a custom-format archive with pg_restore -j from a file copied into the container', async () => {
    const r0 = await execIn(s.container, ['psql', '-X', '-U', s.user, '-d', 'postgres', '-c', `drop database ${s.database} with (force)`, '-c', `create database ${s.database}`]);
    expect(r0.exitCode).toBe(0);
    const dump = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      import('node:child_process').then(({ spawn }) => {
        const p = spawn('pg_dump', ['-Fc', '--dbname', src.url]);
        p.stdout.on('data', (c: Buffer) => chunks.push(c));
        p.on('error', reject);
        p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`pg_dump ${code}`))));
      });
    });
    const r = await restoreIntoStaging(s, { open: async () => Readable.from([dump]), what: 'x.dump', format: 'custom', gzip: false, expected: { sha256: sha(dump), sizeBytes: dump.length } }, { jobs: 2 });
    expect(r.bytes).toBe(dump.length);
    const n = await execIn(s.container, ['psql', '-X', '-At', '-U', s.user, '-d', s.database, '-c', 'select count(*) from lotes']);
    expect(n.stdout.trim()).toBe('200');
    // A custom archive whose bytes were altered is refused before pg_restore runs.
    const bad = Buffer.from(dump);
    bad.writeUInt8(bad[bad.length - 10]! ^ 0xff, bad.length - 10);
    await expect(restoreIntoStaging(s, { open: async () => Readable.from([bad]), what: 'x.dump', format: 'custom', gzip: false, expected: { sha256: sha(dump), sizeBytes: dump.length } }))
      .rejects.toThrow(/sha256 mismatch/);
  });

  it('a gzip error in the input fails the restore with that reason', async () => {
    const gz = gzipSync(Buffer.from('SELECT 1;\n'.repeat(10000)));
    const cut = gz.subarray(0, Math.floor(gz.length / 2));
    await expect(restoreIntoStaging(s, { open: async () => Readable.from([cut]), what: 'cut.sql.gz', format: 'plain', gzip: true, expected: { sha256: sha(cut), sizeBytes: cut.length } }))
      .rejects.toThrow(/gzip error: unexpected end of file/);
  });

  it('removes the container', async () => {
    const t = performance.now();
    expect(await destroyStaging(s)).toEqual([]);
    console.log(`[staging] teardown: ${(performance.now() - t).toFixed(0)} ms`);
    const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`backup-bot.run-id=${runId}`] }) });
    expect(left).toEqual([]);
    const nets = await docker.listNetworks({ filters: JSON.stringify({ label: [`backup-bot.run-id=${runId}`] }) });
    expect(nets).toEqual([]);
    expect((await describeContainerState(s)).running).toBe(false);
  });
});

describe('MariaDB staging container, image pinned by its ID', () => {
  it('runs with no network, CapDrop ALL, no-new-privileges, a pids limit; the root password comes from a file and is nowhere in inspect or logs', async () => {
    const id = (await docker.getImage('mariadb:10.11').inspect()).Id;
    const m = await createStaging(docker, { engine: 'mysql', image: id, runId: `${runId}m`, client: 'stgtest', memoryMb: 512, cpus: 1 });
    try {
      await waitReady(m, { timeoutMs: 180_000 });
      const info = await m.container.inspect();
      expect(info.Config.Image).toBe(id);
      expect(info.HostConfig).toMatchObject({ NetworkMode: 'none', CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], PidsLimit: STAGING_PIDS_LIMIT, Memory: 512 * 1024 * 1024 });
      expect(info.HostConfig.CapAdd ?? []).toEqual([]);
      expect(info.Config.Env).toEqual(expect.arrayContaining(['MARIADB_ROOT_PASSWORD_FILE=/tmp/backup-bot-secret/password']));
      expect(JSON.stringify(info)).not.toContain(m.password);
      expect(await containerLogTail(m, 1000)).not.toContain(m.password);
      const route = await execIn(m.container, ['cat', '/proc/net/route']);
      expect(route.stdout.trim().split('\n').slice(1).filter((l) => l.split(/\s+/)[1] === '00000000')).toEqual([]);
      const tcp = ['mariadb', '--protocol=TCP', '-h', '127.0.0.1', '-uroot', '--batch', '--skip-column-names', '-e', 'SELECT DATABASE()', m.database];
      expect(await execIn(m.container, tcp, { env: [`MYSQL_PWD=${m.password}`] })).toMatchObject({ exitCode: 0, stdout: `${m.database}\n` });
      expect((await execIn(m.container, tcp, { env: ['MYSQL_PWD=wrong'] })).exitCode).not.toBe(0);
      expect((await execIn(m.container, ['ls', '/tmp/backup-bot-secret'])).exitCode).not.toBe(0);
    } finally {
      expect(await destroyStaging(m)).toEqual([]);
    }
  });
});

describe('an image whose entrypoint starts as root (like the official images)', () => {
  const ROOT_IMAGE = `backup-bot-test/postgres-as-root:${runId}`;
  afterAll(async () => { await docker.getImage(ROOT_IMAGE).remove({ force: true }).catch(() => undefined); });

  it('gets back only CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID; the server runs without any; the password file is root-owned, group-readable only', async () => {
    const base = await docker.createContainer({ Image: 'postgres:15', Labels: { 'backup-bot.test': runId } });
    try {
      await base.commit({ repo: ROOT_IMAGE.split(':')[0], tag: runId, changes: 'USER root' });
    } finally {
      await base.remove({ force: true });
    }
    expect((await docker.getImage(ROOT_IMAGE).inspect()).Config.User).toBe('root');
    const r = await createStaging(docker, { engine: 'postgres', image: ROOT_IMAGE, runId: `${runId}r`, client: 'stgtest', memoryMb: 512, cpus: 1 });
    try {
      const info = await r.container.inspect();
      expect(info.HostConfig).toMatchObject({ CapDrop: ['ALL'], CapAdd: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'], SecurityOpt: ['no-new-privileges'], NetworkMode: 'none' });
      const secret = await execIn(r.container, ['stat', '-c', '%a %U:%G', '/tmp/backup-bot-secret', '/tmp/backup-bot-secret/password']);
      expect(secret.stdout).toBe('750 root:postgres\n640 root:postgres\n');
      await waitReady(r, { timeoutMs: 180_000 });
      // The entrypoint dropped to postgres (setpriv): the server holds no capability.
      const status = await execIn(r.container, ['grep', '-E', '^(Uid|CapEff)', '/proc/1/status']);
      expect(status.stdout).toMatch(/CapEff:\s+0000000000000000/);
      expect(status.stdout).not.toMatch(/Uid:\s+0\s/);
      const tcp = await execIn(r.container, ['psql', '-X', '-At', '-h', '127.0.0.1', '-U', r.user, '-d', r.database, '-c', 'select 1'], { env: [`PGPASSWORD=${r.password}`], user: 'postgres' });
      expect(tcp).toMatchObject({ exitCode: 0, stdout: '1\n' });
    } finally {
      expect(await destroyStaging(r)).toEqual([]);
    }
  });
});

describe('destroyStaging under contention', () => {
  it('a removal already in progress elsewhere (409) is waited out: nothing left, nothing reported', async () => {
    const rid = `${runId}c`;
    const s2 = await createStaging(docker, { engine: 'postgres', image: 'postgres:15', runId: rid, client: 'stgtest', memoryMb: 256, cpus: 1 });
    // Another remover (the orphan clean-up of a restarted bot, Docker's own clean-up) gets there first.
    const other = s2.container.remove({ force: true, v: true }).catch((e: unknown) => e);
    const problems = await destroyStaging(s2);
    await other;
    expect(problems).toEqual([]);
    expect(await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`backup-bot.run-id=${rid}`] }) })).toEqual([]);
    expect(await docker.listNetworks({ filters: JSON.stringify({ label: [`backup-bot.run-id=${rid}`] }) })).toEqual([]);
  });
});

describe('cleanupOrphans', () => {
  it('removes labelled containers and networks of runs that are not running; keeps running runs and other bots\' leftovers', async () => {
    const tag = Date.now().toString(36);
    const mine = stateIdOf(`postgres://x@127.0.0.1:5432/state_${tag}`);
    const other = stateIdOf(`postgres://x@127.0.0.1:5432/other_${tag}`);
    const mk = async (run: string, state: string) => {
      const labels = { 'backup-bot.managed': 'true', 'backup-bot.run-id': run, 'backup-bot.client': 'stgtest', 'backup-bot.state': state };
      const net = await docker.createNetwork({ Name: `bb-test-${run}-${tag}`, Labels: labels });
      const c = await docker.createContainer({ Image: 'postgres:15', Cmd: ['sleep', '60'], Labels: labels, HostConfig: { NetworkMode: `bb-test-${run}-${tag}` } });
      return { net, c };
    };
    const orphan = await mk('101', mine);
    const live = await mk('102', mine);
    const foreign = await mk('101', other);
    try {
      const res = await cleanupOrphans(docker, (id) => id === '102', { stateId: mine });
      expect(res.errors).toEqual([]);
      expect(res.networks).toEqual([`bb-test-101-${tag}`]);
      expect(res.containers).toHaveLength(1);
      await expect(orphan.c.inspect()).rejects.toMatchObject({ statusCode: 404 });
      await expect(orphan.net.inspect()).rejects.toMatchObject({ statusCode: 404 });
      await expect(live.c.inspect()).resolves.toBeTruthy();
      await expect(foreign.c.inspect()).resolves.toBeTruthy();
    } finally {
      for (const x of [orphan, live, foreign]) {
        await x.c.remove({ force: true }).catch(() => {});
        await x.net.remove().catch(() => {});
      }
    }
  });

  it('stateIdOf never depends on the password', () => {
    expect(stateIdOf('postgres://u:secret1@h:5432/db')).toBe(stateIdOf('postgres://u:other@h:5432/db'));
    expect(stateIdOf('postgres://u@h:5432/db')).not.toBe(stateIdOf('postgres://u@h:5432/db2'));
  });
});

describe('docker errors', () => {
  it('a daemon that is not there: a clear error naming where it was looked for', async () => {
    const d = dockerFromConfig({ docker: { host: 'unix:///tmp/backup-bot-no-such-docker.sock' } });
    await expect(pingDocker(d, 'unix:///tmp/backup-bot-no-such-docker.sock')).rejects.toThrow(/cannot reach the Docker daemon at unix:\/\/\/tmp\/backup-bot-no-such-docker.sock: .*ENOENT/);
  });

  it('a missing image is never pulled by default: a clear error naming the build script', async () => {
    await expect(ensureImage(docker, 'backup-bot/does-not-exist:1'))
      .rejects.toThrow('image backup-bot/does-not-exist:1 is not on the Docker engine and is never pulled (restoreTest.pull: never): build it with scripts/build-staging-image.sh (or docker load it), or set restoreTest.pull: missing to pull it from its registry');
  });

  it('pull: missing asks the registry for a missing image; one that is not there is a clear error (a loopback registry: nothing leaves the machine)', async () => {
    await expect(ensureImage(docker, '127.0.0.1:1/backup-bot/does-not-exist:1', { pull: 'missing', pullTimeoutMs: 30_000 }))
      .rejects.toThrow(/^image 127\.0\.0\.1:1\/backup-bot\/does-not-exist:1 is not available and cannot be pulled: .*(connection refused|connect).*; build it with scripts\/build-staging-image.sh/);
  });

  it('pinning: a full image ID is used as is (the docker-imported images have no RepoDigest); a digest reference not on the engine is not pulled; a shortened ID is refused', async () => {
    const id = (await docker.getImage('postgres:15').inspect()).Id;
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    await expect(ensureImage(docker, id)).resolves.toMatchObject({ image: id, id, major: 15 });
    const digest = `postgres@sha256:${'0'.repeat(64)}`;
    await expect(ensureImage(docker, digest)).rejects.toThrow(`image ${digest} is not on the Docker engine and is never pulled (restoreTest.pull: never): build it with scripts/build-staging-image.sh`);
    await expect(ensureImage(docker, id.slice(0, 19))).rejects.toThrow(/an image ID must be the full "sha256:" followed by 64 hex digits/);
    await expect(ensureImage(docker, 'postgres@sha256:abc')).rejects.toThrow(/a digest must be "@sha256:" followed by 64 hex digits/);
  });

  it('reads the server major version of the staging image', async () => {
    const i = await ensureImage(docker, 'postgres:15');
    expect(i.major).toBe(15);
    const m = await ensureImage(docker, 'mariadb:10.11');
    expect(m.major).toBe(10);
  });
});
