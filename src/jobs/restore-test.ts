// bree job `restore-test` (schedules.restoreTest, in each client's restoreTest.months, SOP 8.3).
import { runJobWorker } from './worker.js';
import { scheduledRestoreTest } from '../operations/scheduled-jobs.js';

await runJobWorker((ctx, spec, signal) => scheduledRestoreTest(ctx, { cron: spec.cron, signal, attempt: spec.attempt }));
