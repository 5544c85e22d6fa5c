/** @needs slow */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, runCli } from '../helpers/cli.js';
import { asSuperuser, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { testSigningKeyPath } from '../helpers/signing-key.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { formatDate } from '../../src/core/time.js';
import { requestRestore, REQUESTER_CHECKLIST_IDS } from '../../src/operations/request-restore.js';
import { decideRestore } from '../../src/operations/decide-restore.js';
import { qaVerifyRestoreTest } from '../../src/operations/qa-verify.js';
import { makeEvidencePack } from '../../src/operations/evidence-report.js';
import { reportPeriod } from '../../src/operations/evidence-period.js';
import { makeVerifiedBackup } from '../operations/restore-fixtures.js';
import { launchChromium } from '../evidence/report/chromium-page.js';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { processesWith } from '../helpers/processes.js';

/**
 * `backup-bot evidence report` (compiled CLI) on a real state database: the pack's files, the report's signature
 * and sha256 checked offline with openssl / sha256sum (and failing after one changed byte), the PDF read back with
 * pdftotext, evidence.zip unpacked with unzip and checked with its SHA256SUMS; a register row edited as the
 * superuser shows as broken in the HTML and the PDF (exit 1, S1 alert); usage mistakes exit 2 and write nothing;
 * a PDF that cannot be made leaves no file under a final name and a failed run naming the step.
 */
const run = promisify(execFile);
let state: TestDatabase;
let prod: TestDatabase;
let dir: string;
let cfg: string;
let ctx: TestContext;
let approvalId: string;
let backupIds: string[];
const today = formatDate(new Date(), 'UTC');
const squash = (s: string) => s.replace(/\s+/g, '');


function sh(argv: string[], cwd: string): { code: number | null; out: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(async () => {
  state = await createTestDatabase('bbt_evrep');
  prod = await createTestDatabase('bbt_evrep_prod');
  await fillSampleDatabase(prod.url);
  dir = mkdtempSync(join(tmpdir(), 'bbt-evrep-'));
  cfg = join(dir, 'backup-bot.yml');
  writeFileSync(cfg, `state: { url: "${state.url}" }\nlocale: es\nstorage:\n  local: { type: local, path: "${dir}/store" }\nclients:\n  demo:\n    database: { engine: postgres, url: "${prod.url}" }\n    storage: [local]\n    rpo: 1d\n    roles: { systemOwners: [U0OWNER], operators: [U0OPER], qa: [U0QA] }\nevidence: { signingKey: "${testSigningKeyPath()}" }\n`);
  ctx = await testContext(testConfig({ stateUrl: state.url, demoUrl: prod.url, storageDir: join(dir, 'store') }));
  const b1 = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: join(dir, 'store'), takenAt: new Date(Date.now() - 2 * 3_600_000) });
  const b2 = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: join(dir, 'store'), takenAt: new Date(Date.now() - 3_600_000) });
  const failed = await ctx.store.backups.insert({ client: 'demo', takenAt: new Date(Date.now() - 90 * 60_000), type: 'scheduled', executedBy: 'schedule', result: 'Error', verified: false, observations: 'pg_dump: connection refused' });
  backupIds = [b1.id, b2.id, failed.id];
  const t = await ctx.store.restoreTests.insert({ client: 'demo', testedAt: new Date(Date.now() - 30 * 60_000), backupUsed: b2.file, restoreMinutes: 3.5, recordsVerified: { lote: 12 }, executedBy: 'Olga Operator', result: 'OK', observations: 'quarterly test' });
  const qa = await qaVerifyRestoreTest(ctx, { registerId: t.id, userId: 'U0QA', userName: 'Quique QA' });
  if (!qa.ok) throw new Error(qa.reason);
  const r = await requestRestore(ctx, { client: 'demo', backupId: b2.id, scope: 'full', reason: 'inspector pack request', checklist: REQUESTER_CHECKLIST_IDS, requestedBy: 'U0OPER' });
  if (!r.ok) throw new Error(r.message);
  approvalId = r.approval.id;
  const d = await decideRestore(ctx, { approvalId, userId: 'U0OWNER', userName: 'Sofía Owner', meaning: 'approved', typedClient: 'demo', statementTicked: true });
  if (!d.ok) throw new Error(d.message);
}, 120_000);
afterAll(async () => {
  await ctx?.close();
  await state?.drop();
  await prod?.drop();
  rmSync(dir, { recursive: true, force: true });
});

test('the pack: files, signatures checked offline (and failing after one byte), the PDF text, the zip and its sums, the audit entry', async () => {
  const out = join(dir, 'pack');
  const r = await runCli(['evidence', 'report', '--config', cfg, '--from', today, '--to', today, '--out', out], { timeoutMs: 180_000 });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`evidence report ${today} – ${today} written to ${out}`);
  expect(r.stdout).toMatch(/evidence intact: /);
  expect(readdirSync(out).sort()).toEqual(['evidence.zip', 'evidence.zip.sha256', 'evidence.zip.sig', 'report.html', 'report.html.sha256', 'report.html.sig',
    'report.pdf', 'report.pdf.sha256', 'report.pdf.sig', 'signing-key.pem']);

  // The config's locale (es) is the default language; every register row is in the report, intact.
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  expect(html).toContain('<html lang="es">');
  for (const id of backupIds) expect(html).toMatch(new RegExp(`<tr data-row="backup:${id}">`));
  expect(html).toContain(`data-row="approval:${approvalId}"`);
  expect(html).toContain('data-integrity="ok"');
  expect(html).toContain('Quique QA');
  expect(html).not.toContain('class="broken"');

  // In real headless Chromium: every section, no console error, no request but the file, a screenshot with ink.
  const browser = await launchChromium();
  try {
    const url = pathToFileURL(join(out, 'report.html')).href;
    const page = await browser.open(url);
    expect(page.consoleErrors).toEqual([]);
    expect(page.blocked).toEqual([]);
    expect(page.requests.every((u) => u === url)).toBe(true);
    const sections = await page.evaluate<string[]>(`[...document.querySelectorAll('[data-section]')].map((e) => e.dataset.section)`);
    for (const sct of ['cover', 'contents', 'client', 'summary', 'charts', 'backups', 'restore-tests', 'incidents', 'approvals', 'audit', 'integrity', 'signature']) expect(sections).toContain(sct);
    expect(await page.evaluate<number>(`[...document.querySelectorAll('[data-section=charts] svg')].filter((g) => g.querySelector('path, circle')).length`)).toBe(4);
    const png = PNG.sync.read(await page.screenshot());
    let ink = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i]! < 200 || png.data[i + 1]! < 200 || png.data[i + 2]! < 200) ink++;
    expect(ink / (png.width * png.height)).toBeGreaterThan(0.01);
    await page.close();
  } finally {
    await browser.close();
  }

  // Offline, as the report prints it.
  expect(sh(['sha256sum', '-c', 'report.html.sha256'], out)).toEqual({ code: 0, out: 'report.html: OK\n' });
  expect(sh(['openssl', 'pkeyutl', '-verify', '-pubin', '-inkey', 'signing-key.pem', '-rawin', '-in', 'report.html', '-sigfile', 'report.html.sig'], out))
    .toEqual({ code: 0, out: 'Signature Verified Successfully\n' });
  for (const f of ['report.pdf', 'evidence.zip']) {
    expect(sh(['openssl', 'pkeyutl', '-verify', '-pubin', '-inkey', 'signing-key.pem', '-rawin', '-in', f, '-sigfile', `${f}.sig`], out).code).toBe(0);
  }
  // The exported key is the bot's.
  expect(readFileSync(join(out, 'signing-key.pem'), 'utf8')).toBe(ctx.signer.publicKeyPem);

  // The PDF: the register rows, report.html's sha256 and signature, a sane page count.
  const pdfText = squash((await run('pdftotext', ['-raw', '-enc', 'UTF-8', join(out, 'report.pdf'), '-'], { maxBuffer: 50_000_000 })).stdout);
  const sha = readFileSync(join(out, 'report.html.sha256'), 'utf8').split(' ')[0]!;
  for (const b of backupIds) {
    const row = await ctx.store.backups.get(b);
    if (row?.file) expect(pdfText).toContain(squash(row.file));
  }
  expect(pdfText).toContain('pg_dump:connectionrefused');
  expect(pdfText).toContain('inspectorpackrequest');
  expect(pdfText).toContain(sha);
  expect(pdfText).toContain(squash(Buffer.from(readFileSync(join(out, 'report.html.sig'))).toString('base64')).slice(0, 40));
  const pages = Number(/Pages:\s+(\d+)/.exec((await run('pdfinfo', [join(out, 'report.pdf')])).stdout)![1]);
  expect(pages).toBeGreaterThanOrEqual(4);
  expect(pages).toBeLessThanOrEqual(20);

  // evidence.zip: unzip, every file's sum, each register in CSV and JSON, the public key.
  const unz = join(dir, 'unzipped');
  await run('unzip', ['-q', join(out, 'evidence.zip'), '-d', unz]);
  expect(sh(['sha256sum', '-c', '--quiet', 'SHA256SUMS'], unz).code).toBe(0);
  for (const reg of ['backups', 'restore-tests', 'incidents', 'approvals', 'audit']) for (const ext of ['csv', 'json']) expect(existsSync(join(unz, 'registers', `${reg}.${ext}`))).toBe(true);
  expect(readFileSync(join(unz, 'registers', 'backups.csv'), 'utf8')).toContain('pg_dump: connection refused');
  expect(JSON.parse(readFileSync(join(unz, 'registers', 'approvals.json'), 'utf8'))).toEqual([expect.objectContaining({ id: approvalId, client: 'demo', decision: 'approved' })]);
  expect(readFileSync(join(unz, 'report.html'))).toEqual(readFileSync(join(out, 'report.html')));
  expect(sh(['openssl', 'pkeyutl', '-verify', '-pubin', '-inkey', 'signing-key.pem', '-rawin', '-in', 'report.html', '-sigfile', 'report.html.sig'], unz).code).toBe(0);
  // Each chained row of the pack, recomputed with sha256sum as the README says.
  const chained = readFileSync(join(unz, 'chains', 'backup_register.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; prev_hash: string; row_hash: string; content: string });
  expect(chained.map((r) => r.id).sort()).toEqual([...backupIds].sort());
  for (const r of chained) expect(spawnSync('sha256sum', [], { input: `${r.prev_hash}\n${r.content}`, encoding: 'utf8' }).stdout.split(' ')[0]).toBe(r.row_hash);
  expect(readFileSync(join(unz, 'chains', 'signatures.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2); // the decision and the QA verification
  expect(readFileSync(join(unz, 'README.txt'), 'utf8')).toContain('sha256sum   (must equal row_hash)');

  // The pack is in the audit log with its hashes; the run is ok.
  const audit = (await ctx.store.audit.list({ action: 'evidence.report' })).at(-1)!;
  expect(audit.details).toMatchObject({ reportSha256: sha, keyId: ctx.signer.keyId, brokenRows: 0 });

  // One changed byte: both checks fail.
  const bytes = readFileSync(join(out, 'report.html'));
  const i = bytes.length >> 1;
  bytes.writeUInt8(bytes.readUInt8(i) ^ 0x01, i);
  writeFileSync(join(out, 'report.html'), bytes);
  expect(sh(['sha256sum', '-c', 'report.html.sha256'], out).code).toBe(1);
  const bad = sh(['openssl', 'pkeyutl', '-verify', '-pubin', '-inkey', 'signing-key.pem', '-rawin', '-in', 'report.html', '-sigfile', 'report.html.sig'], out);
  expect(bad.code).toBe(1);
  expect(bad.out).toContain('Signature Verification Failure');
}, 240_000);

test('usage mistakes exit 2 with what is accepted, and write nothing', async () => {
  const out = join(dir, 'never');
  for (const [args, msg] of [
    [['--lang', 'fr'], '--lang "fr" is not accepted (accepted: es, en)'],
    [['--from', '2026-13-01'], '--from "2026-13-01" is not a date (accepted: YYYY-MM-DD'],
    [['--from', '2026-03-01', '--to', '2026-02-01'], 'is after --to 2026-02-01'],
    [['--client', 'nosuch'], 'unknown client "nosuch"'],
  ] as Array<[string[], string]>) {
    const r = await runCli(['evidence', 'report', '--config', cfg, '--out', out, ...args]);
    expect({ args, code: r.code }).toEqual({ args, code: 2 });
    expect(r.stderr).toContain(msg);
    expect(existsSync(out)).toBe(false);
  }
});

test('no PDF can be made (no Chromium there; cancelled): no file under a final name, no partial directory, a failed run naming the step', async () => {
  const out = join(dir, 'failed');
  const period = reportPeriod({ from: today, to: today }, new Date(), 'UTC');
  await expect(makeEvidencePack(ctx, { period, lang: 'en', outDir: out, actor: 'test', trigger: 'cli', chromiumPath: '/nonexistent/chromium' }))
    .rejects.toThrow('/nonexistent/chromium (chromiumPath) is not an executable file');
  expect(readdirSync(out)).toEqual([]);
  const runs = await ctx.store.runs.list({ kind: 'job', limit: 5 });
  expect(runs[0]).toMatchObject({ status: 'failed', details: expect.objectContaining({ job: 'evidence-report' }) });
  expect(runs[0]!.error).toMatch(/^pdf: /);

  const abort = new AbortController();
  const p = makeEvidencePack(ctx, { period, lang: 'en', outDir: out, actor: 'test', trigger: 'cli', signal: abort.signal });
  // Cancelled while Chromium prints: wait for the run to reach its pdf step, then abort.
  for (let i = 0; i < 400; i++) {
    const r = (await ctx.store.runs.list({ kind: 'job', limit: 1 }))[0];
    if (r?.status === 'running' && r.step === 'pdf') break;
    await new Promise((res) => setTimeout(res, 25));
  }
  setTimeout(() => abort.abort(), 100);
  await expect(p).rejects.toThrow(/cancelled/);
  expect(readdirSync(out)).toEqual([]);
  expect((await ctx.store.runs.list({ kind: 'job', limit: 1 }))[0]).toMatchObject({ status: 'failed', error: 'pdf: PDF rendering was cancelled' });
}, 120_000);

test('a report killed mid-way (SIGKILL, while Chromium prints) leaves its temporary directories and Chromium; the next report removes them', async () => {
  // Short: Chromium's socket under it must stay within 107 bytes.
  const tmp = mkdtempSync(join(tmpdir(), 'bbk-'));
  try {
    const out = join(dir, 'killed');
    const args = ['evidence', 'report', '--config', cfg, '--from', today, '--to', today, '--out', out];
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, LOG_LEVEL: 'warn', TMPDIR: tmp }, stdio: 'ignore' });
    const exited = new Promise((ok) => child.on('exit', ok));
    const chromiumOn = (d: string) => processesWith(`--user-data-dir=${join(tmp, d, 'profile')}`);
    let temp: string | undefined;
    for (let i = 0; i < 1200 && !(temp && chromiumOn(temp).length); i++) {
      temp = readdirSync(tmp).find((n) => n.startsWith('backup-bot-pdf-'));
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(temp && chromiumOn(temp).length).toBeTruthy();
    child.kill('SIGKILL');
    await exited;
    // What a SIGKILL leaves: no `finally` ran.
    expect(readdirSync(tmp)).toEqual([temp]);
    expect(readdirSync(out).filter((n) => n.startsWith('.evidence-report.partial-'))).toHaveLength(1);
    expect(readdirSync(out).filter((n) => !n.startsWith('.'))).toEqual([]);

    const r = await runCli(args, { env: { TMPDIR: tmp }, timeoutMs: 180_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
    expect(chromiumOn(temp!)).toEqual([]);
    expect(readdirSync(out).sort()).toEqual(['evidence.zip', 'evidence.zip.sha256', 'evidence.zip.sig', 'report.html', 'report.html.sha256', 'report.html.sig',
      'report.pdf', 'report.pdf.sha256', 'report.pdf.sig', 'signing-key.pem']);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}, 300_000);

test('a register row edited as the superuser shows as broken in the HTML and the PDF; exit 1; S1 alert', async () => {
  const out = join(dir, 'tampered');
  await asSuperuser(ctx.pool, `UPDATE backup_register SET observations = 'nothing happened' WHERE id = $1`, [backupIds[0]]);
  await asSuperuser(ctx.pool, `UPDATE approvals SET reason = 'a harmless request' WHERE id = $1`, [approvalId]);
  const r = await runCli(['evidence', 'report', '--config', cfg, '--from', today, '--to', today, '--lang', 'en', '--out', out, '--json'], { timeoutMs: 180_000 });
  expect(r.code).toBe(1);
  const j = JSON.parse(r.stdout) as { evidence: { ok: boolean; summary: string }; brokenRows: number };
  expect(j.evidence.ok).toBe(false);
  expect(j.brokenRows).toBe(2);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  expect(html).toContain('<html lang="en">');
  expect(html).toContain('data-integrity="broken"');
  const row = new RegExp(`<tr class="broken" data-row="backup:${backupIds[0]}">[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';
  expect(row).toContain('nothing happened');
  expect(row).toMatch(/✕ broken: edited: its content no longer matches its hash/);
  expect(html).toMatch(new RegExp(`<tr data-row="backup:${backupIds[1]}">`));
  // The request's row: edited, and its signed decision no longer matches it (the signature is shown on the row it is about).
  const req = new RegExp(`<tr class="broken" data-row="approval:${approvalId}">[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';
  expect(req).toContain('a harmless request');
  expect(req).toMatch(/edited: its content no longer matches its hash/);
  expect(req).toMatch(/bad signature: the record was edited after it was signed \(reason differ\)/);
  // The integrity section lists each problem with the register it is in.
  const integrity = /<section id="integrity"[\s\S]*?<\/section>/.exec(html)![0];
  expect(integrity).toContain(`backup_register ${backupIds[0]}: its content no longer matches its hash`);
  expect(integrity).toMatch(/signatures \d+: the record was edited after it was signed/);
  const pdfText = squash((await run('pdftotext', ['-raw', '-enc', 'UTF-8', join(out, 'report.pdf'), '-'], { maxBuffer: 50_000_000 })).stdout);
  expect(pdfText).toContain(squash('broken: edited: its content no longer matches its hash'));
  // Still signed: the pack is evidence of what the registers held, broken rows included.
  expect(sh(['openssl', 'pkeyutl', '-verify', '-pubin', '-inkey', 'signing-key.pem', '-rawin', '-in', 'report.html', '-sigfile', 'report.html.sig'], out).code).toBe(0);
  // In the zip, the edited row's content no longer hashes to its row_hash; the others still do.
  const unz = join(dir, 'unzipped-tampered');
  await run('unzip', ['-q', join(out, 'evidence.zip'), '-d', unz]);
  const rows = readFileSync(join(unz, 'chains', 'backup_register.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; prev_hash: string; row_hash: string; content: string });
  const recomputed = (r: (typeof rows)[number]) => spawnSync('sha256sum', [], { input: `${r.prev_hash}\n${r.content}`, encoding: 'utf8' }).stdout.split(' ')[0];
  expect(rows.filter((r) => recomputed(r) !== r.row_hash).map((r) => r.id)).toEqual([backupIds[0]]);
  const alerts = await ctx.store.alerts.listOpen('');
  expect(alerts).toEqual([expect.objectContaining({ kind: 'evidence', severity: 'S1' })]);
}, 240_000);
