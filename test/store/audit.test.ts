import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { connectState, type Pool } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { audit, listAudit } from '../../src/store/audit.js';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase('bbt_audit');
  pool = await connectState(db.url);
  await migrate(pool);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

test('the audit log is append-only: UPDATE, DELETE and TRUNCATE are refused', async () => {
  await audit(pool, { actor: 'U1', action: 'test.entry', client: 'demo', details: { a: 1 } });
  await expect(pool.query("UPDATE audit_log SET actor = 'mallory'")).rejects.toThrow(/append-only\): UPDATE/);
  await expect(pool.query('DELETE FROM audit_log')).rejects.toThrow(/append-only\): DELETE/);
  await expect(pool.query('TRUNCATE audit_log')).rejects.toThrow(/append-only\): TRUNCATE/);
  const rows = await listAudit(pool, { action: 'test.entry' });
  expect(rows).toHaveLength(1);
  expect(rows[0]!.actor).toBe('U1');
});
