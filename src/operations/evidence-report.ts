import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Context } from '../context.js';
import { errorMessage, OperationError, UserError } from '../core/errors.js';
import { makeOwnedTempDir, removeOwnedTempDir, removeStaleOwnedTempDirs } from '../core/owned-temp-dir.js';
import { renderReportHtml } from '../evidence/report/html.js';
import type { Lang } from '../evidence/report/labels.js';
import { parseEvidenceReportData, type EvidenceReportData } from '../evidence/report/model.js';
import { renderReportPdf } from '../evidence/report/pdf.js';
import { sha256Line, DEFAULT_SIGNATURE_FILES } from '../evidence/report/verify-commands.js';
import { evidencePackEntries, writeEvidenceZip, type ZipEntry } from '../evidence/report/zip.js';
import type { RunTrigger } from '../store/runs.js';
import { CHAIN_NAMES, chainContent, type ChainName, type ChainRow } from '../store/chain.js';
import { checkEvidence } from './check-evidence.js';
import { gatherEvidenceReport } from './evidence-report-data.js';
import type { ReportPeriod } from './evidence-period.js';

/**
 * The inspector's evidence pack (issue 19), one use case for the CLI (`backup-bot evidence report`), Slack
 * (`/backup report`) and the monthly job: `evidence verify` first (an S1 alert when it fails, the chain heads
 * signed when it holds), then the registers of the period, and in `outDir`:
 *
 *   report.html (+ .sha256, .sig)   the self-contained report, signed with the bot's Ed25519 key
 *   report.pdf  (+ .sha256, .sig)   the same report printed by headless Chromium, showing report.html's sha256 and signature
 *   signing-key.pem                 the public key both signatures verify with (openssl pkeyutl -verify … -rawin)
 *   evidence.zip (+ .sha256, .sig)  the report, every register as CSV and JSON, chains/ (each row's hashes and canonical
 *                                   content), the public key(s), SHA256SUMS, README.txt
 *
 * Everything is made in a temporary directory beside the output (`.evidence-report.partial-<host>-<pid>-XXXXXX`)
 * and moved in only when all of it exists, so a failure (Chromium missing, disk full, cancelled) leaves no
 * half-made pack under the final names; one left by a killed run is removed by the next pack made there; the run row
 * (kind job, details.job evidence-report) names the step that failed. The pack is recorded in the audit log.
 */
export interface EvidencePackInput {
  period: ReportPeriod;
  client?: string;
  lang: Lang;
  outDir: string;
  actor: string;
  trigger: RunTrigger;
  /** Absolute path of Chromium (default: found on the machine). */
  chromiumPath?: string;
  signal?: AbortSignal;
}

export interface EvidencePackResult {
  outDir: string;
  files: { html: string; pdf: string; zip: string; publicKey: string };
  reportSha256: string;
  signatureBase64: string;
  pdfSha256: string;
  zipSha256: string;
  keyId: string;
  period: { from: string; to: string; label: string };
  evidence: { ok: boolean; summary: string };
  brokenRows: number;
  runId: string;
}

const PARTIAL_PREFIX = '.evidence-report.partial-';

const PACK_FILES = {
  html: DEFAULT_SIGNATURE_FILES.report, publicKey: DEFAULT_SIGNATURE_FILES.publicKey, pdf: 'report.pdf', zip: 'evidence.zip',
} as const;

function botVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * chains/<chain>.jsonl for evidence.zip: every chained row the report shows (and the events and signatures about
 * them), with its place, hashes and canonical content as recomputed from the row now, so an inspector can redo
 * `sha256(prev_hash + "\n" + content)` and compare with row_hash (an edited row does not match).
 */
async function chainEntries(ctx: Pick<Context, 'store'>, data: EvidenceReportData): Promise<ZipEntry[]> {
  const ids = (rows: Array<{ id: string }>) => new Set(rows.map((r) => r.id));
  const cs = data.clients;
  const backups = ids(cs.flatMap((c) => c.backups));
  const tests = ids(cs.flatMap((c) => c.restoreTests));
  const approvals = ids(cs.flatMap((c) => c.approvals));
  const shown: Partial<Record<ChainName, Set<string>>> = {
    backup_register: backups, restore_test_register: tests, approvals, restore_incidents: ids(cs.flatMap((c) => c.incidents)),
    audit_log: ids([...cs.flatMap((c) => c.audit), ...data.generalAudit]),
  };
  const keep = (chain: ChainName, r: ChainRow): boolean => {
    if (chain === 'backup_register_events') return backups.has(String(r.backup_id));
    if (chain === 'signatures') {
      const [kind, id] = String(r.subject).split(':');
      return kind === 'approval' ? approvals.has(id ?? '') : kind === 'restore_test' && tests.has(id ?? '');
    }
    return shown[chain]?.has(String(r.id)) ?? false;
  };
  const out: ZipEntry[] = [];
  for (const chain of CHAIN_NAMES) {
    const rows = (await ctx.store.chains.read(chain)).filter((r) => keep(chain, r));
    const lines = rows.map((r) => JSON.stringify({ id: r.id, chain_seq: r.chain_seq, prev_hash: r.prev_hash, row_hash: r.row_hash, content: r.chain_seq === null ? null : chainContent(chain, r) }));
    out.push({ name: `chains/${chain}.jsonl`, data: lines.length ? `${lines.join('\n')}\n` : '' });
  }
  return out;
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** A file, its `sha256sum -c` line and its raw Ed25519 signature, written into dir. */
async function writeSigned(ctx: Pick<Context, 'signer'>, dir: string, name: string, bytes: Buffer): Promise<{ sha256: string; signature: string }> {
  const hex = sha256(bytes);
  const signature = ctx.signer.signBytes(bytes);
  await writeFile(join(dir, name), bytes, { mode: 0o644 });
  await writeFile(join(dir, `${name}.sha256`), sha256Line(hex, name), { mode: 0o644 });
  await writeFile(join(dir, `${name}.sig`), Buffer.from(signature, 'base64'), { mode: 0o644 });
  return { sha256: hex, signature };
}

const brokenRowsOf = (data: EvidenceReportData) => [...data.clients.flatMap((c) => [...c.backups, ...c.restoreTests, ...c.incidents, ...c.approvals, ...c.audit]), ...data.generalAudit]
  .filter((r) => r.verification.status === 'broken').length;

interface Made { html: { sha256: string; signature: string }; pdf: { sha256: string }; zip: { sha256: string } }

/** The pack's files in `work`: the signed HTML, the PDF printed from it (showing its sha256 and signature), the zip. */
async function makeFiles(ctx: Context, work: string, data: EvidenceReportData, input: EvidencePackInput, mark: (s: string) => Promise<void>): Promise<Made> {
  const html = Buffer.from(renderReportHtml(data, { lang: input.lang }), 'utf8');
  const signedHtml = await writeSigned(ctx, work, PACK_FILES.html, html);
  await writeFile(join(work, PACK_FILES.publicKey), data.meta.signingKey.publicKeyPem, { mode: 0o644 });

  await mark('pdf');
  const pdfHtml = renderReportHtml(data, { lang: input.lang, signature: { reportSha256: signedHtml.sha256, signatureBase64: signedHtml.signature } });
  await renderReportPdf(pdfHtml, join(work, 'report.pdf.tmp'), { chromiumPath: input.chromiumPath, signal: input.signal });
  const pdf = await readFile(join(work, 'report.pdf.tmp'));
  await rm(join(work, 'report.pdf.tmp'));
  const signedPdf = await writeSigned(ctx, work, PACK_FILES.pdf, pdf);

  await mark('zip');
  const extra = await Promise.all([`${PACK_FILES.html}.sha256`, `${PACK_FILES.html}.sig`, `${PACK_FILES.pdf}.sha256`, `${PACK_FILES.pdf}.sig`]
    .map(async (name) => ({ name, data: await readFile(join(work, name)) })));
  const entries = evidencePackEntries({ data, html: html.toString('utf8'), pdf, extra: [...extra, ...await chainEntries(ctx, data)] });
  await writeEvidenceZip(join(work, 'zip.tmp'), entries, { mtime: ctx.clock.now() });
  const zip = await readFile(join(work, 'zip.tmp'));
  await rm(join(work, 'zip.tmp'));
  const signedZip = await writeSigned(ctx, work, PACK_FILES.zip, zip);
  return { html: signedHtml, pdf: signedPdf, zip: signedZip };
}

/** Moves the pack's files in, only now that every one exists (the zip last: it is what most people take). */
async function publish(work: string, outDir: string): Promise<void> {
  const names = [PACK_FILES.publicKey, ...[PACK_FILES.html, PACK_FILES.pdf, PACK_FILES.zip].flatMap((n) => [`${n}.sha256`, `${n}.sig`, n])];
  for (const n of names) await rename(join(work, n), join(outDir, n));
}

export async function makeEvidencePack(ctx: Context, input: EvidencePackInput): Promise<EvidencePackResult> {
  if (input.client !== undefined) ctx.client(input.client);
  const outDir = resolve(input.outDir);
  const run = await ctx.store.runs.start({
    kind: 'job', client: input.client ?? null, actor: input.actor, trigger: input.trigger, instance: ctx.instance, startedAt: ctx.clock.now(),
    details: { job: 'evidence-report', from: input.period.from.toISOString(), to: input.period.to.toISOString(), label: input.period.label, lang: input.lang },
  });
  let step = 'verify';
  const mark = async (s: string) => { step = s; await ctx.store.runs.step(run.id, s, undefined, ctx.clock.now()); };
  let work: string | undefined;
  try {
    const evidence = await checkEvidence(ctx, { reason: 'report', actor: input.actor });
    await mark('gather');
    const data = parseEvidenceReportData(await gatherEvidenceReport(ctx, { period: input.period, client: input.client, evidence, botVersion: botVersion() }));
    const brokenRows = brokenRowsOf(data);
    await mark('sign');
    await mkdir(outDir, { recursive: true });
    await removeStaleOwnedTempDirs(outDir, PARTIAL_PREFIX);
    work = await makeOwnedTempDir(outDir, PARTIAL_PREFIX);
    const made = await makeFiles(ctx, work, data, input, mark);
    await mark('publish');
    // Two packs written to the same directory at once (two operators, the same --out) move in one after the other, never mixed.
    const w = work;
    await ctx.store.withLock('evidence-report', outDir, () => publish(w, outDir), { wait: true });
    const result: EvidencePackResult = {
      outDir,
      files: { html: join(outDir, PACK_FILES.html), pdf: join(outDir, PACK_FILES.pdf), zip: join(outDir, PACK_FILES.zip), publicKey: join(outDir, PACK_FILES.publicKey) },
      reportSha256: made.html.sha256, signatureBase64: made.html.signature, pdfSha256: made.pdf.sha256, zipSha256: made.zip.sha256,
      keyId: ctx.signer.keyId, period: { from: data.meta.period.from, to: data.meta.period.to, label: input.period.label },
      evidence: { ok: evidence.ok, summary: evidence.summary }, brokenRows, runId: run.id,
    };
    await ctx.store.audit.append({
      actor: input.actor, action: 'evidence.report', client: input.client ?? null, target: `evidence-report:${input.period.label}`, reason: evidence.summary,
      details: { from: result.period.from, to: result.period.to, lang: input.lang, reportSha256: result.reportSha256, pdfSha256: result.pdfSha256, zipSha256: result.zipSha256, keyId: result.keyId, brokenRows, run: run.id },
    });
    await ctx.store.runs.finish(run.id, { status: 'ok', at: ctx.clock.now(), details: { reportSha256: result.reportSha256, zipSha256: result.zipSha256, brokenRows, evidenceOk: evidence.ok } });
    return result;
  } catch (err) {
    await ctx.store.runs.finish(run.id, { status: 'failed', error: `${step}: ${errorMessage(err)}`, at: ctx.clock.now() }).catch(() => undefined);
    if (err instanceof UserError || err instanceof OperationError) throw err;
    throw new OperationError(`the evidence report could not be made (step ${step}): ${errorMessage(err)}`, { cause: err });
  } finally {
    if (work) await removeOwnedTempDir(work);
  }
}
