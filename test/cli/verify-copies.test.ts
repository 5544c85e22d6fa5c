/** Issue 18 item 1 at the CLI: `list` shows each destination's status; `verify` reads every copy or `--destination NAME`. @needs slow */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';

let state: TestDatabase;
let src: TestDatabase;
let dir: string;
let cfg: string;

beforeAll(async () => {
  state = await createTestDatabase('bbcvstate');
  src = await createTestDatabase('bbcvsrc');
  await fillSampleDatabase(src.url);
  dir = mkdtempSync(join(tmpdir(), 'cliv-'));
  cfg = join(dir, 'backup-bot.yml');
  writeFileSync(cfg, `
timezone: UTC
state: { url: "${state.url}" }
storage:
  local: { type: local, path: "${join(dir, 'primary')}" }
  nas: { type: local, path: "${join(dir, 'nas')}" }
clients:
  demo:
    database: { engine: postgres, url: "${src.url}" }
    storage: [local, nas]
`);
}, 60_000);
afterAll(async () => {
  await src.drop();
  await state.drop();
  rmSync(dir, { recursive: true, force: true });
});

test('backup → list shows every destination verified → a damaged NAS copy: verify exits 1 naming it, --destination local exits 0, an unknown destination exits 2', async () => {
  const b = await runCli(['--config', cfg, 'backup', 'demo']);
  expect(b.code).toBe(0);
  const l = await runCli(['--config', cfg, 'list', 'demo']);
  expect(l.code).toBe(0);
  expect(l.stdout).toMatch(/backup_.*\.sql\.gz .* verified +local verified, nas verified$/m);

  const nasDir = join(dir, 'nas', 'demo');
  const file = readdirSync(nasDir).find((f) => f.endsWith('.sql.gz'))!;
  const bytes = readFileSync(join(nasDir, file));
  const mid = bytes.length >> 1;
  bytes[mid] = bytes[mid]! ^ 0xff;
  writeFileSync(join(nasDir, file), bytes);

  const all = await runCli(['--config', cfg, 'verify', 'demo']);
  expect(all.code).toBe(1);
  expect(all.stdout).toMatch(/^FAILED  demo\/backup_/m);
  expect(all.stdout).toMatch(/^ {2}local: OK$/m);
  expect(all.stdout).toMatch(/^ {2}nas: FAILED$/m);
  expect(all.stdout).toMatch(/^ {4}FAIL {2}sha256: read /m);
  const listed = await runCli(['--config', cfg, 'list', 'demo']);
  expect(listed.stdout).toMatch(/local verified, nas FAILED$/m);

  const one = await runCli(['--config', cfg, '--json', 'verify', 'demo', '--destination', 'local']);
  expect(one.code).toBe(0);
  expect(JSON.parse(one.stdout)).toMatchObject({ ok: true, copies: [{ destination: 'local', ok: true }] });

  const bad = await runCli(['--config', cfg, 'verify', 'demo', '--destination', 'usb']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('unknown destination "usb" for client "demo" (its destinations: local, nas)');
}, 120_000);
