/**
 * Issue 15 item 5 — one lock order: prune never deletes a backup that a running restore test reads (the reader
 * holds the backup's read lock shared; prune only tries it exclusively), and a restore test that lost the race
 * to prune refuses before it starts anything. Item 6 in-process: the restore test's AbortSignal stops it for
 * real (its container is removed, its run ends interrupted, no §12 register row, no S2 alert). Real PostgreSQL,
 * Docker and local storage.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { prune } from '../../src/operations/prune.js';
import { runRestoreTest, type RestoreTestOutcome } from '../../src/operations/restore-test.js';
import { listAudit } from '../../src/store/audit.js';
import { listRuns } from '../../src/store/runs.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { leftovers, slowDump, storeBackup } from './restore-test-fixtures.js';
import { until } from '../helpers/wait.js';

const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let state: TestDatabase;
let dir: string;
let ctx: TestContext;
const docker = new Docker();

beforeAll(async () => {
  state = await createTestDatabase('bbt_lockorder');
  dir = mkdtempSync(join(tmpdir(), 'bbt-lockorder-'));
  ctx = await testContext(testConfig({
    stateUrl: state.url, storageDir: dir,
    client: { restoreTest: { timeout: '5m', memoryMb: 512 }, retention: { scheduled: { days: 30, keep: 1 }, manual: { days: 30 }, preChange: { days: 30 }, preRestore: { days: 30 } } },
  }));
});
afterAll(async () => {
  await ctx?.close();
  await state?.drop();
  await rm(dir, { recursive: true, force: true });
});

test('prune keeps the backup a running restore test reads; cancelled, the test stops for real; the next prune deletes it', async () => {
  // An old backup (past retention) that restores slowly, and a newer good one retention keeps.
  const old = await storeBackup(ctx, { client: 'demo', body: slowDump(600), tables: 1, takenAt: new Date(Date.now() - 60 * DAY) });
  await storeBackup(ctx, { client: 'demo', body: slowDump(1), tables: 1, takenAt: new Date() });
  const controller = new AbortController();
  const testing: Promise<RestoreTestOutcome> = runRestoreTest(ctx, { client: 'demo', backupKey: old.row.file!, actor: 'U0OPER', trigger: 'cli', signal: controller.signal });
  const run = await until('the restore test restoring', async () => (await listRuns(ctx.pool, { client: 'demo', kind: 'restore_test', status: 'running' })).find((r) => r.step === 'restoring'), 120_000);

  const p = await prune(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli' });
  expect(p.plan.delete.map((d) => d.row.id)).toEqual([old.row.id]);
  expect(p.deleted).toEqual([]);
  expect(p.inUse.map((b) => b.id)).toEqual([old.row.id]);
  expect(p.run.status).toBe('ok');
  expect(existsSync(join(dir, old.key))).toBe(true);
  expect((await ctx.store.backups.get(old.row.id))!.deleted_at).toBeNull();
  expect((await listAudit(ctx.pool, { action: 'backup.delete-deferred' })).map((a) => a.target)).toContain(old.key);

  // Cancel (the bot stopping): the test ends at once, its container is gone, its run is interrupted.
  const registerBefore = (await ctx.store.restoreTests.list({ client: 'demo', limit: 100 })).length;
  const t0 = Date.now();
  controller.abort(new Error('cancelled: the bot is stopping'));
  const out = await testing;
  expect(Date.now() - t0).toBeLessThan(10_000);
  expect(out.ok).toBe(false);
  expect(out.run).toMatchObject({ id: run.id, status: 'interrupted' });
  expect(out.error).toContain('cancelled: the bot is stopping');
  expect(await leftovers(docker, run.id, state.url)).toEqual({ containers: 0, networks: 0 });
  // Not a result of the backup: no §12 row, no S2 alert; audited as interrupted.
  expect((await ctx.store.restoreTests.list({ client: 'demo', limit: 100 })).length).toBe(registerBefore);
  expect(ctx.notifier.texts().some((t) => t.includes('S2'))).toBe(false);
  expect((await listAudit(ctx.pool, { action: 'restore_test.interrupted' })).map((a) => a.target)).toContain(`run:${run.id}`);

  // Nobody reads it now: the next prune deletes it.
  const p2 = await prune(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'cli' });
  expect(p2.deleted.map((b) => b.id)).toEqual([old.row.id]);
  expect(existsSync(join(dir, old.key))).toBe(false);
}, 240_000);

test('a restore test that lost the race to prune refuses before it starts anything (no run, no container)', async () => {
  const b = await storeBackup(ctx, { client: 'demo', body: slowDump(1), tables: 1 });
  const runsBefore = (await listRuns(ctx.pool, { client: 'demo', kind: 'restore_test' })).length;
  // Prune holds the backup's read lock exclusively while it deletes it; the restore test, which chose it just before, waits.
  let testing: Promise<RestoreTestOutcome> | undefined;
  const held = await ctx.store.withLock('backup_read', `demo:${b.row.id}`, async () => {
    testing = runRestoreTest(ctx, { client: 'demo', backupKey: b.row.file!, actor: 'U0OPER', trigger: 'cli', notify: false });
    testing.catch(() => undefined);
    await sleep(1000);
    await ctx.storage('local').delete(b.key);
    await ctx.store.backups.markDeleted(b.row.id, new Date());
  }, { wait: false });
  expect(held.acquired).toBe(true);
  await expect(testing).rejects.toThrow(/was deleted by retention \(prune\) just now; run the restore test again/);
  expect((await listRuns(ctx.pool, { client: 'demo', kind: 'restore_test' })).length).toBe(runsBefore);
}, 60_000);
