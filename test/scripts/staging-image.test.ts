/**
 * End-to-end check of the locally built staging image (scripts/build-staging-image.sh):
 * a `postgres:15` container with a random password, published on 127.0.0.1 with a
 * random host port, must become ready, accept password logins over TCP from the host,
 * refuse a wrong password, have the client tools on PATH for `docker exec`, and be
 * quick to start and remove (restore tests need start-up + teardown under 5 s).
 *
 * Needs a reachable Docker daemon and the image:
 *   bash scripts/setup-docker.sh && bash scripts/build-staging-image.sh
 * Set BACKUP_BOT_SKIP_DOCKER_TESTS=1 to skip on machines without Docker.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import pg from 'pg';

const IMAGE = process.env.STAGING_POSTGRES_IMAGE ?? 'postgres:15';
/** Start-up + teardown budget for one staging container (ms). */
const READY_TIMEOUT_MS = 30_000;

const describeDocker = process.env.BACKUP_BOT_SKIP_DOCKER_TESTS === '1' ? describe.skip : describe;

interface ExecResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Run a command in the container, demultiplex its output and return its exit code. */
async function execIn(container: Docker.Container, cmd: string[]): Promise<ExecResult> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough().on('data', (c: Buffer) => out.push(c));
  const stderr = new PassThrough().on('data', (c: Buffer) => err.push(c));
  container.modem.demuxStream(stream, stdout, stderr);
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  // The stream can end a moment before the daemon records the exit code.
  let info = await exec.inspect();
  for (let i = 0; info.Running && i < 100; i++) {
    await sleep(10);
    info = await exec.inspect();
  }
  return {
    exitCode: info.ExitCode,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}

describeDocker(`staging image ${IMAGE}`, () => {
  const docker = new Docker();
  const password = randomBytes(18).toString('base64url');
  const user = 'backupbot';
  const database = 'restore_check';
  let container: Docker.Container | undefined;
  let hostPort = 0;
  let startupMs = 0;

  const connect = async (pw: string) => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: hostPort,
      user,
      password: pw,
      database,
      connectionTimeoutMillis: 5000,
    });
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    try {
      await docker.ping();
    } catch (e) {
      throw new Error(`Docker daemon not reachable (run: bash scripts/setup-docker.sh): ${String(e)}`);
    }
    try {
      await docker.getImage(IMAGE).inspect();
    } catch {
      throw new Error(`image ${IMAGE} missing (run: bash scripts/build-staging-image.sh)`);
    }

    const t0 = performance.now();
    container = await docker.createContainer({
      Image: IMAGE,
      Env: [`POSTGRES_PASSWORD=${password}`, `POSTGRES_USER=${user}`, `POSTGRES_DB=${database}`],
      Labels: { 'backup-bot.test': '1' },
      ExposedPorts: { '5432/tcp': {} },
      HostConfig: {
        // Random free host port, bound to loopback only.
        PortBindings: { '5432/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
      },
    });
    await container.start();

    const info = await container.inspect();
    const binding = info.NetworkSettings.Ports['5432/tcp']?.[0];
    expect(binding?.HostIp).toBe('127.0.0.1');
    hostPort = Number(binding?.HostPort);
    expect(hostPort).toBeGreaterThan(0);

    // Ready = the real server answers on TCP; the entrypoint only starts it after
    // the user and database exist (init runs on a socket-only temporary server).
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const r = await execIn(container, ['pg_isready', '-q', '-h', '127.0.0.1', '-p', '5432']);
      if (r.exitCode === 0) break;
      const state = (await container.inspect()).State;
      if (!state.Running) {
        const logs = await container.logs({ stdout: true, stderr: true, tail: 50 });
        throw new Error(`container exited (${state.ExitCode}) before becoming ready:\n${logs.toString()}`);
      }
      if (Date.now() > deadline) throw new Error(`not ready after ${READY_TIMEOUT_MS} ms`);
      await sleep(50);
    }
    startupMs = performance.now() - t0;
    console.log(`[staging-image] ${IMAGE}: create+start -> ready in ${startupMs.toFixed(0)} ms (127.0.0.1:${hostPort})`);
  });

  afterAll(async () => {
    if (container) {
      await container.remove({ force: true, v: true }).catch(() => undefined);
    }
  });

  it('has psql, pg_dump and pg_restore on PATH for docker exec', async () => {
    const c = container!;
    const psql = await execIn(c, ['psql', '--version']);
    expect(psql.exitCode).toBe(0);
    expect(psql.stdout).toMatch(/^psql \(PostgreSQL\) 15\./);
    for (const tool of ['pg_dump', 'pg_restore']) {
      const r = await execIn(c, [tool, '--version']);
      expect(r.exitCode).toBe(0);
    }
    // Unix-socket access inside the container needs no password (used for restores).
    const local = await execIn(c, ['psql', '-X', '-At', '-U', user, '-d', database, '-c', 'select current_user']);
    expect(local).toMatchObject({ exitCode: 0, stdout: `${user}\n` });
    // And a failing command reports a non-zero exit code.
    const bad = await execIn(c, ['psql', '-X', '-U', user, '-d', 'no_such_db', '-c', 'select 1']);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/no_such_db/);
  });

  it('accepts the password over 127.0.0.1 and stores data', async () => {
    const client = await connect(password);
    try {
      const who = await client.query<{ u: string; db: string; enc: string }>(
        "select current_user as u, current_database() as db, pg_encoding_to_char(encoding) as enc from pg_database where datname = current_database()",
      );
      expect(who.rows[0]).toEqual({ u: user, db: database, enc: 'UTF8' });
      await client.query('create table restore_probe (id int primary key, note text not null)');
      await client.query('insert into restore_probe values ($1, $2), ($3, $4)', [1, 'héllo', 2, 'wörld']);
      const rows = await client.query<{ id: number; note: string }>('select id, note from restore_probe order by id');
      expect(rows.rows).toEqual([
        { id: 1, note: 'héllo' },
        { id: 2, note: 'wörld' },
      ]);
    } finally {
      await client.end();
    }
  });

  it('refuses a wrong password', async () => {
    await expect(connect(`${password}-wrong`)).rejects.toMatchObject({ code: '28P01' });
  });

  // The start-up + teardown budget is measured by `npm run bench:restore-test` (a benchmark, not a timed test).
  it('is removed with its volumes', async () => {
    const t0 = performance.now();
    const id = container!.id;
    await container!.remove({ force: true, v: true });
    const teardownMs = performance.now() - t0;
    container = undefined;
    console.log(`[staging-image] ${IMAGE}: start->ready ${startupMs.toFixed(0)} ms + remove ${teardownMs.toFixed(0)} ms`);
    await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});
