import type { Queryable } from './queryable.js';

/**
 * slack_deliveries: the Slack deliveries (events, commands, button clicks, view submissions) this bot
 * has handled, by key. Recording is the decision: among replicas, or after a restart, the one whose
 * INSERT lands runs the delivery; every other copy (Slack's retry, a replay) is acknowledged only.
 */
export interface DeliveryRow { key: string; first_seen_at: Date; retry_num: number | null; retry_reason: string | null; instance: number | null }

/** Records a delivery; true when it was not seen before (the caller handles it), false for a retry or replay. */
export async function recordDelivery(db: Queryable, d: { key: string; retryNum?: number; retryReason?: string; instance?: number; at?: Date }): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO slack_deliveries (key, first_seen_at, retry_num, retry_reason, instance) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (key) DO NOTHING`,
    [d.key, d.at ?? new Date(), d.retryNum ?? null, d.retryReason || null, d.instance ?? null],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Forgets deliveries first seen before `before` (Slack retries within minutes; a signed request is stale after 5). */
export async function pruneDeliveries(db: Queryable, before: Date): Promise<number> {
  const r = await db.query('DELETE FROM slack_deliveries WHERE first_seen_at < $1', [before]);
  return r.rowCount ?? 0;
}

export async function getDelivery(db: Queryable, key: string): Promise<DeliveryRow | undefined> {
  const r = await db.query('SELECT * FROM slack_deliveries WHERE key = $1', [key]);
  return r.rows[0] as DeliveryRow | undefined;
}
