import { Gauge, type Registry } from 'prom-client';
import type { QueueFigures } from '../store/work-queue.js';

/** What /metrics reads from the shared work queue (issue 21): the queue's figures and this replica's work in hand. */
export interface QueueMetricsSource {
  figures(): Promise<QueueFigures>;
  running(): Array<{ name: string }>;
}

/**
 * Queue depth, the oldest wait and the work running (in the whole fleet and on this replica). The queue's
 * figures are read once per scrape (one small query), shared by the gauges.
 */
export function registerQueueMetrics(registry: Registry, source: QueueMetricsSource, replica: string): void {
  let reading: Promise<QueueFigures | undefined> | undefined;
  const figures = (): Promise<QueueFigures | undefined> => {
    reading ??= source.figures().catch(() => undefined).finally(() => { setTimeout(() => { reading = undefined; }, 1000).unref(); });
    return reading;
  };
  new Gauge({
    name: 'backupbot_work_queued', help: 'Work waiting in the shared queue for a free slot (all replicas)', registers: [registry],
    async collect() { const f = await figures(); if (f) this.set(f.queued); },
  });
  new Gauge({
    name: 'backupbot_work_oldest_wait_seconds', help: 'How long the oldest queued work has waited', registers: [registry],
    async collect() { const f = await figures(); if (f) this.set(f.oldestWaitSeconds); },
  });
  new Gauge({
    name: 'backupbot_work_active', help: 'Work running now (all replicas)', registers: [registry],
    async collect() { const f = await figures(); if (f) this.set(f.active); },
  });
  new Gauge({
    name: 'backupbot_work_running', help: 'Work this replica runs now', labelNames: ['replica'], registers: [registry],
    collect() { this.reset(); this.set({ replica }, source.running().length); },
  });
}
