import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../store/store.js';
import type { ClientBackupFigures, RunCount } from '../store/metrics.js';

/** The run and backup figures are read at most once per this long, however often /metrics is scraped. */
const FIGURES_TTL_MS = 15_000;

export interface BotMetrics {
  registry: Registry;
  /** Slack Web API calls that failed after all retries (by method). */
  slackFailures: Counter<'method'>;
  /** Slack requests refused by signature/timestamp verification (by reason). */
  slackRejected: Counter<'reason'>;
  /** Slack requests dropped as retries/replays of one already handled. */
  slackDuplicates: Counter;
  /** Alert e-mails sent or failed (alerts.email). */
  alertEmails: Counter<'result'>;
  render(): Promise<{ contentType: string; body: string }>;
}

/**
 * Prometheus metrics. Run and backup figures (runs by kind and result, last successful backup time,
 * size and duration per client) are read from the state database at most once per FIGURES_TTL_MS: a
 * scrape within that time, or one racing another, reuses the last set (a failed read keeps the previous
 * figures and is retried after the same interval). Slack delivery counters are in-process. One registry
 * per process (no global state, so tests can build several).
 */
export function createMetrics(store: Pick<Store, 'metrics'>, opts: { defaultMetrics?: boolean; ttlMs?: number; now?: () => number; onError?: (err: unknown) => void } = {}): BotMetrics {
  const registry = new Registry();
  const ttlMs = opts.ttlMs ?? FIGURES_TTL_MS;
  const now = opts.now ?? Date.now;
  let last: { runs: RunCount[]; backups: ClientBackupFigures[] } = { runs: [], backups: [] };
  let readAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<typeof last> | undefined;
  const figures = (): Promise<typeof last> => {
    if (reading) return reading;
    if (now() - readAt < ttlMs) return Promise.resolve(last);
    readAt = now();
    reading = (async () => {
      try {
        last = { runs: await store.metrics.runCounts(), backups: await store.metrics.lastBackupFigures() };
      } catch (err) {
        // The state database did not answer: keep the last figures (/healthz says db: false).
        opts.onError?.(err);
      } finally {
        reading = undefined;
      }
      return last;
    })();
    return reading;
  };
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'backupbot_process_' });
  new Gauge({
    name: 'backupbot_runs',
    help: 'Runs recorded in the state database, by kind and result (status)',
    labelNames: ['kind', 'result'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await figures()).runs) this.set({ kind: r.kind, result: r.status }, r.n);
    },
  });
  const rows = async () => (await figures()).backups;
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
  const alertEmails = new Counter({ name: 'backupbot_alert_emails_total', help: 'S1/S2 alert e-mails, by result (sent, failed)', labelNames: ['result'], registers: [registry] });
  return {
    registry, slackFailures, slackRejected, slackDuplicates, alertEmails,
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
