import { useMigratedDatabase } from '../helpers/db.js';
import { connectState } from '../../src/store/db.js';
import { listAudit } from '../../src/store/audit.js';
import { claimInstance } from '../../src/store/instance.js';
import { LOCK_NS_INSTANCE } from '../../src/store/locks.js';
import { startRun, runStep, finishRun, getRun } from '../../src/store/runs.js';
import { reapInterruptedRuns } from '../../src/store/interrupted.js';

const state = useMigratedDatabase('bbt_interrupted');

test('runs of a dead process are marked interrupted at the next start; a live one is left alone', async () => {
  const deadPool = await connectState(state.db.url);
  const dead = await claimInstance(deadPool);
  const live = await claimInstance(state.pool);
  const r1 = await startRun(state.pool, { kind: 'backup', client: 'demo', actor: 'U1', trigger: 'slack', instance: dead });
  await runStep(state.pool, r1.id, 'dumping');
  const r2 = await startRun(state.pool, { kind: 'backup', client: 'other', actor: 'schedule', trigger: 'schedule', instance: live });
  // The process dies: its connection, and with it the instance lock, go away.
  await state.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid AND objid = $2::int::oid`, [LOCK_NS_INSTANCE, dead.id]);
  await dead.release();
  await deadPool.end();
  // pg_terminate_backend only signals: wait until the dead backend has let go of its lock
  for (let i = 0; i < 100 && (await state.pool.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid AND objid = $2::int::oid AND granted`, [LOCK_NS_INSTANCE, dead.id])).rowCount; i++) await new Promise((r) => setTimeout(r, 50));
  const reaped = await reapInterruptedRuns(state.pool);
  expect(reaped.map((r) => r.id)).toEqual([r1.id]);
  const after = await getRun(state.pool, r1.id);
  expect(after!.status).toBe('interrupted');
  expect(after!.error).toContain('last step: dumping');
  expect((await getRun(state.pool, r2.id))!.status).toBe('running');
  expect(await finishRun(state.pool, r1.id, { status: 'ok' })).toBeUndefined(); // an interrupted run stays interrupted
  expect((await listAudit(state.pool, { action: 'run.interrupted' })).map((a) => a.target)).toEqual([`run:${r1.id}`]);
  await finishRun(state.pool, r2.id, { status: 'ok' });
  await live.release();
});
