import { startBot, type Bot } from '../slack/harness.js';
import { insertBackup } from '../../src/store/backup-register.js';
import { insertRestoreTest } from '../../src/store/restore-test-register.js';
import { listAudit } from '../../src/store/audit.js';

let bot: Bot;
beforeAll(async () => { bot = await startBot(); });
afterAll(async () => { await bot?.close(); });

test('/backup log demo: the section 11, 12 and 13.5 registers as three CSV files posted to the channel', async () => {
  const pool = bot.pool;
  await insertBackup(pool, { client: 'demo', takenAt: new Date('2026-01-06T03:00:00Z'), type: 'scheduled', file: 'backup_2026-01-06_03-00-00.sql.gz', key: 'demo/backup_2026-01-06_03-00-00.sql.gz', sizeBytes: 2048, verified: true, executedBy: 'schedule', result: 'OK', sha256: 'f'.repeat(64) });
  await insertRestoreTest(pool, { client: 'demo', testedAt: new Date('2026-01-07T10:00:00Z'), backupUsed: 'backup_2026-01-06_03-00-00.sql.gz', restoreMinutes: 2.5, recordsVerified: { lotes: 200 }, executedBy: 'Olga Operator', result: 'OK' });
  const alert = (await bot.server.ctx.store.alerts.open({ client: 'demo', kind: 'restore_test', severity: 'S2', message: 'S2 — restore test of demo failed', at: new Date('2026-01-08T05:00:00Z') }))!;
  const res = await bot.slash('log demo', { channel: 'C0AUDIT' });
  const resA = await res.answer();
  expect(res.ms).toBeLessThan(3000);
  expect(resA.text).toContain('Posting the registers of *demo*');
  await bot.server.slack!.background.idle(30_000);
  const files = bot.emu.files.filter((f) => f.channel === 'C0AUDIT');
  expect(files).toHaveLength(3);
  const [backups, tests, incidents] = files;
  expect(backups!.filename).toMatch(/^demo_registro-backups_\d{4}-\d{2}-\d{2}\.csv$/);
  expect(backups!.content.split('\r\n')[0]).toBe('Cliente,Fecha,Hora,Tipo,Archivo,Tamano,Verificado,Ejecutado Por,Resultado,Observaciones,SHA256,Tablas,Ubicaciones,Cadena #,Hash Cadena');
  expect(backups!.content).toContain('demo,2026-01-06,03:00,Auto,backup_2026-01-06_03-00-00.sql.gz');
  expect(tests!.filename).toMatch(/^demo_registro-pruebas-restore_/);
  expect(tests!.content.split('\r\n')[0]).toContain('Trimestre,Backup Usado,Ambiente,Tiempo Restore (min)');
  expect(tests!.content).toContain('lotes:200');
  expect(incidents!.filename).toMatch(/^demo_historial-incidentes_\d{4}-\d{2}-\d{2}\.csv$/);
  expect(incidents!.content.split('\r\n')[0]).toContain('Incidente,Fecha,Sistema,Descripcion del Incidente,Backup Usado,Tiempo de Recuperacion (min),Datos Perdidos,Causa,Acciones Correctivas,Responsable,Fecha Cierre,Estado');
  expect(incidents!.content).toContain(`${alert.incident_id},2026-01-08 05:00,demo,S2 — restore test of demo failed`);
  expect(bot.emu.callsTo('files.completeUploadExternal')).toHaveLength(3);
});

test('upload fails (bot not in the channel): the requester is told why, through response_url', async () => {
  const responseUrl = bot.emu.responseUrl();
  bot.emu.fault('files.completeUploadExternal', { kind: 'error', error: 'not_in_channel' }, 1);
  await bot.slash('log demo', { channel: 'C0PRIVATE', responseUrl });
  await bot.server.slack!.background.idle(30_000);
  const r = bot.emu.responses.get(responseUrl.split('/').pop()!)!;
  expect(r.bodies[0].text).toContain('Posting the registers of *demo*');
  expect(r.bodies.at(-1).text).toContain('could not be posted: not_in_channel');
  expect(r.bodies.at(-1).text).toContain('/invite');
});

test('refusal: no role on the client → polite refusal, audited, no file', async () => {
  const before = bot.emu.files.length;
  const res = await bot.slash('log demo', { user: 'U0STRANGER' });
  const resA = await res.answer();
  expect(resA.text).toContain('Sorry, there is no client "demo" on which you hold a role, so you cannot export the registers of it');
  await bot.server.slack!.background.idle(5000);
  expect(bot.emu.files).toHaveLength(before);
  expect((await listAudit(bot.pool, { action: 'authz.refused' })).some((a) => a.actor === 'U0STRANGER')).toBe(true);
});
