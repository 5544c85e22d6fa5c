import { tmpdir } from 'node:os';
import { useMigratedDatabase } from '../helpers/db.js';
import { queriesOn } from '../../src/store/store.js';
import { insertBackup } from '../../src/store/backup-register.js';
import { loadSigner } from '../../src/evidence/signer.js';
import { exportRegister } from '../../src/operations/export-register.js';
import { testSigningKeyPath } from '../helpers/signing-key.js';

const state = useMigratedDatabase('bbt_backupreg');

test('the backup register exports with the SOP-001 section 11 columns', async () => {
  await insertBackup(state.pool, {
    client: 'demo', takenAt: new Date('2026-01-06T03:00:00Z'), type: 'scheduled', file: 'backup_2026-01-06_03-00-00.sql.gz', key: 'demo/backup_2026-01-06_03-00-00.sql.gz',
    sizeBytes: 1_572_864, verified: true, executedBy: 'schedule', result: 'OK', sha256: 'ab'.repeat(32), tablesCounted: 16, locations: [{ destination: 'local', ok: true }],
  });
  await insertBackup(state.pool, { client: 'demo', takenAt: new Date('2026-01-07T10:30:00Z'), type: 'manual', executedBy: 'U0OPER', verified: false, result: 'Error', observations: 'pg_dump: =cmd|"x"' });
  const signer = loadSigner({ baseDir: tmpdir(), signingKey: testSigningKeyPath() });
  const ectx = { store: queriesOn(state.pool), signer, clock: { now: () => new Date() } };
  const csv = await exportRegister(ectx, { register: 'backups', format: 'csv', timezone: 'UTC' });
  const lines = csv.trim().split('\r\n');
  expect(lines[0]).toBe('Cliente,Fecha,Hora,Tipo,Archivo,Tamano,Verificado,Ejecutado Por,Resultado,Observaciones,SHA256,Tablas,Ubicaciones,Cadena #,Hash Cadena');
  expect(lines[1]).toMatch(new RegExp(`^demo,2026-01-06,03:00,Auto,backup_2026-01-06_03-00-00.sql.gz,1.50 MB,Si,schedule,OK,,${'ab'.repeat(32)},16,local:ok,1,[0-9a-f]{64}$`));
  expect(lines[2]).toContain('Manual,,,No,U0OPER,Error,');
  const json = JSON.parse(await exportRegister(ectx, { register: 'backups', format: 'json', timezone: 'UTC', client: 'demo' })) as unknown[];
  expect(json).toHaveLength(2);
});
