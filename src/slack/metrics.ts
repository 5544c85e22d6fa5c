import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../store/store.js';

export interface BotMetrics {
  registry: Registry;
  /** Slack Web API calls that failed after all retries (by method). */
  slackFailures: Counter<'method'>;
  /** Slack requests refused by signature/timestamp verification (by reason). */
  slackRejected: Counter<'reason'>;
  /** Slack requests dropped as retries/replays of one already handled. */
  slackDuplicates: Counter;
  render(): Promise<{ contentType: string; body: string }>;
}

/**
 * Prometheus metrics. Run and backup figures are read from the state database at scrape time (runs by
 * kind and result, last successful backup time, size and duration per client); Slack delivery counters
 * are in-process. One registry per app (no global state, so tests can build several).
 */
export function createMetrics(store: Pick<Store, 'metrics'>, opts: { defaultMetrics?: boolean } = {}): BotMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'backupbot_process_' });
  new Gauge({
    name: 'backupbot_runs',
    help: 'Runs recorded in the state database, by kind and result (status)',
    labelNames: ['kind', 'result'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await store.metrics.runCounts()) this.set({ kind: r.kind, result: r.status }, r.n);
    },
  });
  const figures = () => store.metrics.lastBackupFigures();
  // One query per scrape, shared by the three gauges (collected concurrently); a new scrape always reads afresh.
  let scrape: ReturnType<typeof figures> | undefined;
  const rows = () => (scrape ??= figures());
  new Gauge({
    name: 'backupbot_last_successful_backup_timestamp_seconds',
    help: 'Unix time of the last successful backup, per client',
    labelNames: ['client'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await rows()) if (r.last_ok_at) this.set({ client: r.client }, r.last_ok_at.getTime() / 1000);
    },
  });
  new Gauge({
    name: 'backupbot_last_backup_bytes',
    help: 'Size in bytes of the last successful backup, per client',
    labelNames: ['client'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await rows()) if (r.size_bytes !== null) this.set({ client: r.client }, Number(r.size_bytes));
    },
  });
  new Gauge({
    name: 'backupbot_last_backup_duration_seconds',
    help: 'Duration of the run that took the last successful backup, per client',
    labelNames: ['client'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await rows()) if (r.duration_seconds !== null) this.set({ client: r.client }, r.duration_seconds);
    },
  });
  const slackFailures = new Counter({ name: 'backupbot_slack_api_failures_total', help: 'Slack Web API calls that failed after retries', labelNames: ['method'], registers: [registry] });
  const slackRejected = new Counter({ name: 'backupbot_slack_requests_rejected_total', help: 'Incoming Slack requests refused (401)', labelNames: ['reason'], registers: [registry] });
  const slackDuplicates = new Counter({ name: 'backupbot_slack_requests_duplicate_total', help: 'Incoming Slack retries/replays dropped', registers: [registry] });
  return {
    registry, slackFailures, slackRejected, slackDuplicates,
    async render() {
      scrape = undefined;
      try {
        return { contentType: registry.contentType, body: await registry.metrics() };
      } finally {
        scrape = undefined;
      }
    },
  };
}
