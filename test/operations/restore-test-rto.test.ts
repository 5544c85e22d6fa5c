/**
 * Issue 18 item 2 (restore tests): a restore test whose restore time (download + restore) exceeds the client's
 * RTO, or restoreTest.maxMinutes, is recorded as failed with "RTO exceeded (N min > M min)" and alerts (S2).
 * Real PostgreSQL, local storage and Docker engine (postgres:15 staging).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import Docker from 'dockerode';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRestoreTest, restoreTimeLimit } from '../../src/operations/restore-test.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { listRestoreTests } from '../../src/store/restore-test-register.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext } from '../helpers/context.js';
import { backupOf, leftovers } from './restore-test-fixtures.js';

const TABLES = ['lotes', 'users'];

describe('restore test against the RTO', () => {
  let state: TestDatabase;
  let src: TestDatabase;
  let dir: string;

  const contextWith = (restoreTest: Record<string, unknown>, rto?: string) => testContext(testConfig({
    stateUrl: state.url, demoUrl: src.url, storageDir: dir,
    client: { verify: { minTables: 10, tables: TABLES }, restoreTest: { timeout: '2m', memoryMb: 512, cpus: 1, ...restoreTest }, ...(rto ? { rto } : {}) },
  }));

  beforeAll(async () => {
    state = await createTestDatabase('bbt_rto_state');
    src = await createTestDatabase('bbt_rto_src');
    await fillSampleDatabase(src.url);
    dir = await mkdtemp(join(tmpdir(), 'bbt-rto-'));
  });
  afterAll(async () => {
    await state?.drop();
    await src?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the limit is restoreTest.maxMinutes when set, else the rto', async () => {
    const ctx = await contextWith({}, '2h');
    try {
      expect(restoreTimeLimit(ctx.client('demo'))).toEqual({ ms: 7_200_000, source: 'rto 2h' });
    } finally { await ctx.close(); }
    const ctx2 = await contextWith({ maxMinutes: 30 }, '2h');
    try {
      expect(restoreTimeLimit(ctx2.client('demo'))).toEqual({ ms: 1_800_000, source: 'restoreTest.maxMinutes' });
    } finally { await ctx2.close(); }
  });

  it('a restore slower than the limit fails the test: register Fail with the numbers, S2 alert, staging removed', async () => {
    const ctx = await contextWith({ maxMinutes: 0.001 });
    try {
      await backupOf(ctx, 'demo', src.url, TABLES);
      const out = await runRestoreTest(ctx, { client: 'demo', actor: 'U0OPER', actorName: 'Oper Ator', trigger: 'cli' });
      expect(out.ok).toBe(false);
      expect(out.failedStep).toBe('restoring');
      expect(out.error).toMatch(/^RTO exceeded \(\d+(\.\d+)? min > 0\.001 min, restoreTest\.maxMinutes\)$/);
      // The restore itself worked: every check passed, the time did not.
      expect(out.checks.length).toBeGreaterThan(0);
      expect(out.checks.every((c) => c.ok)).toBe(true);
      const [row] = await listRestoreTests(ctx.pool, { client: 'demo' });
      expect(row).toMatchObject({ result: 'Fail', run_id: out.run.id });
      expect(row!.observations).toMatch(/Falló en el paso "restoring": RTO exceeded \(.* min > 0\.001 min/);
      expect(out.run.status).toBe('failed');
      const alert = ctx.notifier.texts().find((t) => t.includes('S2 — restore test of demo FAILED'));
      expect(alert).toMatch(/FAILED at step "restoring" .*RTO exceeded/);
      expect(await leftovers(new Docker(), out.run.id, state.url)).toEqual({ containers: 0, networks: 0 });

      // Within the RTO (the default 4 h) the same backup passes.
      const ctxOk = await contextWith({});
      try {
        const ok = await runRestoreTest(ctxOk, { client: 'demo', actor: 'U0OPER', trigger: 'cli', notify: false });
        expect(ok.error).toBeUndefined();
        expect(ok.ok).toBe(true);
      } finally { await ctxOk.close(); }
    } finally { await ctx.close(); }
  }, 240_000);
});
