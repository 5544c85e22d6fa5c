import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startS3, type TestS3 } from '../helpers/s3.js';

const EXAMPLE = fileURLToPath(new URL('../../backup-bot.example.yml', import.meta.url));

let state: TestDatabase;
let conitrack: TestDatabase;
let s3: TestS3;
let slack: Server;
let slackUrl: string;
let dir: string;
const authCalls: Array<{ path: string; auth: string | undefined }> = [];

beforeAll(async () => {
  state = await createTestDatabase('bbdoc');
  conitrack = await createTestDatabase('bbconi');
  s3 = await startS3(['conitrack-backups']);
  slack = createServer((req, res) => {
    authCalls.push({ path: req.url ?? '', auth: req.headers.authorization });
    if (req.method === 'POST' && req.url === '/api/auth.test') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, user: 'backup-bot', team: 'T' }));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: 'unknown_method' }));
    }
  });
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  slackUrl = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/api/`;
  dir = mkdtempSync(join(tmpdir(), 'bb-doctor-'));
  copyFileSync(EXAMPLE, join(dir, 'backup-bot.example.yml'));
});

afterAll(async () => {
  await new Promise<void>((resolve) => slack?.close(() => resolve()));
  await s3?.close();
  await state?.drop();
  await conitrack?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('backup-bot doctor --config backup-bot.example.yml', () => {
  it('passes every check against local services', async () => {
    const backupDir = join(dir, 'backups');
    const env = {
      BACKUP_BOT_DATABASE_URL: state.url,
      CONITRACK_DATABASE_URL: conitrack.url,
      R2_ENDPOINT: s3.endpoint,
      R2_KEY: 'S3RVER',
      R2_SECRET: 'S3RVER',
      BACKUP_DIR: backupDir,
      SLACK_BOT_TOKEN: 'xoxb-test-token-doctor',
      SLACK_SIGNING_SECRET: 'signing-secret-doctor',
      SLACK_APP_TOKEN: '',
      SLACK_API_URL: slackUrl,
    };
    const r = await runCli(['doctor', '--config', 'backup-bot.example.yml'], { env, cwd: dir, timeoutMs: 60_000 });
    const lines = r.stdout.trim().split('\n');
    const names = ['config', 'state database', 'client conitrack: database', 'storage r2', 'storage local', 'docker', 'slack'];
    for (const n of names) {
      const line = lines.find((l) => l.replace(/^(ok|FAIL)\s+/, '').startsWith(`${n}:`));
      expect({ check: n, line }).toEqual({ check: n, line: expect.stringMatching(/^ok\s+/) });
    }
    // The example's state.url is the superuser: doctor says so (and how to run as a runtime role); nothing else warns.
    expect(lines.filter((l) => !l.startsWith('ok'))).toEqual([expect.stringMatching(/^WARN\s+state database role: the bot's role "postgres" is a superuser.*backup-bot db grant <role>/)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('storage r2: s3://conitrack-backups/prod: write, read and delete ok');
    expect(r.stdout).toContain(`storage local: ${backupDir}: write, read and delete ok`);
    expect(r.stdout).toContain('slack: auth.test ok: backup-bot in T');
    expect(authCalls).toContainEqual({ path: '/api/auth.test', auth: 'Bearer xoxb-test-token-doctor' });
    // The storage probes left nothing behind.
    expect(readdirSync(join(s3.directory, 'conitrack-backups')).filter((f) => !f.startsWith('._S3rver'))).toEqual([]);
    expect(`${r.stdout}${r.stderr}`).not.toContain('signing-secret-doctor');
  });
});
