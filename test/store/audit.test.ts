import { useMigratedDatabase } from '../helpers/db.js';
import { audit, listAudit } from '../../src/store/audit.js';

const state = useMigratedDatabase('bbt_audit');

test('the audit log is append-only: UPDATE, DELETE and TRUNCATE are refused', async () => {
  await audit(state.pool, { actor: 'U1', action: 'test.entry', client: 'demo', details: { a: 1 } });
  await expect(state.pool.query("UPDATE audit_log SET actor = 'mallory'")).rejects.toThrow(/append-only\): UPDATE/);
  await expect(state.pool.query('DELETE FROM audit_log')).rejects.toThrow(/append-only\): DELETE/);
  await expect(state.pool.query('TRUNCATE audit_log')).rejects.toThrow(/append-only\): TRUNCATE/);
  const rows = await listAudit(state.pool, { action: 'test.entry' });
  expect(rows).toHaveLength(1);
  expect(rows[0]!.actor).toBe('U1');
});
