import { formatDuration } from '../../config/duration.js';
import { OperationError } from '../../core/errors.js';
import { formatBytes, formatDate, formatTime } from '../../core/time.js';
import { escapeXml } from '../chart/escape.js';
import { ageChart, rtoChart, sizeAndDurationCharts } from './charts.js';
import { labels, SOP_BACKUP_COLUMNS, SOP_INCIDENT_COLUMNS, SOP_RESTORE_TEST_COLUMNS, type Lang } from './labels.js';
import { parseEvidenceReportData, type AuditRow, type ClientEvidence, type EvidenceReportData, type EvidenceReportInput, type RowVerification } from './model.js';
import { summarizeClient, type ClientSummary } from './summary.js';
import { DEFAULT_SIGNATURE_FILES, verificationCommands, type SignatureFiles } from './verify-commands.js';

/**
 * The inspector's evidence report as one self-contained HTML file (issue 19): no external fonts, scripts,
 * stylesheets or images (a Content-Security-Policy says so to the browser as well), inline CSS that prints
 * on A4 (summary and charts portrait, registers landscape, page numbers in the margin), charts as inline
 * SVG. Every value from the data is HTML-escaped by the `html` template tag; only the chart SVG made by
 * ../chart/svg-chart.ts (itself escaping every text) is inserted as markup.
 */

interface ReportSignatureInput {
  /** File names the verification commands use (defaults: report.html, report.html.sha256, report.html.sig, signing-key.pem). */
  files?: Partial<SignatureFiles>;
  /** The report's SHA-256 (hex) and signature (base64), when known: e.g. in the PDF made after report.html was signed. */
  reportSha256?: string;
  signatureBase64?: string;
}

export interface RenderReportOptions {
  lang: Lang;
  signature?: ReportSignatureInput;
}

class Raw {
  constructor(readonly html: string) {}
}
const raw = (s: string) => new Raw(s);
function part(v: unknown): string {
  if (v instanceof Raw) return v.html;
  if (Array.isArray(v)) return v.map(part).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeXml(v);
}
/** Template tag: every interpolated value is escaped unless it is Raw (made by this tag or by raw()). */
function html(strings: TemplateStringsArray, ...values: unknown[]): Raw {
  let out = strings[0]!;
  values.forEach((v, i) => { out += part(v) + strings[i + 1]!; });
  return new Raw(out);
}

/** A CSS string literal (for @page margin boxes): quotes, backslashes, newlines and `<` escaped. */
function cssString(s: string): string {
  return `"${s.replace(/[\\"<>\r\n\u0000-\u001f]/g, (ch) => `\\${ch.charCodeAt(0).toString(16)} `)}"`;
}

export function renderReportHtml(input: EvidenceReportInput | EvidenceReportData, options: RenderReportOptions): string {
  const data = parseEvidenceReportData(input);
  const lang: Lang = options.lang === 'en' ? 'en' : 'es';
  const L = labels(lang);
  const tz = data.meta.timezone;
  const dt = (iso: string | null | undefined) => (iso ? `${formatDate(new Date(iso), tz)} ${formatTime(new Date(iso), tz)}` : '');
  const d = (iso: string) => formatDate(new Date(iso), tz);
  const nf = new Intl.NumberFormat(lang === 'es' ? 'es-AR' : 'en-GB', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
  const intFmt = new Intl.NumberFormat(lang === 'es' ? 'es-AR' : 'en-GB', { maximumFractionDigits: 2 });
  const periodText = `${d(data.meta.period.from)} – ${d(new Date(Date.parse(data.meta.period.to) - 1).toISOString())}${data.meta.period.label ? ` (${data.meta.period.label})` : ''}`;
  const summaries = data.clients.map((c) => summarizeClient(c, data.meta));
  const brokenTotal = summaries.reduce((n, s) => n + s.brokenRows, 0) + data.generalAudit.filter((r) => r.verification.status === 'broken').length;
  const integrityOk = data.meta.verification.ok && brokenTotal === 0 && data.integrityIssues.length === 0;

  const status = (v: RowVerification) => v.status === 'intact'
    ? html`<td class="st ok">✓ ${L.intact}</td>`
    : html`<td class="st bad">✕ ${L.broken}: ${v.reasons.join('; ')}</td>`;
  const rowClass = (v: RowVerification) => (v.status === 'broken' ? raw(' class="broken"') : raw(''));
  const table = (cls: string, headers: readonly string[], rows: Raw[]) => rows.length === 0
    ? html`<p class="empty">${L.emptyRegister}</p>`
    : html`<table class="register ${cls}"><thead><tr>${headers.map((h) => html`<th>${h}</th>`)}<th>${L.integrityColumn}</th></tr></thead><tbody>${rows}</tbody></table>`;

  const typeLabel: Record<string, string> = { scheduled: 'Auto', manual: 'Manual', 'pre-change': 'Manual (pre-cambio)', 'pre-restore': 'Manual (pre-restore)' };

  const backupRegister = (c: ClientEvidence) => table('backups', [...SOP_BACKUP_COLUMNS, 'SHA256', 'Ubicaciones'], c.backups.map((b) => html`
    <tr${rowClass(b.verification)} data-row="backup:${b.id}">
      <td class="nw">${d(b.takenAt)}</td><td class="nw">${formatTime(new Date(b.takenAt), tz)}</td><td>${typeLabel[b.type] ?? b.type}</td>
      <td class="file">${b.file ?? ''}</td><td class="nw num">${b.sizeBytes === null ? '' : formatBytes(b.sizeBytes)}</td>
      <td>${b.verified ? 'Si' : 'No'}</td><td>${b.executedBy}</td><td class="${b.result === 'OK' ? 'ok' : 'bad'}">${b.result}</td>
      <td class="text">${[b.observations, b.deletedAt ? `eliminado por retencion ${d(b.deletedAt)}` : ''].filter(Boolean).join('; ')}</td>
      <td class="mono">${b.sha256 ?? ''}</td><td>${b.locations.map((l) => `${l.destination}:${l.ok ? 'ok' : 'error'}`).join(' ')}</td>
      ${status(b.verification)}</tr>`));

  const qaCell = (t: ClientEvidence['restoreTests'][number]) => {
    if (t.qaSignature) return html`${t.qaSignature.signerName} ${dt(t.qaSignature.signedAt)}<br><span class="small">${L.qaSigned} · key ${t.qaSignature.keyId}</span>`;
    if (t.verifiedByQa) return html`${t.verifiedByQa} ${dt(t.verifiedByQaAt)}<br><span class="small bad">${L.qaNotSigned}</span>`;
    return '';
  };
  const restoreTestRegister = (c: ClientEvidence) => table('restore-tests', SOP_RESTORE_TEST_COLUMNS, c.restoreTests.map((t) => html`
    <tr${rowClass(t.verification)} data-row="restore-test:${t.id}">
      <td class="nw">${d(t.testedAt)}</td><td>${t.quarter.replace(/^\d{4}-/, '')}</td><td class="file">${t.backupUsed ?? ''}</td><td>${t.environment}</td>
      <td class="nw num">${t.restoreMinutes === null ? '' : `${intFmt.format(t.restoreMinutes)} min`}</td>
      <td>${Object.entries(t.recordsVerified).map(([k, v]) => `${k}:${typeof v === 'number' ? v : v.staging}`).join(' ')}</td>
      <td>${t.executedBy}</td><td>${qaCell(t)}</td><td class="${t.result === 'OK' ? 'ok' : 'bad'}">${t.result}</td>
      <td class="text">${t.observations}${t.checks.length ? html`<ul class="checks">${t.checks.map((k) => html`<li class="${k.ok ? 'ok' : 'bad'}">${k.ok ? '✓' : '✕'} ${k.name}${k.detail ? `: ${k.detail}` : ''}</li>`)}</ul>` : ''}</td>
      ${status(t.verification)}</tr>`));

  const incidentRegister = (c: ClientEvidence) => table('incidents', SOP_INCIDENT_COLUMNS, c.incidents.map((i) => html`
    <tr${rowClass(i.verification)} data-row="incident:${i.id}">
      <td class="nw">${dt(i.at)}</td><td class="text">${i.description}</td><td class="file">${i.backupUsed ?? ''}</td>
      <td class="nw num">${i.recoveryMinutes === null ? '' : `${intFmt.format(i.recoveryMinutes)} min`}</td>
      <td class="text">${i.dataLost}</td><td class="text">${i.correctiveActions}</td>${status(i.verification)}</tr>`));

  const approvalRegister = (c: ClientEvidence) => table('approvals', L.approvalColumns, c.approvals.map((a) => html`
    <tr${rowClass(a.verification)} data-row="approval:${a.id}">
      <td>#${a.id}</td><td class="nw">${dt(a.requestedAt)}</td><td>${a.requestedByName ?? a.requestedBy}<br><span class="small">${a.requestedBy}</span></td>
      <td>${a.scope}${a.tables.length ? `: ${a.tables.join(', ')}` : ''}</td><td class="file">${a.backup}</td><td class="text">${a.reason}</td><td>${a.ticket ?? ''}</td>
      <td>${a.decision ?? ''}${a.rejectReason ? html`<br><span class="text">${a.rejectReason}</span>` : ''}</td>
      <td>${a.signature ? html`${a.signature.signerName} (${a.signature.role ?? ''})<br><span class="small">${a.signature.signerId} · key ${a.signature.keyId}</span>` : ''}</td>
      <td class="nw">${dt(a.signature?.signedAt)}</td><td>${a.status}</td><td class="text">${a.outcome}</td>${status(a.verification)}</tr>`));

  const details = (r: AuditRow) => {
    const s = Object.keys(r.details).length ? JSON.stringify(r.details) : '';
    return s.length > 400 ? `${s.slice(0, 400)}… ${L.detailsTruncated}` : s;
  };
  const auditRegister = (rows: AuditRow[]) => table('audit', L.auditColumns, rows.map((r) => html`
    <tr${rowClass(r.verification)} data-row="audit:${r.id}">
      <td class="nw">${dt(r.at)}</td><td>${r.actor}</td><td>${r.action}</td><td>${r.target ?? ''}</td><td class="text">${r.reason ?? ''}</td>
      <td class="mono">${details(r)}</td>${status(r.verification)}</tr>`));

  const summary = (c: ClientEvidence, s: ClientSummary) => html`
    <div class="figures">
      <div class="figure ${s.rpo.percent !== null && s.rpo.percent >= 100 ? 'good' : 'warn'}"><div class="big">${s.rpo.percent === null ? '—' : `${nf.format(s.rpo.percent)} %`}</div>
        <div>${L.rpoMet}</div><div class="small">${L.rpoMetHelp(formatDuration(c.rpoMs))}; ${L.rpoMeasured(dt(s.window.until.toISOString()))}</div></div>
      <div class="figure"><div class="big">${s.backups.taken}</div><div>${L.backups} ${L.taken}</div>
        <div class="small">${s.backups.verified} ${L.verified} · <span class="${s.backups.failed ? 'bad' : ''}">${s.backups.failed} ${L.failed}</span> · ${s.backups.unverified} ${L.unverified}</div></div>
      <div class="figure ${s.incidents.open ? 'warn' : ''}"><div class="big">${s.incidents.open} / ${s.incidents.closed}</div><div>${L.incidents} ${L.open} / ${L.closed}</div>
        <div class="small">${s.incidents.restoreIncidents} ${L.restoreIncidents}</div></div>
      <div class="figure ${s.brokenRows ? 'bad-fig' : 'good'}"><div class="big">${s.brokenRows}</div><div>${L.brokenRows}</div><div class="small">/ ${s.rows}</div></div>
    </div>
    <table class="kv"><tbody>
      <tr><th>${L.maxAge}</th><td>${s.rpo.maxAgeMs === null ? '—' : formatDuration(s.rpo.maxAgeMs)} (RPO ${formatDuration(c.rpoMs)})</td></tr>
      <tr><th>${L.noBackupTime}</th><td>${formatDuration(s.rpo.noBackupMs)}</td></tr>
      <tr><th>${L.rto}</th><td>${formatDuration(c.rtoMs)} · ${s.overRto} ${L.overRto}</td></tr>
    </tbody></table>
    <h4>${L.restoreTestsPerQuarter}</h4>
    <table class="plain"><thead><tr><th>${L.quarter}</th><th>${L.tests}</th><th>${L.ok}</th><th>${L.failed}</th><th>${L.qaSignatures}</th><th>max min</th></tr></thead><tbody>
      ${s.quarters.map((q) => html`<tr${q.tests === 0 ? raw(' class="missing"') : raw('')}><td>${q.quarter}</td><td>${q.tests === 0 ? html`0 <span class="bad">(${L.noTestInQuarter})</span>` : q.tests}</td><td>${q.ok}</td><td>${q.failed}</td>
        <td>${q.qaSigned}/${q.tests}${q.qaSigners.length ? ` — ${q.qaSigners.join(', ')}` : ''}</td><td>${q.maxMinutes === null ? '' : intFmt.format(q.maxMinutes)}</td></tr>`)}
    </tbody></table>
    <h4>${L.productionRestores}</h4>
    ${s.productionRestores.length === 0 ? html`<p class="empty">${L.none}</p>` : html`<table class="plain"><thead><tr><th>${L.request}</th><th>${L.requestedBy}</th><th>${L.decidedBy}</th><th>${L.decision}</th><th>${L.status}</th></tr></thead><tbody>
      ${s.productionRestores.map((p) => html`<tr><td>#${p.id} · ${dt(p.requestedAt)}</td><td>${p.requestedBy}</td><td>${p.decidedBy ?? ''}${p.decidedRole ? ` (${p.decidedRole})` : ''}</td><td>${p.decision ?? ''}</td><td>${p.status}${p.outcome && p.outcome !== p.status ? ` — ${p.outcome}` : ''}</td></tr>`)}
    </tbody></table>`}`;

  const clientSection = (c: ClientEvidence, s: ClientSummary, i: number) => {
    const id = `c${i + 1}`;
    const [sizeSvg, durationSvg] = sizeAndDurationCharts(c, data.meta, L);
    return html`
    <section class="client" id="${id}" data-section="client" data-client="${c.client}">
      <h2>${L.client}: ${c.client}</h2>
      <section id="${id}-summary" data-section="summary"><h3>${L.summary}</h3>${summary(c, s)}</section>
      <section id="${id}-charts" data-section="charts"><h3>${L.charts}</h3>
        <figure><figcaption>${L.chartSizeDuration}</figcaption>${raw(sizeSvg!)}${raw(durationSvg!)}</figure>
        <figure><figcaption>${L.chartAge}</figcaption>${raw(ageChart(c, s, data.meta, L))}</figure>
        <figure><figcaption>${L.chartRto}</figcaption>${raw(rtoChart(c, data.meta, L))}</figure>
      </section>
      <section class="registers" id="${id}-backups" data-section="backups"><h3>${c.client} · ${L.registerBackups}</h3>${backupRegister(c)}</section>
      <section class="registers" id="${id}-restore-tests" data-section="restore-tests"><h3>${c.client} · ${L.registerRestoreTests}</h3>${restoreTestRegister(c)}</section>
      <section class="registers" id="${id}-incidents" data-section="incidents"><h3>${c.client} · ${L.registerIncidents}</h3>${incidentRegister(c)}</section>
      <section class="registers" id="${id}-approvals" data-section="approvals"><h3>${c.client} · ${L.registerApprovals}</h3>${approvalRegister(c)}</section>
      <section class="registers" id="${id}-audit" data-section="audit"><h3>${c.client} · ${L.registerAudit}</h3>${auditRegister(c.audit)}</section>
    </section>`;
  };

  const sig = options.signature ?? {};
  if (sig.reportSha256 !== undefined && !/^[0-9a-f]{64}$/.test(sig.reportSha256)) throw new OperationError('signature.reportSha256 must be 64 lower-case hex digits');
  if (sig.signatureBase64 !== undefined && !/^[A-Za-z0-9+/]+={0,2}$/.test(sig.signatureBase64)) throw new OperationError('signature.signatureBase64 must be base64');
  const files = { ...DEFAULT_SIGNATURE_FILES, ...sig.files };
  const commands = verificationCommands(files);
  const keys = [{ ...data.meta.signingKey, current: true }, ...data.meta.previousKeys.map((k) => ({ ...k, current: false }))];
  const registerName: Record<string, string> = { backups: L.registerBackups, restoreTests: L.registerRestoreTests, incidents: L.registerIncidents, approvals: L.registerApprovals, audit: L.registerAudit };

  const body = html`
<header id="cover" data-section="cover">
  <h1>${L.title}</h1>
  <p class="subtitle">${L.subtitle}</p>
  <table class="kv"><tbody>
    <tr><th>${L.period}</th><td>${periodText}</td></tr>
    <tr><th>${L.generatedAt}</th><td>${dt(data.meta.generatedAt)} (${tz})</td></tr>
    <tr><th>${L.timezone}</th><td>${tz}</td></tr>
    <tr><th>${L.botVersion}</th><td>${data.meta.botVersion}</td></tr>
    <tr><th>${L.signingKey}</th><td class="cover-key">${data.meta.signingKey.keyId}</td></tr>
    <tr><th>${L.clients}</th><td>${data.clients.map((c) => c.client).join(', ')}</td></tr>
    <tr><th>${L.integrityCheck}</th><td>${dt(data.meta.verification.checkedAt)} — ${data.meta.verification.summary}</td></tr>
  </tbody></table>
  <p class="banner ${integrityOk ? 'good' : 'bad-banner'}" data-integrity="${integrityOk ? 'ok' : 'broken'}">${integrityOk ? `✓ ${L.integrityOk}` : `✕ ${L.integrityBroken}`}</p>
</header>
<nav id="contents" data-section="contents"><h2>${L.contents}</h2><ol>
  ${data.clients.map((c, i) => html`<li><a href="#c${i + 1}">${L.client}: ${c.client}</a> — <a href="#c${i + 1}-summary">${L.summary}</a> · <a href="#c${i + 1}-charts">${L.charts}</a> · <a href="#c${i + 1}-backups">§11</a> · <a href="#c${i + 1}-restore-tests">§12</a> · <a href="#c${i + 1}-incidents">§13.5</a> · <a href="#c${i + 1}-approvals">${L.registerApprovals}</a> · <a href="#c${i + 1}-audit">${L.registerAudit}</a></li>`)}
  ${data.generalAudit.length ? html`<li><a href="#general-audit">${L.generalAudit}</a></li>` : ''}
  <li><a href="#integrity">${L.integritySection}</a></li>
  <li><a href="#signature">${L.signatureSection}</a></li>
</ol></nav>
<main>
${data.clients.map((c, i) => clientSection(c, summaries[i]!, i))}
${data.generalAudit.length ? html`<section class="registers" id="general-audit" data-section="general-audit"><h2>${L.generalAudit}</h2>${auditRegister(data.generalAudit)}</section>` : ''}
<section id="integrity" data-section="integrity"><h2>${L.integritySection}</h2>
  <p>${dt(data.meta.verification.checkedAt)} — ${data.meta.verification.summary}</p>
  ${data.integrityIssues.length === 0 ? html`<p class="good">${L.noIntegrityIssues}</p>` : html`<table class="plain issues"><thead><tr>${L.integrityIssueColumns.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>
    ${data.integrityIssues.map((x) => html`<tr class="broken"><td>${registerName[x.register] ?? x.register}</td><td>${x.client ?? ''}</td><td>${x.id ?? ''}</td><td class="bad">${x.what}</td><td class="text">${x.detail}</td></tr>`)}
  </tbody></table>`}
</section>
<section id="signature" data-section="signature"><h2>${L.signatureSection}</h2>
  <p>${L.signatureIntro}</p>
  <table class="kv"><tbody>
    <tr><th>${L.reportSha256}</th><td class="cover-key brk" data-field="report-sha256">${sig.reportSha256 ?? L.inFile(files.sha256)}</td></tr>
    <tr><th>${L.reportSignature}</th><td class="cover-key brk" data-field="report-signature">${sig.signatureBase64 ?? L.inFile(files.signature)}</td></tr>
    <tr><th>${L.signingKey}</th><td class="cover-key">${data.meta.signingKey.keyId} — ${L.inFile(files.publicKey)}</td></tr>
  </tbody></table>
  <h3>${L.commands}</h3>
  <pre class="commands" data-field="commands">${sig.signatureBase64 ? `# ${L.recreateSig}\necho '${sig.signatureBase64}' | base64 -d > ${files.signature}\n` : ''}${commands.map((c) => c.display).join('\n')}</pre>
  <h3>${L.publicKeys}</h3>
  ${keys.map((k) => html`<p class="small">${k.keyId} · ${k.algorithm} · ${k.current ? L.current : `${L.retired} ${dt(k.retiredAt)}`}</p><pre class="pem">${k.publicKeyPem}</pre>`)}
</section>
</main>`;

  const footerLeft = cssString(`backup-bot · ${periodText}`);
  const footerRight = `${cssString(`${L.page} `)} counter(page) ${cssString(` ${L.of} `)} counter(pages)`;
  return `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="backup-bot ${escapeXml(data.meta.botVersion)}">
<title>${escapeXml(`${L.title} · ${periodText}`)}</title>
<style>${css(footerLeft, footerRight)}</style>
</head>
<body>${body.html}
</body>
</html>
`;
}

function css(footerLeft: string, footerRight: string): string {
  return `
@page { size: A4 portrait; margin: 14mm 12mm 16mm 12mm;
  @bottom-left { content: ${footerLeft}; font: 7pt 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; color: #666; }
  @bottom-right { content: ${footerRight}; font: 7pt 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; color: #666; } }
@page registers { size: A4 landscape; margin: 12mm 12mm 14mm 12mm; }
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 9pt/1.35 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; color: #111; background: #fff; margin: 0; }
@media screen { body { max-width: 1120px; margin: 0 auto; padding: 16px; } }
h1 { font-size: 16pt; margin: 0 0 2mm; } h2 { font-size: 13pt; margin: 5mm 0 2mm; border-bottom: 1pt solid #333; }
h3 { font-size: 10.5pt; margin: 4mm 0 1.5mm; } h4 { font-size: 9.5pt; margin: 3mm 0 1mm; }
.subtitle { color: #555; margin: 0 0 4mm; }
table { border-collapse: collapse; }
table.kv th { text-align: left; font-weight: normal; color: #555; padding: 1px 8px 1px 0; vertical-align: top; }
table.kv td { padding: 1px 0; }
table.plain, table.register { width: 100%; }
table.plain th, table.plain td, table.register th, table.register td { border: 0.5pt solid #bbb; padding: 1.5px 3px; vertical-align: top; text-align: left; overflow-wrap: break-word; }
table.register th { hyphens: none; }
table.plain thead th, table.register thead th { background: #eee; }
table.register { font-size: 7pt; line-height: 1.25; }
thead { display: table-header-group; }
tr, figure, .figure { break-inside: avoid; }
h2, h3, h4, figcaption { break-after: avoid; }
.mono, pre { font-family: 'DejaVu Sans Mono', 'Liberation Mono', monospace; }
td.mono { font-size: 6pt; word-break: break-all; width: 34mm; }
td.file { word-break: break-all; width: 30mm; }
td.text, .text { white-space: pre-wrap; overflow-wrap: break-word; }
td.text { overflow-wrap: anywhere; min-width: 36mm; }
.brk { word-break: break-all; }
.cover-key { font-family: 'DejaVu Sans Mono', 'Liberation Mono', monospace; }
td.num { text-align: right; }
.nw { white-space: nowrap; }
.small { font-size: 7pt; color: #555; }
.ok { color: #1b6e2e; } .bad { color: #b00020; }
td.st { white-space: nowrap; } td.st.bad { white-space: normal; font-weight: bold; }
tr.broken td { background: #fdecea; }
tr.missing td { background: #fff6e0; }
ul.checks { margin: 1px 0 0; padding-left: 10px; }
.figures { display: flex; gap: 3mm; margin: 2mm 0 3mm; }
.figure { flex: 1; border: 0.5pt solid #bbb; border-radius: 2mm; padding: 2mm; }
.figure .big { font-size: 16pt; font-weight: bold; }
.figure.good { border-color: #1b6e2e; } .figure.warn { border-color: #c77c00; } .figure.bad-fig { border-color: #b00020; background: #fdecea; }
.banner { padding: 2mm 3mm; border-radius: 1.5mm; font-weight: bold; }
.banner.good { background: #e7f4ea; color: #1b6e2e; } .banner.bad-banner { background: #fdecea; color: #b00020; }
p.good { color: #1b6e2e; }
.empty { color: #666; font-style: italic; }
figure { margin: 2mm 0 4mm; } figcaption { font-weight: bold; margin-bottom: 1mm; }
figure svg { display: block; width: 100%; height: auto; max-width: 180mm; }
pre { font-size: 7.5pt; white-space: pre-wrap; word-break: break-all; background: #f5f5f5; padding: 2mm; border: 0.5pt solid #ddd; }
nav ol { padding-left: 5mm; } nav a { color: #0b4f8a; text-decoration: none; }
section.client { break-before: page; }
section.registers { page: registers; }
section.registers h3 { margin-top: 0; }
#integrity, #signature { break-before: page; }
@media print { a { color: inherit; } }
`;
}
