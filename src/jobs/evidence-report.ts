// bree job `evidence-report` (schedules.evidenceReport, default the 1st of the month at 07:00): the previous month's signed report per client.
import { runJobWorker } from './worker.js';
import { scheduledEvidenceReport } from '../operations/scheduled-jobs.js';

await runJobWorker((ctx, spec, signal) => scheduledEvidenceReport(ctx, { cron: spec.cron, signal }));
