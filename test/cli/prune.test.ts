/** @needs slow */
import { mkdtempSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, withPg, type TestDatabase } from '../helpers/db.js';

let state: TestDatabase;
let dir: string;
let config: string;

beforeAll(async () => {
  state = await createTestDatabase('bbprunecli');
  dir = mkdtempSync(join(tmpdir(), 'bb-prune-cli-'));
  config = join(dir, 'backup-bot.yml');
  writeFileSync(config, `
timezone: UTC
state: { url: "${state.url}" }
storage:
  local: { type: local, path: "${join(dir, 'store')}" }
clients:
  demo:
    database: { engine: postgres, url: "${state.url}" }
    storage: [local]
    retention: { scheduled: { days: 30, keep: 1 } }
`);
  // The first CLI run migrates the state database.
  const r = await runCli(['prune', 'demo', '--config', config, '--dry-run']);
  expect(r.code).toBe(0);
  mkdirSync(join(dir, 'store/demo'), { recursive: true });
  const day = 86_400_000;
  await withPg(state.url, async (c) => {
    for (const [file, daysAgo] of [['backup_new.sql.gz', 1], ['backup_old.sql.gz', 45]] as const) {
      writeFileSync(join(dir, 'store/demo', file), 'dump');
      await c.query(
        `INSERT INTO backup_bot.backup_register (client, taken_at, type, file, key, verified, executed_by, result) VALUES ('demo', $1, 'scheduled', $2, $3, true, 'schedule', 'OK')`,
        [new Date(Date.now() - daysAgo * day), file, `demo/${file}`],
      );
    }
  });
});
afterAll(async () => {
  await state?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('backup-bot prune', () => {
  it('--dry-run prints one line per backup with the rule and changes nothing', async () => {
    const r = await runCli(['prune', 'demo', '--config', config, '--dry-run']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('DRY RUN: nothing changed. prune of demo: 1 would be deleted, 1 kept');
    expect(lines[1]).toMatch(/^kept {10}backup_new\.sql\.gz {2}scheduled {2}\d{4}-\d\d-\d\d \d\d:\d\d UTC {2}OK verified: one of the newest 1 verified backups: always kept$/);
    expect(lines[2]).toMatch(/^would delete {2}backup_old\.sql\.gz {2}scheduled .*: scheduled backup older than 30 days \(45 days old\)$/);
    expect(existsSync(join(dir, 'store/demo/backup_old.sql.gz'))).toBe(true);
  });

  it('--json deletes and reports each backup', async () => {
    const r = await runCli(['prune', 'demo', '--config', config, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; dryRun: boolean; deleted: number; backups: Array<{ action: string; file: string; reason: string }> };
    expect(out).toMatchObject({ ok: true, dryRun: false, deleted: 1 });
    expect(out.backups.map((b) => [b.action, b.file])).toEqual([['kept', 'backup_new.sql.gz'], ['deleted', 'backup_old.sql.gz']]);
    expect(existsSync(join(dir, 'store/demo/backup_old.sql.gz'))).toBe(false);
    expect(existsSync(join(dir, 'store/demo/backup_new.sql.gz'))).toBe(true);
  });

  it('an unknown client: exit 2 with the configured clients', async () => {
    const r = await runCli(['prune', 'nope', '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown client "nope" (configured clients: demo)');
  });
});
