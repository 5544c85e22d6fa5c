import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { EvidenceReportInput } from '../../../src/evidence/report/model.js';

/**
 * A realistic quarter (2026-Q1) of two clients: ~60 backups with failures and an RPO breach each, four
 * restore tests (one failed, over the RTO, not signed by QA), one completed production restore after a
 * failed one (with its §13.5 incident), one rejected request, watchdog incidents open and closed, an audit
 * log, one register row that no longer verifies, and text typed by people that tries to be markup.
 */

export const XSS_REASON = 'Restore pedido <script>window.__pwned=1</script> <img src=x onerror="window.__pwned=2"> & "fin"';
export const XSS_OBSERVATION = '</td></tr></table><h1 id="injected">injected</h1>';
export const XSS_AUDIT_REASON = '<svg onload="window.__pwned=3"><a href="https://evil.example/">link</a>';
export const BROKEN_BACKUP_ID = '1042';
export const BROKEN_REASON = 'edited: observations changed after the row was chained (stored hash 3f2a9c41…, recomputed 9b71e0d2…)';

const iso = (y: number, m: number, d: number, h = 3, min = 0) => new Date(Date.UTC(y, m - 1, d, h, min)).toISOString();
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const intact = { status: 'intact' as const };
const file = (at: string) => `backup_${at.slice(0, 10)}_${at.slice(11, 19).replace(/:/g, '-')}.sql.gz`;

export function makeFixture(): { data: EvidenceReportInput; privateKey: KeyObject; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const old = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
  let id = 1000;

  // conitrack: every other day at 03:00 UTC, RPO 3 days; three failures in a row in late January.
  const conitrackBackups = [];
  for (let day = 2; day <= 90; day += 2) {
    const at = new Date(Date.UTC(2026, 0, 1, 3) + (day - 1) * 86_400_000).toISOString();
    const failed = day === 20 || day === 22 || day === 24;
    const n = ++id;
    conitrackBackups.push({
      id: String(n), takenAt: at, type: 'scheduled' as const, file: failed ? null : file(at), key: failed ? null : `backups/conitrack/${file(at)}`,
      format: 'plain', engine: 'postgres', sizeBytes: failed ? null : Math.round((120 + day * 0.25) * 1024 * 1024),
      durationSeconds: failed ? 12 : 40 + (day % 7) * 4, verified: !failed, verifiedAt: failed ? null : new Date(Date.parse(at) + 5 * 60_000).toISOString(),
      executedBy: 'backup-bot (schedule)', result: failed ? 'Error' as const : 'OK' as const,
      observations: failed ? 'pg_dump: error: connection to server at "db.conitrack.internal" failed: timeout' : '',
      sha256: failed ? null : sha(at), tables: failed ? null : 42, locations: failed ? [] : [{ destination: 's3-offsite', ok: true }, { destination: 'nas', ok: true }],
      chainHash: sha(`chain-${n}`), verification: String(n) === BROKEN_BACKUP_ID ? { status: 'broken' as const, reasons: [BROKEN_REASON] } : intact,
    });
  }
  // A manual pre-change backup.
  conitrackBackups.push({
    id: String(++id), takenAt: iso(2026, 2, 19, 21, 40), type: 'pre-restore' as const, file: file(iso(2026, 2, 19, 21, 40)), key: null, format: 'plain', engine: 'postgres',
    sizeBytes: 131 * 1024 * 1024, durationSeconds: 51, verified: true, verifiedAt: iso(2026, 2, 19, 21, 44), executedBy: 'Juan Operador', result: 'OK' as const,
    observations: 'pre-restore backup of request #7', sha256: sha('pre'), tables: 42, locations: [{ destination: 's3-offsite', ok: true }], chainHash: sha('pre-chain'), verification: intact,
  });

  // laboratorio-norte: Sundays 03:00 UTC, RPO 7 days; one failure makes a 14-day gap.
  const labBackups = [];
  for (let week = 0; week < 13; week++) {
    const at = new Date(Date.UTC(2026, 0, 4, 3) + week * 7 * 86_400_000).toISOString();
    const failed = week === 8;
    const n = ++id;
    labBackups.push({
      id: String(n), takenAt: at, type: 'scheduled' as const, file: failed ? null : file(at), sizeBytes: failed ? null : Math.round((2.1 + week * 0.02) * 1024 ** 3),
      durationSeconds: failed ? 300 : 480 + week * 15, verified: !failed, verifiedAt: failed ? null : new Date(Date.parse(at) + 20 * 60_000).toISOString(),
      executedBy: 'backup-bot (schedule)', result: failed ? 'Error' as const : 'OK' as const,
      observations: failed ? 'mysqldump: Got error: 2013: Lost connection to server during query' : week === 3 ? '<b>bold?</b> & "quotes" — Ñandú' : '',
      sha256: failed ? null : sha(at), tables: failed ? null : 118, locations: failed ? [] : [{ destination: 'b2', ok: true }], chainHash: sha(`chain-${n}`), verification: intact,
    });
  }
  labBackups.push({
    id: String(++id), takenAt: iso(2026, 3, 4, 14, 5), type: 'manual' as const, file: file(iso(2026, 3, 4, 14, 5)), sizeBytes: Math.round(2.28 * 1024 ** 3), durationSeconds: 560,
    verified: true, verifiedAt: iso(2026, 3, 4, 14, 30), executedBy: 'Ana Operadora', result: 'OK' as const, observations: 'manual after the failed Sunday run',
    sha256: sha('manual'), tables: 118, locations: [{ destination: 'b2', ok: true }], chainHash: sha('manual-chain'), verification: intact,
  });

  const qa = (name: string, slackId: string, at: string) => ({ signerId: slackId, signerName: name, role: 'QA', meaning: 'QA verified', signedAt: at, keyId: 'ed25519:7f3c9a1b' });

  return {
    privateKey,
    publicKeyPem,
    data: {
      meta: {
        period: { from: '2026-01-01T00:00:00.000Z', to: '2026-04-01T00:00:00.000Z', label: '2026-Q1' },
        generatedAt: '2026-04-01T07:00:00.000Z',
        timezone: 'UTC',
        botVersion: '0.1.0',
        signingKey: { keyId: 'ed25519:7f3c9a1b', publicKeyPem },
        previousKeys: [{ keyId: 'ed25519:0a1b2c3d', publicKeyPem: old, retiredAt: '2026-01-10T12:00:00.000Z' }],
        verification: { checkedAt: '2026-04-01T06:59:00.000Z', ok: false, summary: `1 broken record: backups #${BROKEN_BACKUP_ID} edited` },
      },
      integrityIssues: [{ register: 'backups', client: 'conitrack', id: BROKEN_BACKUP_ID, what: 'edited', detail: BROKEN_REASON }],
      generalAudit: [
        { id: '5001', at: '2026-01-10T12:00:00.000Z', actor: 'U0ADMIN', action: 'key.rotated', details: { from: 'ed25519:0a1b2c3d', to: 'ed25519:7f3c9a1b' }, verification: intact },
        { id: '5002', at: '2026-02-01T09:00:00.000Z', actor: 'U0ADMIN', action: 'config.reloaded', reason: XSS_AUDIT_REASON, verification: intact },
      ],
      clients: [
        {
          client: 'conitrack',
          rpoMs: 3 * 86_400_000,
          rtoMs: 4 * 3_600_000,
          lastVerifiedBeforePeriod: { takenAt: '2025-12-31T03:00:00.000Z', verifiedAt: '2025-12-31T03:05:00.000Z' },
          backups: conitrackBackups,
          restoreTests: [
            { id: '301', testedAt: iso(2026, 1, 15, 10), quarter: '2026-Q1', backupUsed: file(iso(2026, 1, 14)), environment: 'Test', restoreMinutes: 12.5,
              recordsVerified: { lote: 15234, movimiento: 98311 }, checks: [{ name: 'row counts match production', ok: true }, { name: 'login works', ok: true }],
              executedBy: 'Juan Operador', verifiedByQa: 'María José Pérez', verifiedByQaId: 'U0QA1', verifiedByQaAt: iso(2026, 1, 15, 14),
              qaSignature: qa('María José Pérez', 'U0QA1', iso(2026, 1, 15, 14)), result: 'OK', observations: 'quarterly restore test', chainHash: sha('rt301'), verification: intact },
            { id: '302', testedAt: iso(2026, 2, 20, 22, 30), quarter: '2026-Q1', backupUsed: file(iso(2026, 2, 19, 21, 40)), environment: 'Prod', restoreMinutes: 38,
              recordsVerified: { lote: 16020, movimiento: 104220 }, checks: [{ name: 'row counts match the backup manifest', ok: true }, { name: 'application health', ok: true }],
              executedBy: 'Juan Operador', result: 'OK', observations: 'Production restore (swap) #7 approved by Sofía Dueña (System Owner)', approvalId: '7', chainHash: sha('rt302'), verification: intact },
            { id: '303', testedAt: iso(2026, 3, 10, 11), quarter: '2026-Q1', backupUsed: file(iso(2026, 3, 9)), environment: 'Test', restoreMinutes: 14,
              recordsVerified: { lote: 16800, movimiento: 110002 }, checks: [{ name: 'row counts match production', ok: true }],
              executedBy: 'Ana Operadora', verifiedByQa: 'María José Pérez', verifiedByQaId: 'U0QA1', verifiedByQaAt: iso(2026, 3, 10, 15),
              qaSignature: qa('María José Pérez', 'U0QA1', iso(2026, 3, 10, 15)), result: 'OK', observations: XSS_OBSERVATION, chainHash: sha('rt303'), verification: intact },
          ],
          incidents: [
            { id: '11', approvalId: '6', at: iso(2026, 2, 19, 20, 10), description: 'Production restore #6 failed at step "restore": psql: ERROR: relation "lote" already exists',
              backupUsed: file(iso(2026, 2, 18)), recoveryMinutes: 22, dataLost: 'none (production unchanged or rolled back)', correctiveActions: 'restart_app: started; previous database swapped back',
              chainHash: sha('inc11'), verification: intact },
          ],
          approvals: [
            { id: '6', requestedAt: iso(2026, 2, 19, 18), requestedBy: 'U0OPS1', requestedByName: 'Juan Operador', scope: 'full', strategy: 'swap', backup: file(iso(2026, 2, 18)),
              backupSha256: sha('b6'), reason: 'Corrupted stock movements after the failed 4.2 migration', ticket: 'INC-2211', decision: 'approved',
              signature: { signerId: 'U0SO1', signerName: 'Sofía Dueña', role: 'System Owner', meaning: 'approved', signedAt: iso(2026, 2, 19, 18, 30), keyId: 'ed25519:7f3c9a1b' },
              statement: 'I approve the full restore of conitrack production from the backup named above.', status: 'rolled_back', lastStep: 'restore',
              startedByName: 'Juan Operador', startedAt: iso(2026, 2, 19, 19, 50), finishedAt: iso(2026, 2, 19, 20, 12), outcome: 'restore failed; rolled back', chainHash: sha('a6'), verification: intact },
            { id: '7', requestedAt: iso(2026, 2, 20, 9), requestedBy: 'U0OPS1', requestedByName: 'Juan Operador', scope: 'full', strategy: 'swap', backup: file(iso(2026, 2, 19, 21, 40)),
              backupSha256: sha('b7'), reason: 'Second attempt of INC-2211 with the fixed dump', ticket: 'INC-2211', decision: 'approved',
              signature: { signerId: 'U0SO1', signerName: 'Sofía Dueña', role: 'System Owner', meaning: 'approved', signedAt: iso(2026, 2, 20, 9, 40), keyId: 'ed25519:7f3c9a1b' },
              statement: 'I approve the full restore of conitrack production from the backup named above.', status: 'completed', lastStep: 'register',
              startedByName: 'Juan Operador', startedAt: iso(2026, 2, 20, 22), finishedAt: iso(2026, 2, 20, 22, 38), outcome: 'restored; previous database kept as conitrack_old_20260220', chainHash: sha('a7'), verification: intact },
          ],
          audit: [
            { id: '4001', at: iso(2026, 1, 15, 10), actor: 'U0OPS1', action: 'restore_test.started', client: 'conitrack', target: 'run:881', verification: intact },
            { id: '4002', at: iso(2026, 1, 15, 14), actor: 'U0QA1', action: 'restore_test.qa_verified', client: 'conitrack', target: 'register:301', verification: intact },
            { id: '4003', at: iso(2026, 2, 19, 18), actor: 'U0OPS1', action: 'restore.requested', client: 'conitrack', target: 'approval:6', reason: 'Corrupted stock movements after the failed 4.2 migration', verification: intact },
            { id: '4004', at: iso(2026, 2, 19, 18, 30), actor: 'U0SO1', action: 'restore.approved', client: 'conitrack', target: 'approval:6', verification: intact },
            { id: '4005', at: iso(2026, 2, 19, 20, 12), actor: 'U0OPS1', action: 'restore.rolled_back', client: 'conitrack', target: 'approval:6', reason: 'restore failed; rolled back', details: { run: '902', failedStep: 'restore' }, verification: intact },
            { id: '4006', at: iso(2026, 2, 20, 9), actor: 'U0OPS1', action: 'restore.requested', client: 'conitrack', target: 'approval:7', verification: intact },
            { id: '4007', at: iso(2026, 2, 20, 9, 40), actor: 'U0SO1', action: 'restore.approved', client: 'conitrack', target: 'approval:7', verification: intact },
            { id: '4008', at: iso(2026, 2, 20, 22, 38), actor: 'U0OPS1', action: 'restore.completed', client: 'conitrack', target: 'approval:7', details: { run: '905', register: '302' }, verification: intact },
            { id: '4009', at: iso(2026, 3, 10, 15), actor: 'U0QA1', action: 'restore_test.qa_verified', client: 'conitrack', target: 'register:303', verification: intact },
          ],
          alerts: [
            { id: '71', kind: 'backup', severity: 'S2', summary: 'scheduled backup failed: pg_dump timeout', openedAt: iso(2026, 1, 20, 3, 10), resolvedAt: iso(2026, 1, 26, 3, 6), resolution: 'a verified backup arrived' },
            { id: '72', kind: 'rpo', severity: 'S2', summary: 'last verified backup older than the RPO (3d)', openedAt: iso(2026, 1, 21, 3, 5), resolvedAt: iso(2026, 1, 26, 3, 6), resolution: 'a verified backup arrived' },
            { id: '73', kind: 'restore', severity: 'S2', summary: 'production restore #6 failed and was rolled back', openedAt: iso(2026, 2, 19, 20, 12), resolvedAt: iso(2026, 2, 20, 22, 38), resolution: 'resolved by the completed restore request #7' },
          ],
        },
        {
          client: 'laboratorio-norte',
          rpoMs: 7 * 86_400_000,
          rtoMs: 4 * 3_600_000,
          lastVerifiedBeforePeriod: { takenAt: '2025-12-28T03:00:00.000Z', verifiedAt: '2025-12-28T03:20:00.000Z' },
          backups: labBackups,
          restoreTests: [
            { id: '311', testedAt: iso(2026, 2, 5, 9), quarter: '2026-Q1', backupUsed: file(iso(2026, 2, 1)), environment: 'Test', restoreMinutes: 251,
              recordsVerified: { muestras: 880021, resultados: 2210093 }, checks: [{ name: 'row counts match production', ok: false, detail: 'resultados: 2210093 ≠ 2210101' }],
              executedBy: 'Ana Operadora', result: 'Fail', observations: 'restore took longer than the RTO; row counts differ', chainHash: sha('rt311'), verification: intact },
            { id: '312', testedAt: iso(2026, 3, 20, 9), quarter: '2026-Q1', backupUsed: file(iso(2026, 3, 15)), environment: 'Test', restoreMinutes: 95,
              recordsVerified: { muestras: 901334, resultados: 2290412 }, checks: [{ name: 'row counts match production', ok: true }],
              executedBy: 'Ana Operadora', verifiedByQa: 'Carlos QA', verifiedByQaId: 'U0QA2', verifiedByQaAt: iso(2026, 3, 20, 16),
              qaSignature: qa('Carlos QA', 'U0QA2', iso(2026, 3, 20, 16)), result: 'OK', observations: 'retest after the index fix', chainHash: sha('rt312'), verification: intact },
          ],
          incidents: [],
          approvals: [
            { id: '8', requestedAt: iso(2026, 3, 2, 11), requestedBy: 'U0OPS2', requestedByName: 'Ana Operadora', scope: 'partial', strategy: 'partial', tables: ['resultados'],
              backup: file(iso(2026, 3, 1)), backupSha256: sha('b8'), reason: XSS_REASON, ticket: 'INC-3001', decision: 'rejected',
              signature: { signerId: 'U0ITM1', signerName: 'Pedro Gerente', role: 'IT Manager', meaning: 'rejected', signedAt: iso(2026, 3, 2, 12), keyId: 'ed25519:7f3c9a1b' },
              statement: 'I reject this restore request.', rejectReason: 'Use the application\'s correction workflow <b>instead</b>', status: 'rejected', outcome: 'rejected', chainHash: sha('a8'), verification: intact },
          ],
          audit: [
            { id: '4101', at: iso(2026, 2, 5, 9), actor: 'U0OPS2', action: 'restore_test.started', client: 'laboratorio-norte', target: 'run:890', verification: intact },
            { id: '4102', at: iso(2026, 3, 2, 11), actor: 'U0OPS2', action: 'restore.requested', client: 'laboratorio-norte', target: 'approval:8', reason: XSS_REASON, verification: intact },
            { id: '4103', at: iso(2026, 3, 2, 12), actor: 'U0ITM1', action: 'restore.rejected', client: 'laboratorio-norte', target: 'approval:8', reason: 'Use the application\'s correction workflow <b>instead</b>', verification: intact },
          ],
          alerts: [
            { id: '81', kind: 'rpo', severity: 'S2', summary: 'last verified backup older than the RPO (7d)', openedAt: iso(2026, 3, 1, 3, 20), resolvedAt: iso(2026, 3, 4, 14, 30), resolution: 'a verified backup arrived' },
            { id: '82', kind: 'backup', severity: 'S2', summary: 'off-site copy to b2 failed on 2026-03-29', openedAt: iso(2026, 3, 29, 3, 30), resolvedAt: null },
          ],
        },
      ],
    },
  };
}
