import { planOf } from '../../src/operations/runbook.js';
import { RESTORE_PLAN, restoreSteps } from '../../src/operations/restore-steps.js';

/** One runbook for every engine: the steps of restore-pg.ts and restore-mysql.ts sit in the same places with the same names and labels. */
test('PostgreSQL and MySQL/MariaDB restores have the same step list (the plan people see and the recovery shows)', () => {
  expect(planOf(restoreSteps('mysql'))).toEqual(planOf(restoreSteps('postgres')));
  expect(RESTORE_PLAN.map((p) => p.name)).toEqual(['download', 'notify_users', 'stop_app', 'pre_restore_backup', 'terminate_connections', 'restore', 'verify', 'switch', 'start_app', 'notify_back', 'register']);
  // Every step that changes production has its way back, for both engines.
  for (const engine of ['postgres', 'mysql'] as const) {
    const steps = Object.fromEntries(restoreSteps(engine).map((s) => [s.name, s]));
    for (const name of ['stop_app', 'restore', 'switch', 'start_app']) expect({ engine, name, undo: steps[name]!.undo !== undefined }).toEqual({ engine, name, undo: true });
  }
});
