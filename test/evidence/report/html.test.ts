import { renderReportHtml } from '../../../src/evidence/report/html.js';
import { parseEvidenceReportData } from '../../../src/evidence/report/model.js';
import { XSS_AUDIT_REASON, XSS_OBSERVATION, XSS_REASON, makeFixture } from './fixture.js';

/** The HTML as text: self-contained, escaped, both languages, the SOP's column names; the model's validation. */

test('self-contained: nothing to load, a CSP that forbids loading anything anyway', () => {
  const { data } = makeFixture();
  for (const lang of ['es', 'en'] as const) {
    const html = renderReportHtml(data, { lang });
    expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="(es|en)">/);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">`);
    for (const bad of [/<script/i, /<link/i, /<img/i, /<iframe/i, /<[a-z][^>]*\ssrc=/i, /url\(/i, /@import/i, /@font-face/i]) expect(html).not.toMatch(bad);
    for (const m of html.matchAll(/href="([^"]*)"/g)) expect(m[1]).toMatch(/^#[a-z0-9-]+$/);
    expect(html).toContain('@page { size: A4 portrait;');
    expect(html).toContain('@page registers { size: A4 landscape;');
  }
});

test('what people typed is escaped, in tables and in chart labels', () => {
  const { data } = makeFixture();
  const html = renderReportHtml(data, { lang: 'es' });
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  for (const s of [XSS_REASON, XSS_OBSERVATION, XSS_AUDIT_REASON]) {
    expect(html).not.toContain(s);
    expect(html).toContain(esc(s));
  }
  expect(html).not.toContain('<h1 id="injected">');
  // A client name goes into attributes, headings and the SVG.
  const evil = parseEvidenceReportData(data);
  evil.clients[0]!.client = '"><svg onload=alert(1)>';
  const out = renderReportHtml(evil, { lang: 'en' });
  expect(out).not.toContain('<svg onload');
  expect(out).toContain('data-client="&quot;&gt;&lt;svg onload=alert(1)&gt;"');
  // The period label also goes into the CSS of the page footer: it cannot close the style element.
  evil.meta.period.label = '</style><script>window.__pwned=4</script>"';
  const css = renderReportHtml(evil, { lang: 'en' });
  expect(css).not.toMatch(/<script/i);
  expect(css.match(/<\/style>/g)).toHaveLength(1);
  // Characters XML cannot carry are replaced, not passed through.
  evil.clients[0]!.backups[0]!.observations = 'nul\u0000 bell\u0007 ok';
  expect(renderReportHtml(evil, { lang: 'en' })).toContain('nul\uFFFD bell\uFFFD ok');
});

test('labels in Spanish or English; the SOP registers keep the SOP\'s Spanish column names in both', () => {
  const { data } = makeFixture();
  const es = renderReportHtml(data, { lang: 'es' });
  const en = renderReportHtml(data, { lang: 'en' });
  expect(es).toContain('<h3>Resumen</h3>');
  expect(en).toContain('<h3>Summary</h3>');
  expect(es).toContain('RPO cumplido');
  expect(en).toContain('RPO met');
  expect(es).toContain('Página ');
  expect(en).toContain('"Page "');
  const headers = (html: string, section: string) => {
    const start = html.indexOf(`data-section="${section}"`);
    const thead = html.slice(html.indexOf('<thead>', start), html.indexOf('</thead>', start));
    return [...thead.matchAll(/<th>([^<]*)<\/th>/g)].map((m) => m[1]);
  };
  const sop11 = ['Fecha', 'Hora', 'Tipo', 'Archivo', 'Tamano', 'Verificado', 'Ejecutado Por', 'Resultado', 'Observaciones'];
  const sop12 = ['Fecha', 'Trimestre', 'Backup Usado', 'Ambiente', 'Tiempo Restore', 'Registros Verificados', 'Ejecutado Por', 'Verificado Por (QA)', 'Resultado', 'Observaciones'];
  const sop135 = ['Fecha', 'Descripcion del Incidente', 'Backup Usado', 'Tiempo de Recuperacion', 'Datos Perdidos', 'Acciones Correctivas'];
  for (const [html, integrity] of [[es, 'Integridad'], [en, 'Integrity']] as const) {
    expect(headers(html, 'backups')).toEqual([...sop11, 'SHA256', 'Ubicaciones', integrity]);
    expect(headers(html, 'restore-tests')).toEqual([...sop12, integrity]);
    expect(headers(html, 'incidents')).toEqual([...sop135, integrity]);
  }
  expect(headers(es, 'approvals')[0]).toBe('Solicitud');
  expect(headers(en, 'approvals')[0]).toBe('Request');
});

test('the model is validated: an error names each key path and what is accepted, and nothing is rendered', () => {
  const { data } = makeFixture();
  const bad = JSON.parse(JSON.stringify(data)) as Record<string, any>;
  bad.clients[0].rpoMs = -1;
  bad.clients[1].backups[0].result = 'Maybe';
  bad.meta.signingKey.publicKeyPem = 'not a key';
  expect(() => renderReportHtml(bad as never, { lang: 'es' })).toThrow(/invalid evidence report data: .*meta\.signingKey\.publicKeyPem: a PEM public key/);
  expect(() => renderReportHtml(bad as never, { lang: 'es' })).toThrow(/clients\.0\.rpoMs: .*>0/);
  expect(() => renderReportHtml(bad as never, { lang: 'es' })).toThrow(/clients\.1\.backups\.0\.result: .*"OK"\|"Error"|clients\.1\.backups\.0\.result: .*expected one of/);
  const reversed = JSON.parse(JSON.stringify(data)) as Record<string, any>;
  reversed.meta.period = { from: '2026-04-01T00:00:00Z', to: '2026-01-01T00:00:00Z' };
  expect(() => renderReportHtml(reversed as never, { lang: 'es' })).toThrow('meta.period: period.from must be before period.to');
  const broken = JSON.parse(JSON.stringify(data)) as Record<string, any>;
  broken.clients[0].backups[0].verification = { status: 'broken', reasons: [] };
  expect(() => renderReportHtml(broken as never, { lang: 'es' })).toThrow(/clients\.0\.backups\.0\.verification\.reasons/);
});
