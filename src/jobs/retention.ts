// bree job `retention` (schedules.retention, daily): prune every client, one lock per client.
import { runJobWorker } from './worker.js';
import { scheduledRetention } from '../operations/scheduled-jobs.js';

await runJobWorker((ctx, spec, signal) => scheduledRetention(ctx, { cron: spec.cron, signal, attempt: spec.attempt }));
