import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext , type TestContext } from '../helpers/context.js';
import type { Context } from '../../src/context.js';
import { getDelivery, pruneDeliveries, recordDelivery } from '../../src/store/deliveries.js';

let db: TestDatabase;
let a: TestContext;
let b: TestContext;

beforeAll(async () => {
  db = await createTestDatabase('bbt_deliveries');
  const config = testConfig({ stateUrl: db.url });
  a = await testContext(config);
  b = await testContext(config);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await db?.drop();
});

test('the first record of a key wins, whichever replica; later copies are not new', async () => {
  const at = new Date('2026-03-01T10:00:00Z');
  const results = await Promise.all([a, b, a, b].map((c, i) => recordDelivery(c.pool, { key: 'trigger:123.456', retryNum: i || undefined, retryReason: i ? 'http_timeout' : undefined, instance: c.instance.id, at })));
  expect(results.filter(Boolean)).toHaveLength(1);
  const row = await getDelivery(a.pool, 'trigger:123.456');
  expect(row).toMatchObject({ key: 'trigger:123.456', first_seen_at: at });
  expect([a.instance.id, b.instance.id]).toContain(row!.instance);
  expect(await recordDelivery(b.pool, { key: 'trigger:other', at })).toBe(true);
});

test('pruning forgets deliveries first seen before the cut-off, and only those', async () => {
  await recordDelivery(a.pool, { key: 'event:old', at: new Date('2026-02-27T09:00:00Z') });
  await recordDelivery(a.pool, { key: 'event:new', at: new Date('2026-03-01T09:00:00Z'), retryNum: 2, retryReason: 'http_error' });
  expect(await pruneDeliveries(a.pool, new Date('2026-02-28T10:00:00Z'))).toBe(1);
  expect(await getDelivery(a.pool, 'event:old')).toBeUndefined();
  expect(await getDelivery(a.pool, 'event:new')).toMatchObject({ retry_num: 2, retry_reason: 'http_error' });
  // Forgotten, the same key is new again.
  expect(await recordDelivery(a.pool, { key: 'event:old' })).toBe(true);
});
