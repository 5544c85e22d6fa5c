/** @needs slow */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CLI } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testSigningKeyPath } from '../helpers/signing-key.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { listRuns } from '../../src/store/runs.js';
import { getDelivery } from '../../src/store/deliveries.js';
import { SlackEmulator } from './emulator.js';
import { sendSigned, slashCommandBody, TEST_SIGNING_SECRET } from './sign.js';
import { until } from '../helpers/wait.js';

/**
 * Replays across replicas and restarts (issue 15 item 3), with real processes: two `backup-bot serve` on one
 * state database get the same signed `/backup now`, then a third one started after both stopped gets it
 * again; one backup runs. Needs `npm run build` (dist/cli.js), as `npm test` does first.
 */
let state: TestDatabase;
let demo: TestDatabase;
let dir: string;
let pool: Pool;
const emu = new SlackEmulator();
const procs: Array<{ child: ChildProcess; out: string }> = [];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise((ok) => s.close(ok));
  return port;
}


/** Starts `backup-bot serve` with its own Slack port; resolves with its request URL once it listens. */
async function serve(name: string): Promise<{ url: string; proc: { child: ChildProcess; out: string } }> {
  const port = await freePort();
  const raw = {
    timezone: 'UTC',
    state: { url: state.url },
    storage: { local: { type: 'local', path: join(dir, 'backups') } },
    clients: { demo: { database: { engine: 'postgres', url: demo.url }, schedule: '0 3 1 1 *', storage: ['local'], channel: 'C0DEMO', verify: { minTables: 1, tables: [] }, roles: { operators: ['U0OPER'] } } },
    slack: { botToken: emu.botToken, signingSecret: TEST_SIGNING_SECRET, apiUrl: emu.apiUrl, port, channel: 'C0OPS' },
    schedules: { shutdownTimeout: '1m' },
    metrics: { listen: '127.0.0.1:0' },
    evidence: { signingKey: testSigningKeyPath() },
  };
  const cfg = join(dir, `${name}.yml`);
  await writeFile(cfg, stringify(raw), { mode: 0o600 });
  const proc = { child: spawn(process.execPath, [CLI, 'serve', '--config', cfg], { env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] }), out: '' };
  proc.child.stdout!.on('data', (c: Buffer) => { proc.out += c.toString(); });
  proc.child.stderr!.on('data', (c: Buffer) => { proc.out += c.toString(); });
  procs.push(proc);
  await until(`serve ${name} to listen`, () => proc.out.includes(`Slack app listening on port ${port}`) || proc.child.exitCode !== null, 30_000);
  if (proc.child.exitCode !== null) throw new Error(`serve ${name} exited: ${proc.out}`);
  return { url: `http://127.0.0.1:${port}/slack/events`, proc };
}

async function stop(p: { child: ChildProcess }): Promise<void> {
  if (p.child.exitCode !== null) return;
  const exited = new Promise((ok) => p.child.once('exit', ok));
  p.child.kill('SIGTERM');
  await exited;
}

beforeAll(async () => {
  await emu.start();
  state = await createTestDatabase('bbt_servereplay');
  demo = await createTestDatabase('bbt_servereplaydemo');
  await fillSampleDatabase(demo.url);
  dir = await mkdtemp(join(tmpdir(), 'bb-serve-replay-'));
  pool = createPool(state.url, { max: 2 });
});
afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await pool?.end();
  await emu.stop();
  await demo?.drop();
  await state?.drop();
  await rm(dir, { recursive: true, force: true });
});

test('the same signed /backup now sent to two serve processes on one state database, and again after a restart, runs one backup', async () => {
  const [a, b] = [await serve('a'), await serve('b')];
  const responseUrl = emu.responseUrl();
  const body = slashCommandBody({ command: '/backup', text: 'now demo', user_id: 'U0OPER', response_url: responseUrl, trigger_id: '1700000000.444.dddd' });
  const backups = async () => listRuns(pool, { kind: 'backup' });

  const first = await sendSigned(a.url, body);
  expect(first.status).toBe(200);
  await until('the backup to finish', async () => (await backups()).some((r) => r.status === 'ok'), 120_000);

  // Slack's retry reaches the other process.
  const copy = await sendSigned(b.url, body, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
  expect(copy.status).toBe(200);
  await new Promise((r) => setTimeout(r, 1500));
  expect((await backups()).length).toBe(1);
  expect(copy.text).toBe('');
  await until('serve b to log the replay', () => b.proc.out.includes('already handled'), 10_000);

  // Both stop; a new process (a restart) gets the same request again.
  await stop(a.proc);
  await stop(b.proc);
  const c = await serve('c');
  const again = await sendSigned(c.url, body);
  expect(again).toMatchObject({ status: 200, text: '' });
  await until('serve c to log the replay', () => c.proc.out.includes('already handled'), 10_000);
  await new Promise((r) => setTimeout(r, 1000));
  expect((await backups()).map((r) => r.status)).toEqual(['ok']);
  expect(emu.responses.get(responseUrl.split('/').pop()!)!.bodies.filter((m) => /started|queued/.test(String(m.text)))).toHaveLength(1);
  expect(await getDelivery(pool, 'trigger:1700000000.444.dddd')).toMatchObject({ retry_num: null });
  await stop(c.proc);
});
