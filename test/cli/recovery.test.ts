/**
 * Issue 15 item 1 — recovery that does not need `serve`. The compiled CLI is killed with SIGKILL in the middle of
 * a backup to local storage, a backup to S3 (s3rver) and a restore test (real Docker); the next CLI command for
 * that client (whatever it is) recovers: no run left `running`, no `.partial`, no open multipart upload, no
 * container or network of the dead run; what it cleaned is one line on the console and one Slack message.
 * Needs `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import pg from 'pg';
import { stringify } from 'yaml';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { CLI, runCli } from '../helpers/cli.js';
import { createTestDatabase, withPg, type TestDatabase } from '../helpers/db.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { testSigningKeyPath } from '../helpers/signing-key.js';
import { SlackEmulator } from '../slack/emulator.js';
import { validateConfig } from '../../src/config/load.js';
import { listRuns, type Run } from '../../src/store/runs.js';
import { listAudit } from '../../src/store/audit.js';
import { leftovers, slowDump, storeBackup } from '../operations/restore-test-fixtures.js';
import { until } from '../helpers/wait.js';

function walk(d: string): string[] {
  let out: string[] = [];
  let entries;
  try { entries = readdirSync(d, { withFileTypes: true }); } catch { return []; }
  for (const e of entries) out = e.isDirectory() ? [...out, ...walk(join(d, e.name))] : [...out, join(d, e.name)];
  return out;
}

let state: TestDatabase;
let src: TestDatabase;
let dir: string;
let s3: TestS3;
let slack: SlackEmulator;
let cfgPath: string;
let ctx: TestContext;
const docker = new Docker();
const children: ChildProcess[] = [];

/** Starts the CLI in the background (to be killed). */
function startCli(args: string[]): ChildProcess & { out: () => string } {
  let out = '';
  const child = spawn(process.execPath, [CLI, '--config', cfgPath, ...args], { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  children.push(child);
  return Object.assign(child, { out: () => out });
}
async function kill9(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
const running = async (client = 'demo') => listRuns(ctx.pool, { client, status: 'running' });
async function openUploads(): Promise<string[]> {
  const c = new S3Client({ endpoint: s3.endpoint, region: 'auto', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  try {
    const r = await c.send(new ListMultipartUploadsCommand({ Bucket: 'backups' }));
    return (r.Uploads ?? []).map((u) => u.Key!);
  } finally {
    c.destroy();
  }
}

beforeAll(async () => {
  state = await createTestDatabase('bbt_recover');
  src = await createTestDatabase('bbt_recover_src');
  // ~14 MB gzipped: more than one 5 MB part of an S3 multipart upload.
  await withPg(src.url, (c) => c.query('CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS t FROM generate_series(1, 250000) g'));
  dir = mkdtempSync(join(tmpdir(), 'bbt-recover-'));
  s3 = await startS3(['backups']);
  slack = new SlackEmulator();
  await slack.start();
  const raw = {
    timezone: 'UTC',
    state: { url: state.url },
    slack: { botToken: slack.botToken, signingSecret: 'test-signing-secret', apiUrl: slack.apiUrl, channel: 'C0TEAM' },
    storage: {
      local: { type: 'local', path: join(dir, 'store') },
      s3: { type: 's3', bucket: 'backups', prefix: 'p', endpoint: s3.endpoint, region: 'auto', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' },
    },
    clients: {
      demo: {
        database: { engine: 'postgres', url: src.url }, storage: ['local'], channel: 'C0DEMO', gzipLevel: 1,
        verify: { minTables: 1, tables: [] }, restoreTest: { timeout: '5m', memoryMb: 512 },
      },
      cloudy: { database: { engine: 'postgres', url: src.url }, storage: ['s3'], channel: 'C0CLOUD', gzipLevel: 1, verify: { minTables: 1, tables: [] } },
    },
    metrics: { listen: '127.0.0.1:0' },
    evidence: { signingKey: testSigningKeyPath() },
  };
  cfgPath = join(dir, 'backup-bot.yml');
  writeFileSync(cfgPath, stringify(raw));
  ctx = await testContext(validateConfig(raw, 'recovery test'));
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await ctx?.close();
  await slack?.stop();
  await s3?.close();
  await state?.drop();
  await src?.drop();
  await rm(dir, { recursive: true, force: true });
});

test('SIGKILL mid-backup to local storage: the next `backup` marks the dead run interrupted, removes its .partial, says so, and succeeds', async () => {
  // pg_dump waits for a lock the test holds: the CLI is mid-backup (run in "dumping", .partial open) when it is killed.
  const holder = new pg.Client({ connectionString: src.url });
  await holder.connect();
  let dead: Run;
  try {
    await holder.query('BEGIN; LOCK TABLE big IN ACCESS EXCLUSIVE MODE');
    const child = startCli(['backup', 'demo']);
    await until('a .partial in local storage', () => walk(join(dir, 'store')).some((f) => f.endsWith('.partial')));
    dead = await until('the running backup run', async () => (await running()).find((r) => r.kind === 'backup' && r.step === 'dumping'));
    await kill9(child);
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    await holder.end();
  }
  expect(walk(join(dir, 'store')).filter((f) => f.endsWith('.partial'))).toHaveLength(1);
  expect((await ctx.store.runs.get(dead.id))!.status).toBe('running');

  const posted = slack.callsTo('chat.postMessage').length;
  const r = await runCli(['--config', cfgPath, 'backup', 'demo']);
  expect(r.stdout).toMatch(/^OK {2}backup of demo/);
  expect(r.code).toBe(0);
  // One line on the console, one Slack message in the client's channel.
  const line = `:broom: Recovered what a stopped process left for *demo*: run ${dead.id} (backup, last step "dumping") marked interrupted; 1 leftover partial upload removed from storage "local".`;
  expect(r.stderr.split('\n').filter((l) => l.includes('Recovered what a stopped process left'))).toEqual([line]);
  const msgs = slack.callsTo('chat.postMessage').slice(posted);
  expect(msgs.map((m) => [m.params.channel, m.params.text])).toEqual([['C0DEMO', expect.stringContaining(`run ${dead.id} (backup, last step "dumping") marked interrupted`)]]);
  // The registers: the dead run interrupted with its last step, audited; nothing running, no .partial.
  expect(await ctx.store.runs.get(dead.id)).toMatchObject({ status: 'interrupted', step: 'dumping', error: expect.stringContaining('last step: dumping') });
  expect((await listAudit(ctx.pool, { action: 'run.interrupted' })).map((a) => a.target)).toContain(`run:${dead.id}`);
  expect(await running()).toEqual([]);
  expect(walk(join(dir, 'store')).filter((f) => f.endsWith('.partial'))).toEqual([]);
  // Nothing left to recover: the next command says nothing about it.
  const again = await runCli(['--config', cfgPath, 'prune', 'demo', '--dry-run']);
  expect(again.code).toBe(0);
  expect(again.stderr).not.toContain('Recovered');
}, 180_000);

test('SIGKILL mid-backup to S3: the next command for the client (prune) aborts the open multipart upload and marks the run interrupted', async () => {
  // Parts are accepted by s3rver but answered late: the multipart upload is open when the CLI dies.
  s3.setFault((req) => (req.method === 'PUT' && req.query.has('uploadId') ? { delayMs: 30_000 } : undefined));
  let dead: Run;
  try {
    const child = startCli(['backup', 'cloudy']);
    await until('an open multipart upload', async () => (await openUploads()).length > 0, 90_000);
    dead = await until('the running backup run', async () => (await running('cloudy')).find((r) => r.kind === 'backup'));
    await kill9(child);
  } finally {
    s3.setFault(undefined);
  }
  expect(await openUploads()).toEqual([expect.stringMatching(/^p\/cloudy\/backup_.*\.sql\.gz$/)]);

  // With --json too: stdout stays the command's JSON, the recovery is the one line on stderr.
  const r = await runCli(['--config', cfgPath, '--json', 'prune', 'cloudy']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, client: 'cloudy' });
  expect(r.stderr.split('\n').filter((l) => l.includes('Recovered'))).toEqual([`:broom: Recovered what a stopped process left for *cloudy*: run ${dead.id} (backup, last step "dumping") marked interrupted; 1 leftover partial upload removed from storage "s3".`]);
  expect(await openUploads()).toEqual([]);
  expect(await ctx.store.runs.get(dead.id)).toMatchObject({ status: 'interrupted', step: 'dumping' });
  expect(await running('cloudy')).toEqual([]);
  expect(await s3.storedKeys('backups', 'p/cloudy/')).toEqual([]);
}, 180_000);

test('SIGKILL mid restore test: the next command for the client (a backup) removes the dead run\'s container and marks it interrupted', async () => {
  await storeBackup(ctx, { client: 'demo', body: slowDump(600), tables: 1 });
  const child = startCli(['restore-test', 'demo']);
  const dead = await until('the restore test restoring', async () => (await running()).find((r) => r.kind === 'restore_test' && r.step === 'restoring'), 120_000);
  expect((await leftovers(docker, dead.id, state.url)).containers).toBe(1);
  await kill9(child);
  // Its container runs on without it.
  expect((await leftovers(docker, dead.id, state.url)).containers).toBe(1);

  const posted = slack.callsTo('chat.postMessage').length;
  const r = await runCli(['--config', cfgPath, 'backup', 'demo']);
  expect(r.code).toBe(0);
  const [line] = r.stderr.split('\n').filter((l) => l.includes('Recovered what a stopped process left'));
  expect(line).toMatch(new RegExp(`^:broom: Recovered what a stopped process left for \\*demo\\*: run ${dead.id} \\(restore test, last step "restoring"\\) marked interrupted; staging container \`backup-bot-demo-${dead.id}-\\w+\` removed\\.$`));
  expect(slack.callsTo('chat.postMessage').slice(posted).filter((m) => String(m.params.text).includes('Recovered'))).toHaveLength(1);
  expect(await leftovers(docker, dead.id, state.url)).toEqual({ containers: 0, networks: 0 });
  expect(await ctx.store.runs.get(dead.id)).toMatchObject({ status: 'interrupted', step: 'restoring' });
  expect(await running()).toEqual([]);
}, 240_000);

test('a live run of another process is never recovered: a restore test running in one CLI survives a backup in another', async () => {
  await storeBackup(ctx, { client: 'demo', body: slowDump(600), tables: 1 });
  const child = startCli(['restore-test', 'demo']);
  const live = await until('the restore test restoring', async () => (await running()).find((r) => r.kind === 'restore_test' && r.step === 'restoring'), 120_000);
  const r = await runCli(['--config', cfgPath, 'backup', 'demo']);
  expect(r.code).toBe(0);
  expect(r.stderr).not.toContain('Recovered');
  expect((await ctx.store.runs.get(live.id))!.status).toBe('running');
  expect((await leftovers(docker, live.id, state.url)).containers).toBe(1);
  await kill9(child);
  // Now it is dead: the next command recovers it.
  const next = await runCli(['--config', cfgPath, 'prune', 'demo', '--dry-run']);
  expect(next.code).toBe(0);
  expect(next.stderr).toContain(`run ${live.id} (restore test, last step "restoring") marked interrupted`);
  expect(await leftovers(docker, live.id, state.url)).toEqual({ containers: 0, networks: 0 });
}, 240_000);
