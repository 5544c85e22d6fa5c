// bree job `digest` (slack.digest.cron; schedules.digest or daily 08:00 without Slack).
import { runJobWorker } from './worker.js';
import { scheduledDigest } from '../operations/scheduled-jobs.js';

await runJobWorker((ctx, spec, signal) => scheduledDigest(ctx, { cron: spec.cron, signal }));
