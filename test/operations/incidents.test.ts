import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { FakeClock, testContext, type TestContext } from '../helpers/context.js';
import { addIncident, completeIncident, listClientIncidents } from '../../src/operations/incidents.js';
import { exportRegister } from '../../src/operations/export-register.js';
import { verifyEvidence } from '../../src/evidence/verify.js';
import { listAudit } from '../../src/store/audit.js';
import { insertBackup } from '../../src/store/backup-register.js';

let db: TestDatabase;
let ctx: TestContext;
const clock = new FakeClock(new Date('2026-03-02T04:00:00Z'));
const who = { actor: 'U0OPER', actorName: 'Olga Operator' };

beforeAll(async () => {
  db = await createTestDatabase('bbt_incidents');
  ctx = await testContext(testConfig({ stateUrl: db.url }), { clock });
});
afterAll(async () => {
  await ctx?.close();
  await db?.drop();
});

const count = async (sql: string, params: unknown[] = []) => Number((await ctx.pool.query(sql, params)).rows[0].n);

describe('the §13.5 incident register', () => {
  test('an alert opens an incident; resolving it keeps the history; a person adds the cause and the fix and closes it', async () => {
    const alert = (await ctx.store.alerts.open({ client: 'demo', kind: 'backup', severity: 'S2', message: 'S2 — backups of demo need attention: the last backup run failed', at: clock.now() }))!;
    expect(alert.incident_id).toMatch(/^\d+$/);
    // Posted once per incident: a second opening of the same kind records nothing.
    expect(await ctx.store.alerts.open({ client: 'demo', kind: 'backup', message: 'again', at: clock.now() })).toBeUndefined();
    expect(await count('SELECT count(*) AS n FROM restore_incidents')).toBe(1);

    clock.advance(3_600_000);
    const resolved = await ctx.store.alerts.resolve('demo', clock.now(), 'resolved by backup demo/backup_x.sql.gz', ['backup']);
    expect(resolved).toHaveLength(1);
    let [row] = await listClientIncidents(ctx, 'demo');
    expect(row).toMatchObject({ id: alert.incident_id, status: 'resolved', severity: 'S2', source: `alert:${alert.id}`, cause: '', corrective_actions: '' });

    clock.advance(60_000);
    row = await completeIncident(ctx, { client: 'demo', incidentId: alert.incident_id!, cause: 'disk full on the NAS', ...who });
    expect(row).toMatchObject({ status: 'resolved', cause: 'disk full on the NAS' });
    await expect(completeIncident(ctx, { client: 'demo', incidentId: alert.incident_id!, close: true, ...who })).rejects.toThrow(/cannot be closed without the corrective action, the responsible/);
    row = await completeIncident(ctx, { client: 'demo', incidentId: alert.incident_id!, correctiveActions: 'alert at 80 % disk', responsible: 'Olga Operator', close: true, ...who });
    expect(row).toMatchObject({ status: 'closed', cause: 'disk full on the NAS', corrective_actions: 'alert at 80 % disk', responsible: 'Olga Operator' });
    expect(new Date(row.closed_at!).toISOString()).toBe(clock.now().toISOString());
    const history = await ctx.store.incidents.history(alert.incident_id!);
    expect(history.map((h) => h.status)).toEqual(['open', 'resolved', 'resolved', 'closed']);
    expect((await listAudit(ctx.pool, { action: 'incident.closed' })).map((a) => a.target)).toEqual([`incident:${alert.incident_id}`]);
  });

  test('closed twice: refused with the date it was closed, nothing appended', async () => {
    const [closed] = await listClientIncidents(ctx, 'demo');
    const before = await count('SELECT count(*) AS n FROM restore_incidents');
    await expect(completeIncident(ctx, { client: 'demo', incidentId: closed!.id, cause: 'x', correctiveActions: 'y', responsible: 'z', close: true, ...who }))
      .rejects.toThrow(/incident \d+ of demo was already closed on 2026-03-02 05:01.*Nothing was changed/);
    // An alert resolution arriving after a person closed it changes nothing either.
    expect(await ctx.store.incidents.update(closed!.id, { at: clock.now(), status: 'resolved', note: 'late', recordedBy: 'backup-bot' })).toMatchObject({ ok: false, reason: 'closed' });
    expect(await count('SELECT count(*) AS n FROM restore_incidents')).toBe(before);
  });

  test('two closes at once: one is recorded, the other refused', async () => {
    const inc = await addIncident(ctx, { client: 'demo', description: 'users saw old data', ...who });
    const close = () => completeIncident(ctx, { client: 'demo', incidentId: inc.id, cause: 'c', correctiveActions: 'a', responsible: 'r', close: true, ...who });
    const results = await Promise.allSettled([close(), close()]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((await ctx.store.incidents.history(inc.id)).filter((h) => h.status === 'closed')).toHaveLength(1);
  });

  test('an incident for an unknown client, or of another client, or an empty description: refused, nothing recorded', async () => {
    const before = await count('SELECT count(*) AS n FROM restore_incidents');
    await expect(addIncident(ctx, { client: 'nope', description: 'x', ...who })).rejects.toThrow(/unknown client "nope" \(configured clients: demo\)/);
    await expect(addIncident(ctx, { client: 'demo', description: '   ', ...who })).rejects.toThrow(/description is empty/);
    await expect(completeIncident(ctx, { client: 'demo', incidentId: '999999', cause: 'x', ...who })).rejects.toThrow(/there is no incident 999999 of demo/);
    await expect(completeIncident(ctx, { client: 'demo', incidentId: '1; DROP', cause: 'x', ...who })).rejects.toThrow(/named by its number/);
    expect(await count('SELECT count(*) AS n FROM restore_incidents')).toBe(before);
  });

  test('the export (CSV and JSON) has the SOP columns, the history, and the chain still verifies (added columns keep old hashes)', async () => {
    const inc = await addIncident(ctx, { client: 'demo', description: 'a reason with <!channel> and *markup*', severity: 'S1', ...who });
    // A §11 row written without the columns added later, and one with them: both verify.
    await insertBackup(ctx.pool, { client: 'demo', takenAt: clock.now(), type: 'manual', file: 'b.sql.gz', key: 'demo/b.sql.gz', verified: true, executedBy: 'x', result: 'OK' });
    const csv = await exportRegister(ctx, { register: 'incidents', client: 'demo', format: 'csv', timezone: 'UTC' });
    const [head, ...lines] = csv.trim().split('\r\n');
    expect(head).toBe('Incidente,Fecha,Sistema,Descripcion del Incidente,Backup Usado,Tiempo de Recuperacion (min),Datos Perdidos,Causa,Acciones Correctivas,Responsable,Fecha Cierre,Estado,Severidad,Origen,Cadena #,Hash Cadena');
    expect(lines.length).toBe(3);
    expect(lines[0]).toContain('disk full on the NAS,alert at 80 % disk,Olga Operator,2026-03-02 05:01,Cerrado,S2,alert:');
    expect(csv).toContain('a reason with <!channel> and *markup*');
    const json = JSON.parse(await exportRegister(ctx, { register: 'incidents', client: 'demo', format: 'json', timezone: 'UTC' }));
    expect(json.find((j: { id: string }) => j.id === inc.id)).toMatchObject({ status: 'open', severity: 'S1', source: 'manual' });
    expect(json[0].history.map((h: { status: string }) => h.status)).toEqual(['open', 'resolved', 'resolved', 'closed']);
    const report = await verifyEvidence(ctx.store, ctx.signer);
    expect(report.broken).toEqual([]);
  });

  test('an edit of a later entry (the cause) is detected by evidence verify', async () => {
    const [first] = await listClientIncidents(ctx, 'demo');
    const entry = (await ctx.store.incidents.history(first!.id)).find((h) => h.cause)!;
    await ctx.pool.query('ALTER TABLE restore_incidents DISABLE TRIGGER restore_incidents_append_only');
    await ctx.pool.query('UPDATE restore_incidents SET cause = $2 WHERE id = $1', [entry.id, 'nothing happened']);
    await ctx.pool.query('ALTER TABLE restore_incidents ENABLE TRIGGER restore_incidents_append_only');
    const report = await verifyEvidence(ctx.store, ctx.signer);
    expect(report.broken).toEqual([expect.objectContaining({ register: 'restore_incidents', id: entry.id, what: 'edited' })]);
  });
});
