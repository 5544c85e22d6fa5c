import { tmpdir } from 'node:os';
import { useMigratedDatabase } from '../helpers/db.js';
import { insertRestoreTest } from '../../src/store/restore-test-register.js';
import { insertSignature } from '../../src/store/signatures.js';
import { loadSigner } from '../../src/evidence/signer.js';
import { restoreTestSubject, signDecision } from '../../src/evidence/decisions.js';
import { testSigningKeyPath } from '../helpers/signing-key.js';

const state = useMigratedDatabase('bbt_signatures');

test('one signature per subject and meaning: a second QA signature of the same restore test is refused', async () => {
  const signer = loadSigner({ baseDir: tmpdir(), signingKey: testSigningKeyPath() });
  const t = await insertRestoreTest(state.pool, { client: 'demo', testedAt: new Date('2026-03-15T12:00:00Z'), backupUsed: 'backup_2026-03-08_03-00-00.sql.gz', executedBy: 'U0OPER', result: 'OK' });
  const qa = signDecision(signer, {
    kind: 'qa-verification', subject: restoreTestSubject(t), subjectId: `restore_test:${t.id}`, client: 'demo', meaning: 'qa-verified',
    signer: { slackId: 'U0QA', name: 'Quality Person', role: 'QA' }, statement: 'verified', signedAt: new Date('2026-03-15T13:00:00Z'),
  });
  await insertSignature(state.pool, qa);
  await expect(insertSignature(state.pool, { ...qa, signerId: 'U0QA2', signerName: 'Someone Else' })).rejects.toThrow(/signatures_one_per_subject/);
});
