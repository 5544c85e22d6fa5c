/**
 * The offline checks of a signed report, as an inspector types them (OpenSSL 3 syntax, checked with
 * OpenSSL 3.0 on Debian 12): the SHA-256 with `sha256sum -c`, and the Ed25519 signature over the file's
 * bytes (PureEdDSA, hence `-rawin`) with the exported public key.
 */

export interface SignatureFiles {
  /** The signed file (default report.html). */
  report: string;
  /** `sha256sum` output for it: "<hex>  report.html" (default report.html.sha256). */
  sha256: string;
  /** The raw 64-byte Ed25519 signature (default report.html.sig). */
  signature: string;
  /** The signing key's public key, PEM (default signing-key.pem). */
  publicKey: string;
}

export const DEFAULT_SIGNATURE_FILES: SignatureFiles = {
  report: 'report.html', sha256: 'report.html.sha256', signature: 'report.html.sig', publicKey: 'signing-key.pem',
};

export interface VerificationCommand { purpose: 'sha256' | 'signature'; argv: string[]; display: string }

/** POSIX shell quoting for display: bare when safe, else single quotes. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function verificationCommands(files: Partial<SignatureFiles> = {}): VerificationCommand[] {
  const f = { ...DEFAULT_SIGNATURE_FILES, ...files };
  const cmds: Array<Omit<VerificationCommand, 'display'>> = [
    { purpose: 'sha256', argv: ['sha256sum', '-c', f.sha256] },
    { purpose: 'signature', argv: ['openssl', 'pkeyutl', '-verify', '-pubin', '-inkey', f.publicKey, '-rawin', '-in', f.report, '-sigfile', f.signature] },
  ];
  return cmds.map((c) => ({ ...c, display: c.argv.map(shellQuote).join(' ') }));
}

/** The line `sha256sum -c` reads: "<hex>  <file>\n". */
export function sha256Line(hex: string, fileName: string): string {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new RangeError('a sha256 is 64 lower-case hex digits');
  if (/[\r\n\\]/.test(fileName)) throw new RangeError('the file name must not contain a newline or a backslash');
  return `${hex}  ${fileName}\n`;
}
