/**
 * @needs docker
 * Restore tests spread over several Docker engines (issue 21, docker.hosts): the machine's engine (local socket)
 * and a second, TLS-only dockerd on 127.0.0.1 with its own certificates (test/helpers/tls-dockerd.ts), with
 * restoreTest.maxConcurrent 1 per engine. Two restore tests started at once run one on each engine; a third
 * waits for a free engine. An engine that is down or whose CA does not vouch for it is skipped (logged, in the
 * run record); none left: the test fails at provisioning naming every engine. Leftovers are cleaned on every
 * engine; doctor checks each engine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Docker from 'dockerode';
import { pino, type Logger } from 'pino';
import { runRestoreTest, type RestoreTestOutcome } from '../../src/operations/restore-test.js';
import { recoverClient } from '../../src/operations/recover-client.js';
import { cleanStagingLeftovers } from '../../src/operations/staging-cleanup.js';
import { doctor } from '../../src/operations/doctor.js';
import { scheduledRestoreTest } from '../../src/operations/scheduled-jobs.js';
import { RESTORE_TEST_CONNECTIONS, restoreTestWidth } from '../../src/operations/restore-test-width.js';
import { LABEL_CLIENT, LABEL_MANAGED, LABEL_RUN, LABEL_STATE, stateIdOf } from '../../src/core/staging/labels.js';
import { getRun, listRuns, type Run } from '../../src/store/runs.js';
import { listRestoreTests } from '../../src/store/restore-test-register.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { copyImage, startTlsDockerd, type TlsDockerd } from '../helpers/tls-dockerd.js';
import { slowDump, storeBackup } from './restore-test-fixtures.js';

const main = new Docker();
const CLIENTS = ['demo', 'demo2', 'demo3'];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A 127.0.0.1 port nothing listens on (taken, then closed). */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const p = (srv.address() as { port: number }).port; srv.close(() => resolve(p)); });
  });
}

/** A logger whose lines the test reads. */
function captureLogger(): { logger: Logger; lines: Array<{ msg: string; [k: string]: unknown }> } {
  const lines: Array<{ msg: string }> = [];
  const stream = new Writable({ write(chunk: Buffer, _e, cb) { for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as { msg: string }); cb(); } });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('restore tests over several Docker engines (docker.hosts)', () => {
  let d: TlsDockerd;
  let state: TestDatabase;
  let dir: string;
  let downPort: number;
  let stateId: string;
  const contexts: TestContext[] = [];

  const engines = () => ({
    local: { name: 'local', host: 'unix:///var/run/docker.sock' },
    tls: { name: 'tls', host: d.host, tls: { ca: d.ca, cert: d.cert, key: d.key } },
    // The same engine through https:// (one entry per address), with a CA that did not sign its certificate.
    badca: { name: 'badca', host: `https://127.0.0.1:${d.port}`, tls: { ca: d.rogue.ca, cert: d.cert, key: d.key } },
    down: { name: 'down', host: `tcp://127.0.0.1:${downPort}` },
  });
  const client = (db: string) => ({
    database: { engine: 'postgres', url: db }, schedule: '0 3 * * *', storage: ['local'], verify: { minTables: 1, tables: [] },
    roles: { systemOwners: ['U0OWNER'], itManagers: ['U0ITMGR'], qa: ['U0QA'], operators: ['U0OPER'] }, restoreTest: { timeout: '3m', memoryMb: 512, cpus: 1, months: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] },
  });
  /** A context (one per concurrent test, as separate replicas would have) with these engines and a logger the test reads. */
  const contextWith = async (hosts: unknown[], poolSize?: number) => {
    const ctx = await testContext(testConfig({
      stateUrl: state.url, storageDir: dir, raw: { docker: { hosts }, restoreTest: { maxConcurrent: 1 } },
      client: { restoreTest: client(state.url).restoreTest },
      clients: { demo2: client(state.url), demo3: client(state.url) },
    }), { poolSize });
    const log = captureLogger();
    (ctx as { logger: Logger }).logger = log.logger;
    contexts.push(ctx);
    return Object.assign(ctx, { log: log.lines });
  };
  /** This bot's labelled staging containers on an engine. */
  const stagingOn = async (docker: Docker) => docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL_MANAGED}=true`, `${LABEL_STATE}=${stateId}`] }) });
  const runsOf = async (ctx: TestContext, clientName: string): Promise<Run[]> => listRuns(ctx.pool, { kind: 'restore_test', client: clientName });

  beforeAll(async () => {
    [d, state, dir, downPort] = await Promise.all([startTlsDockerd(), createTestDatabase('bbt_engines_state'), mkdtemp(join(tmpdir(), 'bbt-engines-')), closedPort()]);
    stateId = stateIdOf(state.url);
    // One copy of the staging image for the whole file.
    await copyImage(main, d.local, 'postgres:15');
  }, 300_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await d?.stop();
    await state?.drop();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  // First in the file: the clients have no passing restore test this quarter yet (the job would skip them).
  it('the scheduled restore-test job runs as many clients at once as the engines take (2 engines × 1), one per engine', async () => {
    const { local, tls } = engines();
    // The job's worker sizes its pool the same way (src/jobs/worker.ts): each running test holds its locks' connections.
    const width = restoreTestWidth({ docker: { hosts: [local, tls] } as never, restoreTest: { maxConcurrent: 1 } as never });
    expect(width).toBe(2);
    const ctx = await contextWith([local, tls], 8 + RESTORE_TEST_CONNECTIONS * (width - 1));
    for (const name of CLIENTS) await storeBackup(ctx, { client: name, body: slowDump(5), tables: 1 });
    const outs = await scheduledRestoreTest(ctx, { cron: '0 5 1 * *' });
    expect(outs.map((o) => [o.client, o.status, o.error])).toEqual([['demo', 'ok', undefined], ['demo2', 'ok', undefined], ['demo3', 'ok', undefined]]);
    const [r1, r2, r3] = (await Promise.all(outs.map((o) => getRun(ctx.pool, o.runId!)))).map((r) => r!);
    const t = (d: Date | null) => new Date(d!).getTime();
    // demo and demo2 at the same time, one on each engine; demo3 once one of them was done.
    expect(t(r1!.started_at) < t(r2!.finished_at) && t(r2!.started_at) < t(r1!.finished_at)).toBe(true);
    expect([r1!, r2!].map((r) => (r.details.engine as { name: string }).name).sort()).toEqual(['local', 'tls']);
    expect(t(r3!.started_at)).toBeGreaterThanOrEqual(Math.min(t(r1!.finished_at), t(r2!.finished_at)) - 1000);
    expect(await stagingOn(main)).toEqual([]);
    expect(await stagingOn(d.local)).toEqual([]);
  }, 300_000);

  it('two restore tests at once run one on each engine; a third waits until one frees; all pass', async () => {
    const { local, tls } = engines();
    const [a, b, c] = [await contextWith([local, tls]), await contextWith([local, tls]), await contextWith([local, tls])];
    for (const name of CLIENTS) await storeBackup(a, { client: name, body: slowDump(8), tables: 1 });
    const start = (ctx: TestContext, name: string) => runRestoreTest(ctx, { client: name, actor: 'U0OPER', trigger: 'cli', notify: name === 'demo' });
    const first = [start(a, 'demo'), start(b, 'demo2')];
    first.forEach((p) => p.catch(() => undefined));

    // Both running at the same time, one per engine: seen in the run records and as containers on each engine.
    let running: Run[] = [];
    for (let i = 0; i < 240; i++) {
      running = (await listRuns(a.pool, { kind: 'restore_test' })).filter((r) => r.status === 'running');
      const [onMain, onTls] = await Promise.all([stagingOn(main), stagingOn(d.local)]);
      if (running.length === 2 && onMain.length >= 1 && onTls.length >= 1) break;
      await sleep(250);
    }
    expect(running.map((r) => (r.details.engine as { name: string }).name).sort()).toEqual(['local', 'tls']);
    const [onMain, onTls] = await Promise.all([stagingOn(main), stagingOn(d.local)]);
    const runOf = (cs: Docker.ContainerInfo[]) => new Set(cs.map((x) => x.Labels[LABEL_RUN]));
    expect([...runOf(onMain)]).toEqual([running.find((r) => (r.details.engine as { name: string }).name === 'local')!.id]);
    expect([...runOf(onTls)]).toEqual([running.find((r) => (r.details.engine as { name: string }).name === 'tls')!.id]);
    expect(running.find((r) => (r.details.engine as { name: string }).name === 'tls')!.details.engine).toEqual({ name: 'tls', host: d.host });

    // The third: both engines are busy, so it waits (logged once), without a run row, until one frees.
    const before = (await runsOf(c, 'demo3')).length;
    const third = start(c, 'demo3');
    third.catch(() => undefined);
    await sleep(2000);
    expect(await runsOf(c, 'demo3')).toHaveLength(before);
    expect((await listRuns(a.pool, { kind: 'restore_test' })).filter((r) => r.status === 'running')).toHaveLength(2);
    expect(c.log.filter((l) => /^restore test of demo3 waits: 1 already run on each of the 2 Docker engines$/.test(l.msg))).toHaveLength(1);

    const outs: RestoreTestOutcome[] = await Promise.all([...first, third]);
    for (const o of outs) {
      expect(o.error).toBeUndefined();
      expect(o.ok).toBe(true);
    }
    const [ra, rb, rc] = outs.map((o) => o.run);
    const firstDone = Math.min(new Date(ra!.finished_at!).getTime(), new Date(rb!.finished_at!).getTime());
    expect(new Date(rc!.started_at).getTime()).toBeGreaterThanOrEqual(firstDone - 1000);
    expect(['local', 'tls']).toContain((rc!.details.engine as { name: string }).name);
    expect(await listRestoreTests(a.pool, {})).toHaveLength(6);
    // The client's message names the engine beside the staging image.
    expect(a.notifier.posts.find((p) => p.message.text.includes('Restore test of demo'))).toBeDefined();
    const firstBlocks = JSON.stringify(a.notifier.posts.filter((p) => p.message.text.includes('Restore test of demo')).map((p) => p.message.blocks));
    expect(firstBlocks).toMatch(/in a throwaway `postgres:15` container on Docker engine `(local|tls)`/);
    // Nothing left on either engine.
    expect(await stagingOn(main)).toEqual([]);
    expect(await stagingOn(d.local)).toEqual([]);
  }, 300_000);

  it('an engine that is down, or whose CA does not vouch for it, is skipped (logged, in the run record) and the test runs on the next', async () => {
    const { local, tls, badca, down } = engines();
    const ctx = await contextWith([down, badca, tls, local]);
    await storeBackup(ctx, { client: 'demo', body: slowDump(0), tables: 1 });
    const out = await runRestoreTest(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false });
    expect(out.error).toBeUndefined();
    expect(out.ok).toBe(true);
    expect(out.run.details.engine).toEqual({ name: 'tls', host: d.host });
    const skipped = out.run.details.enginesSkipped as Array<{ name: string; where: string; error: string }>;
    expect(skipped.map((s) => s.name)).toEqual(['down', 'badca']);
    expect(skipped[0]!.error).toMatch(/^cannot reach the Docker daemon at docker\.hosts\[0\] "down" \(tcp:\/\/127\.0\.0\.1:\d+\): .*ECONNREFUSED.*check docker\.hosts\[0\]\.host, and docker\.hosts\[0\]\.tls/);
    expect(skipped[1]!.error).toMatch(/^cannot reach the Docker daemon at docker\.hosts\[1\] "badca" \(https:\/\/127\.0\.0\.1:\d+\): .*(self[- ]signed|unable to verify|unable to get local issuer)/i);
    expect(ctx.log.filter((l) => /Docker engine docker\.hosts\[\d\] "(down|badca)" .* skipped$/.test(l.msg)).map((l) => l.engine)).toEqual(['down', 'badca']);
    expect(await stagingOn(d.local)).toEqual([]);
  }, 180_000);

  it('no engine can be used: fails at provisioning naming every engine tried and why, recorded, nothing started', async () => {
    const { badca, down } = engines();
    const ctx = await contextWith([badca, down]);
    await storeBackup(ctx, { client: 'demo', body: slowDump(0), tables: 1 });
    const out = await runRestoreTest(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false });
    expect(out).toMatchObject({ ok: false, failedStep: 'provisioning' });
    expect(out.error).toMatch(/^none of the 2 staging Docker engines \(docker\.hosts\) could be used: cannot reach the Docker daemon at docker\.hosts\[0\] "badca" \(https:\/\/127\.0\.0\.1:\d+\): .*(self[- ]signed|unable to verify|unable to get local issuer).*; cannot reach the Docker daemon at docker\.hosts\[1\] "down" \(tcp:\/\/127\.0\.0\.1:\d+\): .*ECONNREFUSED/i);
    expect(out.register).toMatchObject({ result: 'Fail' });
    expect(out.run.details.engine).toBeNull();
    expect((out.run.timeline ?? []).map((e) => e.step)).not.toContain('destroying');
  }, 120_000);

  it('recovery and serve clean labelled leftovers on every engine; an unreachable engine is an error naming it, never a throw', async () => {
    const { local, tls, down } = engines();
    const ctx = await contextWith([local, down, tls]);
    const leftover = (docker: Docker, runId: string) => docker.createContainer({
      Image: 'postgres:15', Cmd: ['true'], Labels: { [LABEL_MANAGED]: 'true', [LABEL_RUN]: runId, [LABEL_CLIENT]: 'demo2', [LABEL_STATE]: stateId },
    });
    await Promise.all([leftover(main, '900001'), leftover(d.local, '900002')]);
    expect((await stagingOn(main)).length + (await stagingOn(d.local)).length).toBe(2);
    const r = await recoverClient(ctx, 'demo2', { docker: true });
    expect(r.containers).toHaveLength(2);
    expect(r.errors).toEqual([expect.stringMatching(/^docker\.hosts\[1\] "down" \(tcp:\/\/127\.0\.0\.1:\d+\): .*ECONNREFUSED/)]);
    expect(await stagingOn(main)).toEqual([]);
    expect(await stagingOn(d.local)).toEqual([]);

    // serve's start: every client's leftovers, every engine.
    await Promise.all([leftover(main, '900003'), leftover(d.local, '900004')]);
    const o = await cleanStagingLeftovers(ctx, { timeoutMs: 10_000 });
    expect(o.containers).toHaveLength(2);
    expect(o.errors).toHaveLength(1);
    expect(o.errors[0]).toMatch(/^docker\.hosts\[1\] "down"/);
    expect(await stagingOn(d.local)).toEqual([]);
  }, 120_000);

  it('doctor: one check per engine, named after it, with its TLS state and staging images', async () => {
    const { local, tls, badca, down } = engines();
    const config = testConfig({ stateUrl: state.url, storageDir: dir, raw: { docker: { hosts: [local, tls, badca, down] } } });
    const checks = (await doctor(config, 'test config')).filter((c) => c.name.startsWith('docker'));
    expect(checks.map((c) => [c.name, c.ok])).toEqual([['docker local', true], ['docker tls', true], ['docker badca', false], ['docker down', false]]);
    expect(checks[0]!.detail).toMatch(/^unix:\/\/\/var\/run\/docker\.sock \(docker\.hosts\[0\], socket\): Docker \S+ reachable, staging image\(s\) present: postgres:15$/);
    expect(checks[1]!.detail).toMatch(new RegExp(`^${d.host.replace(/\./g, '\\.')} \\(docker\\.hosts\\[1\\], TLS, client certificate from docker\\.hosts\\[1\\]\\.tls\\): Docker \\S+ reachable, staging image\\(s\\) present: postgres:15$`));
    expect(checks[2]!.detail).toMatch(/\(docker\.hosts\[2\], TLS, client certificate from docker\.hosts\[2\]\.tls\): not reachable: .*(self[- ]signed|unable to verify|unable to get local issuer)/i);
    expect(checks[3]!.detail).toMatch(/\(docker\.hosts\[3\], http\): not reachable: .*ECONNREFUSED/);

    // An engine without the staging image fails its own check only.
    await d.local.getImage('postgres:15').remove({ force: true });
    try {
      const again = (await doctor(config, 'test config')).filter((c) => c.name.startsWith('docker'));
      expect(again.find((c) => c.name === 'docker tls')).toMatchObject({ ok: false, detail: expect.stringMatching(/reachable, but staging image\(s\) missing: postgres:15/) });
      expect(again.find((c) => c.name === 'docker local')).toMatchObject({ ok: true });
    } finally {
      await copyImage(main, d.local, 'postgres:15');
    }
  }, 180_000);
});
