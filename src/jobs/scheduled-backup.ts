// bree job `scheduled-backup:<client>`: the client's scheduled backup (client.schedule, config.timezone).
import { runJobWorker } from './worker.js';
import { scheduledBackup } from '../operations/scheduled-jobs.js';

await runJobWorker((ctx, spec, signal) => scheduledBackup(ctx, { client: spec.client!, cron: spec.cron, signal, attempt: spec.attempt }));
