import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { zipSync, type Zippable } from 'fflate';
import { OperationError } from '../../core/errors.js';
import { parseEvidenceReportData, type EvidenceReportData, type EvidenceReportInput } from './model.js';
import { registerFiles } from './registers.js';
import { DEFAULT_SIGNATURE_FILES, verificationCommands, type SignatureFiles } from './verify-commands.js';

/**
 * evidence.zip (issue 19), written with fflate: no dependencies, TypeScript types included, in-memory (an
 * evidence pack is a few MB), and entry times set by us so the same inputs give the same bytes. Written to a
 * temporary name beside the target and renamed, so a failure never leaves a half-written zip under the final
 * name.
 */

export interface ZipEntry { name: string; data: string | Uint8Array }

const ALREADY_COMPRESSED = /\.(pdf|png|zip|gz)$/i;

function checkNames(entries: ZipEntry[]): void {
  const seen = new Set<string>();
  for (const e of entries) {
    const n = e.name;
    const bad = n.length === 0 || n.length > 255 || n.startsWith('/') || n.includes('\\') || n.includes('\0') || n.endsWith('/')
      || n.split('/').some((p) => p === '' || p === '.' || p === '..');
    if (bad) throw new OperationError(`zip entry name "${n}" is not accepted: a relative path of 1–255 characters with "/" between non-empty parts, no "..", "." or backslash`);
    if (seen.has(n)) throw new OperationError(`zip entry "${n}" is given twice`);
    seen.add(n);
  }
}

/** Writes the entries as one zip at outPath (replacing it only once complete); returns its size and sha256. */
export async function writeEvidenceZip(outPath: string, entries: ZipEntry[], opts: { mtime?: Date } = {}): Promise<{ bytes: number; sha256: string }> {
  if (entries.length === 0) throw new OperationError('an evidence zip needs at least one entry');
  checkNames(entries);
  const mtime = opts.mtime ?? new Date();
  const tree: Zippable = {};
  for (const e of entries) {
    const bytes = typeof e.data === 'string' ? new TextEncoder().encode(e.data) : e.data;
    tree[e.name] = [bytes, { mtime, level: ALREADY_COMPRESSED.test(e.name) ? 0 : 6 }];
  }
  const zip = zipSync(tree);
  const tmp = `${outPath}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(zip);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, outPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new OperationError(`could not write ${outPath}: ${(err as Error).message}`, { cause: err });
  }
  return { bytes: zip.length, sha256: createHash('sha256').update(zip).digest('hex') };
}

const safeKeyName = (keyId: string) => keyId.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100) || 'key';

/**
 * Everything evidence.zip holds: the report (HTML and PDF), each register as CSV and JSON, the public key
 * (as the file name the verification commands use, and every key under keys/), SHA256SUMS of all of it and
 * a README with the offline checks. `extra` adds files (the report's .sha256 and .sig, made by the signer).
 */
export function evidencePackEntries(o: {
  data: EvidenceReportInput | EvidenceReportData;
  html: string;
  pdf?: Uint8Array;
  files?: Partial<SignatureFiles>;
  extra?: ZipEntry[];
}): ZipEntry[] {
  const data = parseEvidenceReportData(o.data);
  const files = { ...DEFAULT_SIGNATURE_FILES, ...o.files };
  const pdfName = files.report.replace(/\.html?$/i, '') + '.pdf';
  const entries: ZipEntry[] = [{ name: files.report, data: o.html }];
  if (o.pdf) entries.push({ name: pdfName, data: o.pdf });
  entries.push(...registerFiles(data));
  entries.push({ name: files.publicKey, data: data.meta.signingKey.publicKeyPem });
  for (const k of [data.meta.signingKey, ...data.meta.previousKeys]) entries.push({ name: `keys/${safeKeyName(k.keyId)}.pem`, data: k.publicKeyPem });
  entries.push(...(o.extra ?? []));
  const sums = entries.map((e) => `${createHash('sha256').update(e.data).digest('hex')}  ${e.name}\n`).join('');
  const cmds = verificationCommands(files).map((c) => `  ${c.display}`).join('\n');
  const readme = [
    `backup-bot evidence pack · ${data.meta.period.from} – ${data.meta.period.to} · generated ${data.meta.generatedAt} · backup-bot ${data.meta.botVersion}`,
    '',
    `${files.report}, ${pdfName}: the report (ES/EN). registers/: §11 backups, §12 restore tests, §13.5 incidents, approvals, audit log (CSV and JSON).`,
    `${files.publicKey}: public key ${data.meta.signingKey.keyId} (Ed25519); keys/: every key, retired ones included.`,
    ...(entries.some((e) => e.name.startsWith('chains/')) ? [
      'chains/<register>.jsonl: each row of the pack as the hash chain holds it (id, chain_seq, prev_hash, row_hash, canonical content);',
      '  recompute a row\'s hash without the bot: printf \'%s\\n%s\' "$prev_hash" "$content" | sha256sum   (must equal row_hash)',
    ] : []),
    '',
    'Check every file of this pack / Verificar cada archivo:',
    '  sha256sum -c SHA256SUMS',
    'Check the report\'s signature / Verificar la firma del informe (OpenSSL 3):',
    cmds,
    '',
  ].join('\n');
  entries.push({ name: 'SHA256SUMS', data: sums }, { name: 'README.txt', data: readme });
  return entries;
}
