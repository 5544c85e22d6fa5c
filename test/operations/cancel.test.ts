/**
 * Issue 15 item 6 — cancel means cancel, for a backup: aborting the AbortSignal handed to runBackup kills the
 * dump program (pg_dump, mysqldump) and tar, aborts the uploads (no .partial, nothing under the final name), and the run
 * ends `interrupted`. Real PostgreSQL and local storage.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runBackup } from '../../src/operations/backup.js';
import { processes } from '../helpers/processes.js';
import { createTestDatabase, withPg, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { createTestMysqlDatabase, mysqlExec } from '../helpers/mariadb.js';
import mysql from 'mysql2/promise';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
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
let ctx: TestContext;

beforeAll(async () => {
  state = await createTestDatabase('bbt_cancel');
  src = await createTestDatabase('bbt_cancel_src');
  await withPg(src.url, (c) => c.query('CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g'));
  dir = mkdtempSync(join(tmpdir(), 'bbt-cancel-'));
  ctx = await testContext(testConfig({ stateUrl: state.url, demoUrl: src.url, storageDir: dir }));
});
afterAll(async () => {
  await ctx?.close();
  await src?.drop();
  await state?.drop();
  await rm(dir, { recursive: true, force: true });
});

test('a cancelled backup kills pg_dump, leaves no .partial and nothing under the final name, and ends interrupted', async () => {
  // pg_dump waits for a lock the test holds: it is running, mid-backup, when the signal aborts.
  const holder = new pg.Client({ connectionString: src.url });
  await holder.connect();
  try {
    await holder.query('BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE');
    const controller = new AbortController();
    const backup = runBackup(ctx, { client: 'demo', actor: 'schedule', trigger: 'schedule', signal: controller.signal });
    for (let i = 0; i < 300 && processes('pg_dump', src.name).length === 0; i++) await sleep(50);
    expect(processes('pg_dump', src.name)).toHaveLength(1);
    expect(walk(dir).filter((f) => f.endsWith('.partial'))).toHaveLength(1);

    const t0 = Date.now();
    controller.abort(new Error('cancelled: the bot is stopping'));
    const o = await backup;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(o).toMatchObject({ ok: false, verified: false });
    expect(o.run).toMatchObject({ status: 'interrupted', error: expect.stringContaining('cancelled: the bot is stopping') });
    expect(o.backup).toMatchObject({ result: 'Error', key: null });
    // The channel is told it was interrupted, not that the backup failed.
    const said = ctx.notifier.texts().filter((t) => t.includes('Backup of demo'));
    expect(said.at(-1)).toMatch(/^:double_vertical_bar: Backup of demo interrupted: cancelled: the bot is stopping\. Nothing was kept under its final name; a scheduled backup is taken again while it has attempts left \(workers\.attempts\)\. \(launched by schedule, run \d+\)$/);
    expect(said.some((t) => t.includes('FAILED'))).toBe(false);
    // The program is gone (the lock is still held: it did not end by itself), the upload was aborted.
    expect(processes('pg_dump', src.name)).toEqual([]);
    expect(walk(dir)).toEqual([]);
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    await holder.end();
  }
}, 60_000);

test('a cancelled files archive kills tar and ends interrupted', async () => {
  // 96 MB of random bytes through gzip -9: tar is still running when the signal aborts.
  const filesDir = mkdtempSync(join(tmpdir(), 'bbt-cancel-files-'));
  for (let i = 0; i < 6; i++) writeFileSync(join(filesDir, `f${i}`), randomBytes(16 * 1024 * 1024));
  const c2 = await testContext(testConfig({ stateUrl: state.url, demoUrl: src.url, storageDir: dir, client: { files: [filesDir], gzipLevel: 9 } }));
  // tar is given the path relative to / (tarArgs).
  const needle = filesDir.slice(1);
  try {
    const controller = new AbortController();
    const backup = runBackup(c2, { client: 'demo', actor: 'schedule', trigger: 'schedule', notify: false, signal: controller.signal });
    for (let i = 0; i < 600 && processes('tar', needle).length === 0; i++) await sleep(20);
    expect(processes('tar', needle)).toHaveLength(1);
    controller.abort(new Error('cancelled: the bot is stopping'));
    const o = await backup;
    expect(o.run).toMatchObject({ status: 'interrupted', error: expect.stringContaining('cancelled: the bot is stopping') });
    // Stopped inside the files step (tar killed), not after it finished on its own.
    expect(o.run.timeline.map((e) => e.step)).toContain('uploading:failed');
    expect(processes('tar', needle)).toEqual([]);
    expect(walk(dir)).toEqual([]);
  } finally {
    await c2.close();
    await rm(filesDir, { recursive: true, force: true });
  }
}, 120_000);

test('a cancelled MariaDB backup kills mysqldump and ends interrupted', async () => {
  const my = await createTestMysqlDatabase('bbt_cancel_my');
  await mysqlExec('CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO t VALUES (1), (2);', my.name);
  const c2 = await testContext(testConfig({ stateUrl: state.url, storageDir: dir, client: { database: { engine: 'mysql', url: my.url } } }));
  // A session holds a write lock on the table: mysqldump waits for it (it cannot end by itself).
  const holder = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: my.name });
  try {
    await holder.query('LOCK TABLES t WRITE');
    const controller = new AbortController();
    const backup = runBackup(c2, { client: 'demo', actor: 'schedule', trigger: 'schedule', notify: false, signal: controller.signal });
    for (let i = 0; i < 300 && processes('mysqldump', my.name).length + processes('mariadb-dump', my.name).length === 0; i++) await sleep(50);
    const dumpers = () => [...processes('mysqldump', my.name), ...processes('mariadb-dump', my.name)];
    expect(dumpers()).toHaveLength(1);
    await sleep(300);
    expect(dumpers()).toHaveLength(1);
    controller.abort(new Error('cancelled: the bot is stopping'));
    const o = await backup;
    expect(o.run).toMatchObject({ status: 'interrupted', error: expect.stringContaining('cancelled: the bot is stopping') });
    expect(dumpers()).toEqual([]);
    expect(walk(dir)).toEqual([]);
  } finally {
    await holder.query('UNLOCK TABLES').catch(() => undefined);
    await holder.end();
    await c2.close();
    await my.drop();
  }
}, 60_000);
