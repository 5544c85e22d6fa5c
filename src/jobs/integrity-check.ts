// bree job `integrity-check` (schedules.integrityCheck, first Monday of the month, SOP 8.2).
import { runJobWorker } from './worker.js';
import { scheduledIntegrityCheck } from '../operations/scheduled-jobs.js';

await runJobWorker((ctx, spec, signal) => scheduledIntegrityCheck(ctx, { cron: spec.cron, signal, attempt: spec.attempt }));
