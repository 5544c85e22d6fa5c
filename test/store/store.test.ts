import { queriesOn } from '../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { connectState, type Pool } from '../../src/store/db.js';
import { migrate, listMigrations } from '../../src/store/migrate.js';
import { audit, listAudit } from '../../src/store/audit.js';
import { withLock, isLocked } from '../../src/store/locks.js';
import { claimInstance } from '../../src/store/instance.js';
import { LOCK_NS_INSTANCE } from '../../src/store/locks.js';
import { startRun, runStep, finishRun, getRun } from '../../src/store/runs.js';
import { reapInterruptedRuns } from '../../src/store/interrupted.js';
import { insertBackup } from '../../src/store/backup-register.js';
import { insertRestoreTest, quarterOf } from '../../src/store/restore-test-register.js';
import { insertSignature } from '../../src/store/signatures.js';
import { loadSigner } from '../../src/evidence/signer.js';
import { restoreTestSubject, signDecision } from '../../src/evidence/decisions.js';
import { testSigningKeyPath } from '../helpers/signing-key.js';
import { tmpdir } from 'node:os';
import { exportRegister } from '../../src/operations/export-register.js';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = await connectState(db.url);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

describe('state store', () => {
  test('migrations: two processes at once do not collide; a second start is a no-op', async () => {
    const other = await connectState(db.url);
    try {
      const [a, b] = await Promise.all([migrate(pool), migrate(other)]);
      // Every migration applied exactly once, by one of the two.
      expect([...a, ...b].sort()).toEqual(listMigrations().map((m) => m.name));
      expect(listMigrations().map((m) => m.name)).toContain('000001_init.sql');
      expect(await migrate(pool)).toEqual([]);
    } finally {
      await other.end();
    }
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

  test('work locks are exclusive across connections and released after use', async () => {
    let inside = 0;
    let maxInside = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const first = withLock(pool, 'backup', 'demo', async () => { inside++; maxInside = Math.max(maxInside, inside); await gate; inside--; return 'first'; });
    await new Promise((r) => setTimeout(r, 100));
    expect(await isLocked(pool, 'backup', 'demo')).toBe(true);
    const second = await withLock(pool, 'backup', 'demo', async () => 'second');
    expect(second).toEqual({ acquired: false });
    const waiting = withLock(pool, 'backup', 'demo', async () => { inside++; maxInside = Math.max(maxInside, inside); inside--; return 'waited'; }, { wait: true });
    release();
    expect(await first).toEqual({ acquired: true, value: 'first' });
    expect(await waiting).toEqual({ acquired: true, value: 'waited' });
    expect(maxInside).toBe(1);
    expect(await isLocked(pool, 'backup', 'demo')).toBe(false);
    expect(await withLock(pool, 'backup', 'other', async () => 1)).toEqual({ acquired: true, value: 1 });
  });

  test('runs of a dead process are marked interrupted at the next start; a live one is left alone', async () => {
    const deadPool = await connectState(db.url);
    const dead = await claimInstance(deadPool);
    const live = await claimInstance(pool);
    const r1 = await startRun(pool, { kind: 'backup', client: 'demo', actor: 'U1', trigger: 'slack', instance: dead });
    await runStep(pool, r1.id, 'dumping');
    const r2 = await startRun(pool, { kind: 'backup', client: 'other', actor: 'schedule', trigger: 'schedule', instance: live });
    // The process dies: its connection, and with it the instance lock, go away.
    await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid AND objid = $2::int::oid`, [LOCK_NS_INSTANCE, dead.id]);
    await dead.release();
    await deadPool.end();
    // pg_terminate_backend only signals: wait until the dead backend has let go of its lock
    for (let i = 0; i < 100 && (await pool.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid AND objid = $2::int::oid AND granted`, [LOCK_NS_INSTANCE, dead.id])).rowCount; i++) await new Promise((r) => setTimeout(r, 50));
    const reaped = await reapInterruptedRuns(pool);
    expect(reaped.map((r) => r.id)).toEqual([r1.id]);
    const after = await getRun(pool, r1.id);
    expect(after!.status).toBe('interrupted');
    expect(after!.error).toContain('last step: dumping');
    expect((await getRun(pool, r2.id))!.status).toBe('running');
    expect(await finishRun(pool, r1.id, { status: 'ok' })).toBeUndefined(); // an interrupted run stays interrupted
    expect((await listAudit(pool, { action: 'run.interrupted' })).map((a) => a.target)).toEqual([`run:${r1.id}`]);
    await finishRun(pool, r2.id, { status: 'ok' });
    await live.release();
  });

  test('registers export with the SOP-001 section 11 and 12 columns', async () => {
    await insertBackup(pool, {
      client: 'demo', takenAt: new Date('2026-01-06T03:00:00Z'), type: 'scheduled', file: 'backup_2026-01-06_03-00-00.sql.gz', key: 'demo/backup_2026-01-06_03-00-00.sql.gz',
      sizeBytes: 1_572_864, verified: true, executedBy: 'schedule', result: 'OK', sha256: 'ab'.repeat(32), tablesCounted: 16, locations: [{ destination: 'local', ok: true }],
    });
    await insertBackup(pool, { client: 'demo', takenAt: new Date('2026-01-07T10:30:00Z'), type: 'manual', executedBy: 'U0OPER', verified: false, result: 'Error', observations: 'pg_dump: =cmd|"x"' });
    const signer = loadSigner({ baseDir: tmpdir(), signingKey: testSigningKeyPath() });
    const ectx = { store: queriesOn(pool), signer, clock: { now: () => new Date() } };
    const csv = await exportRegister(ectx, { register: 'backups', format: 'csv', timezone: 'UTC' });
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe('Cliente,Fecha,Hora,Tipo,Archivo,Tamano,Verificado,Ejecutado Por,Resultado,Observaciones,SHA256,Tablas,Ubicaciones,Cadena #,Hash Cadena');
    expect(lines[1]).toMatch(new RegExp(`^demo,2026-01-06,03:00,Auto,backup_2026-01-06_03-00-00.sql.gz,1.50 MB,Si,schedule,OK,,${'ab'.repeat(32)},16,local:ok,1,[0-9a-f]{64}$`));
    expect(lines[2]).toContain('Manual,,,No,U0OPER,Error,');
    const t = await insertRestoreTest(pool, { client: 'demo', testedAt: new Date('2026-03-15T12:00:00Z'), backupUsed: 'backup_2026-03-08_03-00-00.sql.gz', restoreMinutes: 3.5, recordsVerified: { lotes: { staging: 200, production: 200 }, movimientos: 1000 }, executedBy: 'U0OPER', result: 'OK' });
    expect(t.quarter).toBe('2026-Q1');
    const qa = signDecision(signer, {
      kind: 'qa-verification', subject: restoreTestSubject(t), subjectId: `restore_test:${t.id}`, client: 'demo', meaning: 'qa-verified',
      signer: { slackId: 'U0QA', name: 'Quality Person', role: 'QA' }, statement: 'verified', signedAt: new Date('2026-03-15T13:00:00Z'),
    });
    await insertSignature(pool, qa);
    await expect(insertSignature(pool, { ...qa, signerId: 'U0QA2', signerName: 'Someone Else' })).rejects.toThrow(/signatures_one_per_subject/);
    const csv12 = await exportRegister(ectx, { register: 'restore-tests', format: 'csv', timezone: 'UTC' });
    expect(csv12.split('\r\n')[0]).toBe('Cliente,Fecha,Trimestre,Backup Usado,Ambiente,Tiempo Restore (min),Registros Verificados,Ejecutado Por,Verificado Por (QA),Resultado,Observaciones,Firma QA (Ed25519),Clave,Cadena #,Hash Cadena');
    expect(csv12.split('\r\n')[1]).toMatch(new RegExp(`^demo,2026-03-15,Q1,backup_2026-03-08_03-00-00.sql.gz,Test,3.5,lotes:200 movimientos:1000,U0OPER,Quality Person 2026-03-15 13:00,OK,,[A-Za-z0-9+/=]{88},${signer.keyId},1,[0-9a-f]{64}$`));
    const json = JSON.parse(await exportRegister(ectx, { register: 'backups', format: 'json', timezone: 'UTC', client: 'demo' })) as unknown[];
    expect(json).toHaveLength(2);
    expect(quarterOf(new Date('2026-12-31T23:30:00Z'), 'America/Argentina/Buenos_Aires')).toBe('2026-Q4');
  });
});
