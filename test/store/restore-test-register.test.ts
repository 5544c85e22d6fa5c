import { tmpdir } from 'node:os';
import { useMigratedDatabase } from '../helpers/db.js';
import { queriesOn } from '../../src/store/store.js';
import { insertRestoreTest, quarterOf } from '../../src/store/restore-test-register.js';
import { insertSignature } from '../../src/store/signatures.js';
import { loadSigner } from '../../src/evidence/signer.js';
import { restoreTestSubject, signDecision } from '../../src/evidence/decisions.js';
import { exportRegister } from '../../src/operations/export-register.js';
import { testSigningKeyPath } from '../helpers/signing-key.js';

const state = useMigratedDatabase('bbt_rtreg');

test('the restore-test register exports with the SOP-001 section 12 columns, the QA signature included', async () => {
  const signer = loadSigner({ baseDir: tmpdir(), signingKey: testSigningKeyPath() });
  const ectx = { store: queriesOn(state.pool), signer, clock: { now: () => new Date() } };
  const t = await insertRestoreTest(state.pool, { client: 'demo', testedAt: new Date('2026-03-15T12:00:00Z'), backupUsed: 'backup_2026-03-08_03-00-00.sql.gz', restoreMinutes: 3.5, recordsVerified: { lotes: { staging: 200, production: 200 }, movimientos: 1000 }, executedBy: 'U0OPER', result: 'OK' });
  expect(t.quarter).toBe('2026-Q1');
  const qa = signDecision(signer, {
    kind: 'qa-verification', subject: restoreTestSubject(t), subjectId: `restore_test:${t.id}`, client: 'demo', meaning: 'qa-verified',
    signer: { slackId: 'U0QA', name: 'Quality Person', role: 'QA' }, statement: 'verified', signedAt: new Date('2026-03-15T13:00:00Z'),
  });
  await insertSignature(state.pool, qa);
  const csv12 = await exportRegister(ectx, { register: 'restore-tests', format: 'csv', timezone: 'UTC' });
  expect(csv12.split('\r\n')[0]).toBe('Cliente,Fecha,Trimestre,Backup Usado,Ambiente,Tiempo Restore (min),Registros Verificados,Ejecutado Por,Verificado Por (QA),Resultado,Observaciones,Firma QA (Ed25519),Clave,Cadena #,Hash Cadena');
  expect(csv12.split('\r\n')[1]).toMatch(new RegExp(`^demo,2026-03-15,Q1,backup_2026-03-08_03-00-00.sql.gz,Test,3.5,lotes:200 movimientos:1000,U0OPER,Quality Person 2026-03-15 13:00,OK,,[A-Za-z0-9+/=]{88},${signer.keyId},1,[0-9a-f]{64}$`));
});

test('quarters are counted in the configured time zone', () => {
  expect(quarterOf(new Date('2026-12-31T23:30:00Z'), 'America/Argentina/Buenos_Aires')).toBe('2026-Q4');
});
