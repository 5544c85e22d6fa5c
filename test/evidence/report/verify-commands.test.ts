import { spawn } from 'node:child_process';
import { createHash, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderReportHtml } from '../../../src/evidence/report/html.js';
import { sha256Line, shellQuote, verificationCommands } from '../../../src/evidence/report/verify-commands.js';
import { makeFixture } from './fixture.js';

/**
 * The commands the report prints for an inspector, run exactly as printed (argument arrays, no shell) with
 * the machine's sha256sum and OpenSSL 3 against a report signed with Ed25519 the way the bot signs (the
 * file's bytes, PureEdDSA): they pass, and fail once one byte of the report changes.
 */

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'report-verify-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

function run(argv: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

test('the printed sha256sum and openssl commands verify the signed report, and fail after one changed byte', async () => {
  const { data, privateKey, publicKeyPem } = makeFixture();
  const html = Buffer.from(renderReportHtml(data, { lang: 'en' }));
  await writeFile(join(dir, 'report.html'), html);
  await writeFile(join(dir, 'report.html.sha256'), sha256Line(createHash('sha256').update(html).digest('hex'), 'report.html'));
  await writeFile(join(dir, 'report.html.sig'), sign(null, html, privateKey));
  await writeFile(join(dir, 'signing-key.pem'), publicKeyPem);

  const commands = verificationCommands();
  expect(commands.map((c) => c.display)).toEqual([
    'sha256sum -c report.html.sha256',
    'openssl pkeyutl -verify -pubin -inkey signing-key.pem -rawin -in report.html -sigfile report.html.sig',
  ]);
  // The report shows the same commands.
  for (const c of commands) expect(html.toString()).toContain(c.display);

  const [sum, sig] = [await run(commands[0]!.argv, dir), await run(commands[1]!.argv, dir)];
  expect(sum).toEqual({ code: 0, out: 'report.html: OK\n' });
  expect(sig).toEqual({ code: 0, out: 'Signature Verified Successfully\n' });

  const changed = Buffer.from(html);
  const i = changed.length >> 1;
  changed.writeUInt8(changed.readUInt8(i) ^ 0x01, i);
  await writeFile(join(dir, 'report.html'), changed);
  const [sum2, sig2] = [await run(commands[0]!.argv, dir), await run(commands[1]!.argv, dir)];
  expect(sum2.code).toBe(1);
  expect(sum2.out).toContain('report.html: FAILED');
  expect(sig2.code).toBe(1);
  expect(sig2.out).toContain('Signature Verification Failure');
});

test('file names with spaces or quotes are quoted for the shell in what is shown, never in the argv', () => {
  const [, sig] = verificationCommands({ report: "informe Q1 'final'.html", signature: 'informe.sig', publicKey: 'key.pem' });
  expect(sig!.argv).toContain("informe Q1 'final'.html");
  expect(sig!.display).toBe(`openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in 'informe Q1 '\\''final'\\''.html' -sigfile informe.sig`);
  expect(shellQuote('a$b')).toBe("'a$b'");
});

test('with the sha256 and signature given, the report shows them and how to recreate the .sig file', () => {
  const { data } = makeFixture();
  const sha = 'ab'.repeat(32);
  const b64 = Buffer.alloc(64, 7).toString('base64');
  const html = renderReportHtml(data, { lang: 'es', signature: { reportSha256: sha, signatureBase64: b64, files: { publicKey: 'clave.pem' } } });
  expect(html).toContain(`data-field="report-sha256">${sha}<`);
  expect(html).toContain(`data-field="report-signature">${b64}<`);
  expect(html).toContain(`echo &#39;${b64}&#39; | base64 -d &gt; report.html.sig`);
  expect(html).toContain('openssl pkeyutl -verify -pubin -inkey clave.pem -rawin -in report.html -sigfile report.html.sig');
  expect(() => renderReportHtml(data, { lang: 'es', signature: { reportSha256: 'nothex' } })).toThrow('signature.reportSha256 must be 64 lower-case hex digits');
  expect(() => renderReportHtml(data, { lang: 'es', signature: { signatureBase64: '<b>' } })).toThrow('signature.signatureBase64 must be base64');
  expect(() => sha256Line(sha, 'a\nb')).toThrow(/newline/);
});
