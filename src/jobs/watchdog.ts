// bree job `watchdog` (schedules.watchdog): S2 alerts for missing/failed backups and RPO breaches.
import { runJobWorker } from './worker.js';
import { scheduledWatchdog } from '../operations/scheduled-jobs.js';

await runJobWorker((ctx, spec, signal) => scheduledWatchdog(ctx, { cron: spec.cron, signal }));
