import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { renderReportHtml } from '../../../src/evidence/report/html.js';
import { evidencePackEntries, writeEvidenceZip } from '../../../src/evidence/report/zip.js';
import { BROKEN_BACKUP_ID, BROKEN_REASON, XSS_REASON, makeFixture } from './fixture.js';

/** evidence.zip, read back with Info-ZIP's unzip and checked with coreutils' sha256sum. */

const run = promisify(execFile);
let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'report-zip-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const FAKE_PDF = new Uint8Array(Buffer.from('%PDF-1.4\n% not a real pdf\n'));

test('the pack holds the report, every register as CSV and JSON, the keys, SHA256SUMS and a README; unzip and sha256sum agree', async () => {
  const { data } = makeFixture();
  const html = renderReportHtml(data, { lang: 'es' });
  const out = join(dir, 'evidence.zip');
  const entries = evidencePackEntries({ data, html, pdf: FAKE_PDF, extra: [{ name: 'report.html.sha256', data: 'x' }] });
  const { bytes, sha256 } = await writeEvidenceZip(out, entries, { mtime: new Date('2026-04-01T07:00:00Z') });
  expect((await stat(out)).size).toBe(bytes);
  expect(sha256).toMatch(/^[0-9a-f]{64}$/);

  expect((await run('unzip', ['-tq', out])).stdout).toMatch(/No errors detected/);
  const names = (await run('unzip', ['-Z1', out])).stdout.trim().split('\n').sort();
  expect(names).toEqual([
    'README.txt', 'SHA256SUMS', 'keys/ed25519_0a1b2c3d.pem', 'keys/ed25519_7f3c9a1b.pem',
    ...['approvals', 'audit', 'backups', 'incidents', 'restore-tests'].flatMap((r) => [`registers/${r}.csv`, `registers/${r}.json`]),
    'report.html', 'report.html.sha256', 'report.pdf', 'signing-key.pem',
  ].sort());

  const x = join(dir, 'x');
  await mkdir(x);
  await run('unzip', ['-q', out, '-d', x]);
  expect(await readFile(join(x, 'report.html'), 'utf8')).toBe(html);
  expect(await readFile(join(x, 'report.pdf'))).toEqual(Buffer.from(FAKE_PDF));
  expect(await readFile(join(x, 'signing-key.pem'), 'utf8')).toBe(data.meta.signingKey.publicKeyPem);
  expect((await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: x })).stdout.trim().split('\n')).toHaveLength(entries.length - 2);

  const csv = await readFile(join(x, 'registers/backups.csv'), 'utf8');
  expect(csv.split('\r\n')[0]).toBe('Cliente,Fecha,Hora,Tipo,Archivo,Tamano,Verificado,Ejecutado Por,Resultado,Observaciones,SHA256,Tablas,Ubicaciones,Duracion (s),Id,Hash de Cadena,Integridad');
  expect(csv.split('\r\n').filter(Boolean)).toHaveLength(1 + data.clients.reduce((n, c) => n + c.backups.length, 0));
  expect(csv).toContain(`,${BROKEN_BACKUP_ID},`);
  expect(csv).toContain(`roto: ${BROKEN_REASON}`);
  const incidentsCsv = await readFile(join(x, 'registers/incidents.csv'), 'utf8');
  expect(incidentsCsv.split('\r\n')[0]).toBe('Cliente,Fecha,Descripcion del Incidente,Backup Usado,Tiempo de Recuperacion,Datos Perdidos,Acciones Correctivas,Aprobacion,Id,Hash de Cadena,Integridad');
  const approvals = JSON.parse(await readFile(join(x, 'registers/approvals.json'), 'utf8')) as Array<{ id: string; client: string; reason: string }>;
  expect(approvals.map((a) => a.id)).toEqual(['6', '7', '8']);
  expect(approvals[2]!.reason).toBe(XSS_REASON);
  const audit = JSON.parse(await readFile(join(x, 'registers/audit.json'), 'utf8')) as Array<{ id: string; client: string | null }>;
  expect(audit.filter((a) => a.client === null).map((a) => a.id)).toEqual(['5001', '5002']);
  expect(await readFile(join(x, 'README.txt'), 'utf8')).toContain('openssl pkeyutl -verify -pubin -inkey signing-key.pem -rawin -in report.html -sigfile report.html.sig');
});

test('the same entries give the same bytes', async () => {
  const entries = [{ name: 'a.txt', data: 'hello' }, { name: 'd/b.pdf', data: FAKE_PDF }];
  const a = await writeEvidenceZip(join(dir, 'a.zip'), entries, { mtime: new Date('2026-04-01T07:00:00Z') });
  const b = await writeEvidenceZip(join(dir, 'b.zip'), entries, { mtime: new Date('2026-04-01T07:00:00Z') });
  expect(a.sha256).toBe(b.sha256);
});

test.each([
  ['../escape.txt', /zip entry name "\.\.\/escape\.txt" is not accepted/],
  ['/etc/passwd', /zip entry name "\/etc\/passwd" is not accepted/],
  ['a\\b', /is not accepted/],
  ['dir/', /is not accepted/],
  ['', /is not accepted/],
])('a bad entry name (%j) is refused and nothing is written', async (name, message) => {
  const out = join(dir, 'bad.zip');
  await expect(writeEvidenceZip(out, [{ name: 'ok.txt', data: 'x' }, { name, data: 'y' }])).rejects.toThrow(message);
  await expect(stat(out)).rejects.toThrow(/ENOENT/);
});

test('a name given twice, or no entry at all, is refused', async () => {
  await expect(writeEvidenceZip(join(dir, 'dup.zip'), [{ name: 'a', data: 'x' }, { name: 'a', data: 'y' }])).rejects.toThrow('zip entry "a" is given twice');
  await expect(writeEvidenceZip(join(dir, 'none.zip'), [])).rejects.toThrow('an evidence zip needs at least one entry');
});

test('a write that fails leaves neither the zip nor a partial file', async () => {
  const out = join(dir, 'no-such-dir', 'evidence.zip');
  await expect(writeEvidenceZip(out, [{ name: 'a', data: 'x' }])).rejects.toThrow(/could not write .*no-such-dir\/evidence\.zip: ENOENT/);
  // The final name is taken by a directory: the rename fails after the temporary file was written.
  const taken = join(dir, 'taken.zip');
  await mkdir(taken);
  await expect(writeEvidenceZip(taken, [{ name: 'a', data: 'x' }])).rejects.toThrow(/could not write .*taken\.zip/);
  expect((await stat(taken)).isDirectory()).toBe(true);
  expect((await readdir(dir)).filter((n) => n.includes('partial'))).toEqual([]);
});
