/** @needs slow */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';

/** `backup-bot incident add|close|list`, `register incidents`, and `backup --type pre-change --ticket --reason` (the compiled CLI). */
let state: TestDatabase;
let src: TestDatabase;
let cfg: string;
const cli = (...args: string[]) => runCli(['--config', cfg, ...args]);
async function count(sql: string): Promise<number> {
  const c = new pg.Client({ connectionString: state.url });
  await c.connect();
  try { return Number((await c.query(sql)).rows[0].n); } finally { await c.end(); }
}

beforeAll(async () => {
  state = await createTestDatabase('bbcinc');
  src = await createTestDatabase('bbcincsrc');
  await fillSampleDatabase(src.url);
  const dir = mkdtempSync(join(tmpdir(), 'clii-'));
  cfg = join(dir, 'backup-bot.yml');
  writeFileSync(cfg, `
timezone: UTC
state: { url: "${state.url}" }
storage:
  nas: { type: local, path: "${join(dir, 'nas')}" }
clients:
  demo:
    database: { engine: postgres, url: "${src.url}" }
    storage: [nas]
    verify: { minTables: 4 }
`);
});
afterAll(async () => {
  await src?.drop();
  await state?.drop();
});

test('backup --type pre-change: without --ticket or --reason exit 2 and nothing runs; with them, §11 shows the ticket and the reason', async () => {
  const missing = await cli('backup', 'demo', '--type', 'pre-change', '--reason', 'Flyway V42');
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('--type pre-change needs --ticket T (the change it precedes) and --reason R (SOP-001 §7.1); nothing was started');
  const noReason = await cli('backup', 'demo', '--type', 'pre-change', '--ticket', 'CHG-7');
  expect(noReason.code).toBe(2);
  expect(noReason.stderr).toContain('--reason: missing');
  const stray = await cli('backup', 'demo', '--ticket', 'CHG-7');
  expect(stray.code).toBe(2);

  const ok = await cli('--json', 'backup', 'demo', '--type', 'pre-change', '--ticket', 'CHG-7', '--reason', 'Actualización Spring Boot 3.3 <!here>');
  expect(ok.code).toBe(0);
  expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, verified: true, type: 'pre-change', ticket: 'CHG-7', reason: 'Actualización Spring Boot 3.3 <!here>' });
  // The refused commands ran nothing: the only backup run is this one.
  expect(await count("SELECT count(*) AS n FROM backup_bot.runs WHERE kind = 'backup'")).toBe(1);
  const csv = await cli('register', 'backups', '--client', 'demo');
  expect(csv.stdout).toContain('Manual (pre-cambio)');
  expect(csv.stdout).toContain('Ticket CHG-7: Actualización Spring Boot 3.3 <!here>');
}, 60_000);

test('incident add | close | list, and register incidents (CSV and JSON)', async () => {
  const unknown = await cli('incident', 'add', 'nope', '--description', 'x');
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/unknown client "nope" \(configured clients: demo\)/);

  const added = await cli('--json', 'incident', 'add', 'demo', '--description', 'users saw stale data after the import', '--severity', 'S1');
  expect(added.code).toBe(0);
  const { incident } = JSON.parse(added.stdout);
  expect(incident).toMatchObject({ client: 'demo', status: 'open', severity: 'S1', description: 'users saw stale data after the import' });

  const incomplete = await cli('incident', 'close', 'demo', incident.id, '--cause', 'import job ran twice');
  expect(incomplete.code).toBe(2);
  expect(incomplete.stderr).toMatch(/cannot be closed without the corrective action, the responsible/);
  const kept = await cli('incident', 'close', 'demo', incident.id, '--cause', 'import job ran twice', '--keep-open');
  expect(kept.stdout).toContain(`incident ${incident.id} of demo: open`);
  const closed = await cli('incident', 'close', 'demo', incident.id, '--action', 'lock on the import job', '--responsible', 'Olga Operator');
  expect(closed.code).toBe(0);
  expect(closed.stdout).toContain(`incident ${incident.id} of demo: closed`);
  const twice = await cli('incident', 'close', 'demo', incident.id, '--cause', 'c', '--action', 'a', '--responsible', 'r');
  expect(twice.code).toBe(2);
  expect(twice.stderr).toMatch(/already closed on \d{4}-\d{2}-\d{2} \d{2}:\d{2}/);

  const list = await cli('incident', 'list', 'demo');
  expect(list.stdout).toContain(`#${incident.id}`);
  expect(list.stdout).toContain('cause: import job ran twice · CAPA: lock on the import job · responsible: Olga Operator');
  const csv = await cli('register', 'incidents', '--client', 'demo');
  expect(csv.code).toBe(0);
  expect(csv.stdout.split('\n')[0]).toMatch(/^Incidente,Fecha,Sistema,Descripcion del Incidente,/);
  expect(csv.stdout).toMatch(/users saw stale data after the import,,,,import job ran twice,lock on the import job,Olga Operator,\d{4}-\d{2}-\d{2} \d{2}:\d{2},Cerrado,S1,manual/);
  const json = JSON.parse((await cli('register', 'incidents', '--format', 'json')).stdout);
  expect(json[0].history.map((h: { status: string }) => h.status)).toEqual(['open', 'open', 'closed']);
}, 60_000);
