import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';

let state: TestDatabase;
let src: TestDatabase;
let s3: TestS3;
let cfg: string;

beforeAll(async () => {
  state = await createTestDatabase('bbcstate');
  src = await createTestDatabase('bbcsrc');
  await fillSampleDatabase(src.url);
  s3 = await startS3(['backups']);
  const dir = mkdtempSync(join(tmpdir(), 'clib-'));
  cfg = join(dir, 'backup-bot.yml');
  writeFileSync(cfg, `
timezone: UTC
state: { url: "${state.url}" }
storage:
  r2: { type: s3, bucket: backups, prefix: prod, endpoint: "${s3.endpoint}", region: auto, forcePathStyle: true, accessKeyId: S3RVER, secretAccessKey: "\${S3_SECRET}", requestChecksumCalculation: WHEN_REQUIRED, responseChecksumValidation: WHEN_REQUIRED }
clients:
  demo:
    database: { engine: postgres, url: "${src.url}" }
    storage: [r2]
    verify: { minTables: 10 }
  broken:
    database: { engine: postgres, url: "postgres://postgres:topsecretpw@127.0.0.1:1/x" }
    storage: [r2]
`);
});
afterAll(async () => {
  await s3.close();
  await src.drop();
  await state.drop();
});

const env = { S3_SECRET: 'S3RVER' };

describe('backup-bot backup / list / verify', () => {
  test('bad --type: exit 2 naming the accepted values, nothing runs', async () => {
    const r = await runCli(['--config', cfg, 'backup', 'demo', '--type', 'weekly'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown backup type "weekly" (accepted: scheduled, manual, pre-change, pre-restore)');
  });

  test('unknown client: exit 2', async () => {
    const r = await runCli(['--config', cfg, 'backup', 'nope'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown client "nope" (configured clients: demo, broken)');
  });

  test('backup prints file, size, sha256, tables, duration, destinations, verified; exit 0; list and verify see it', async () => {
    const r = await runCli(['--config', cfg, 'backup', 'demo', '--type', 'pre-change', '--ticket', 'CHG-1', '--reason', 'Spring Boot update'], { env });
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^OK {2}backup of demo \(pre-change\)/);
    expect(r.stdout).toMatch(/file: +backup_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\.sql\.gz/);
    expect(r.stdout).toMatch(/ticket: +CHG-1 \(Spring Boot update\)/);
    expect(r.stdout).toMatch(/size: +\d/);
    expect(r.stdout).toMatch(/sha256: +[0-9a-f]{64}/);
    expect(r.stdout).toMatch(/tables: +16/);
    expect(r.stdout).toMatch(/duration: +\d+s/);
    expect(r.stdout).toMatch(/destination: +r2 ok/);
    expect(r.stdout).toMatch(/verified: +yes/);

    const j = await runCli(['--config', cfg, '--json', 'backup', 'demo'], { env });
    expect(j.code).toBe(0);
    const out = JSON.parse(j.stdout);
    expect(out).toMatchObject({ ok: true, verified: true, client: 'demo', type: 'manual', tables: 16, destinations: [{ destination: 'r2', ok: true }] });
    expect(out.sha256).toMatch(/^[0-9a-f]{64}$/);

    const l = await runCli(['--config', cfg, '--json', 'list', 'demo'], { env });
    expect(l.code).toBe(0);
    const listed = JSON.parse(l.stdout);
    expect(listed.backups).toHaveLength(2);
    expect(listed.backups[0]).toMatchObject({ key: out.key, type: 'manual', verified: true, tables: 16, locations: ['r2'] });
    const lt = await runCli(['--config', cfg, 'list', 'demo'], { env });
    expect(lt.stdout.split('\n')[0]).toContain(out.file);
    expect(lt.stdout).toContain('verified');

    const v = await runCli(['--config', cfg, 'verify', 'demo'], { env });
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`OK  ${out.key}`);
    expect(v.stdout).toMatch(/ok {4}sha256: matches/);
    const vj = await runCli(['--config', cfg, '--json', 'verify', 'demo', '--backup', 'demo/backup_2000-01-01_00-00-00.sql.gz'], { env });
    expect(vj.code).toBe(2);
    expect(JSON.parse(vj.stdout).error).toContain(`(newest: ${out.key}, `);
  });

  test('a failed backup: exit 1, the server\'s message and the first thing to check, no password', async () => {
    const r = await runCli(['--config', cfg, '--json', 'backup', 'broken'], { env });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: false, verified: false, client: 'broken' });
    expect(out.error).toMatch(/cannot connect to postgres database "x" on 127\.0\.0\.1:1/);
    expect(out.hint).toMatch(/could not be reached/);
    expect(r.stdout + r.stderr).not.toContain('topsecretpw');
  });
});
