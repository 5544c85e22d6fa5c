import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';

/**
 * The bot's Ed25519 signing key, which the state database never holds: decisions (approve, reject, QA
 * verified) and the heads of the hash chains are signed with it, and verified against the public keys the
 * configuration trusts (the current one, and earlier ones kept for old records). Nothing read from the
 * state database is ever trusted as a key.
 */
export interface Signer {
  /** Identifies the key: the first 16 hex digits of the sha256 of its public key (SPKI, DER). */
  readonly keyId: string;
  readonly publicKeyPem: string;
  /** Where the key was read from (a path, or "the environment"). */
  readonly source: string;
  /** Set when this start created the key (the caller prints its fingerprint once). */
  readonly created: boolean;
  /** Every public key a signature may have been made with, by key id. */
  readonly trusted: ReadonlyMap<string, { pem: string; current: boolean }>;
  /** Base64 Ed25519 signature over the UTF-8 bytes of `content`. */
  sign(content: string): string;
  /** Base64 Ed25519 signature over raw bytes (a file: the evidence report, its PDF, the evidence zip). */
  signBytes(bytes: Uint8Array): string;
  /** True when `signature` is a valid signature of `content` by the trusted key `keyId`. */
  verify(keyId: string, content: string, signature: string): boolean;
}

export interface SignerOptions {
  /** evidence.signingKey: a PEM file path (relative to `baseDir`) or the PEM text itself (from `${ENV}`). */
  signingKey?: string;
  /** evidence.trustedKeys: public keys (PEM files) of earlier signing keys. */
  trustedKeys?: string[];
  /** The config file's directory (the working directory when there is none). */
  baseDir: string;
}

const DEFAULT_KEY_FILE = 'backup-bot-signing-key.pem';

function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

function ed25519Private(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new UserError(`${where} is not a PEM private key (${(err as Error).message.split('\n')[0]}); accepted: an Ed25519 key, e.g. made with \`openssl genpkey -algorithm ed25519\``);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new UserError(`${where} is a ${key.asymmetricKeyType ?? 'unknown'} key; accepted: an Ed25519 key (\`openssl genpkey -algorithm ed25519\`)`);
  return key;
}

/** A key file must be the owner's alone: refused when group or others may read or write it. */
function checkOwnerOnly(path: string, what: string): void {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) throw new UserError(`${what} ${path} is readable by others (mode ${mode.toString(8).padStart(3, '0')}): refused; run \`chmod 600 ${path}\``);
}

function readKeyFile(path: string, what: string): string {
  if (!existsSync(path)) throw new UserError(`${what} ${path} does not exist (a configured key is never replaced by a new one: restore the file, or point ${what} at the right one)`);
  checkOwnerOnly(path, what);
  return readFileSync(path, 'utf8');
}

/** Creates a new key file, 0600 from the first byte, under its final name only once complete. */
function createKeyFile(path: string): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const tmp = join(dirname(path), `.${DEFAULT_KEY_FILE}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, pem);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return pem;
}

function trustedPublicKey(path: string, baseDir: string): { keyId: string; pem: string } {
  const p = resolve(baseDir, path);
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(p, 'utf8'));
  } catch (err) {
    throw new UserError(`evidence.trustedKeys: ${p} cannot be read as a PEM public key (${(err as NodeJS.ErrnoException).code ?? (err as Error).message.split('\n')[0]})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new UserError(`evidence.trustedKeys: ${p} is not an Ed25519 public key`);
  return { keyId: keyIdOf(key), pem: key.export({ type: 'spki', format: 'pem' }) as string };
}

/**
 * Loads the signing key: the configured one (a clear error when it is missing, unreadable, not Ed25519 or
 * readable by others; never a silently generated one), else the default file beside the config, created on
 * first start with mode 0600.
 */
export function loadSigner(o: SignerOptions): Signer {
  let pem: string;
  let source: string;
  let created = false;
  if (o.signingKey && o.signingKey.trimStart().startsWith('-----BEGIN')) {
    pem = o.signingKey;
    source = 'evidence.signingKey (from the environment)';
  } else if (o.signingKey) {
    source = resolve(o.baseDir, o.signingKey);
    pem = readKeyFile(source, 'evidence.signingKey');
  } else {
    source = resolve(o.baseDir, DEFAULT_KEY_FILE);
    if (existsSync(source)) pem = readKeyFile(source, 'the signing key');
    else { pem = createKeyFile(source); created = true; }
  }
  const privateKey = ed25519Private(pem, o.signingKey ? 'evidence.signingKey' : source);
  const publicKey = createPublicKey(privateKey);
  const keyId = keyIdOf(publicKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const trusted = new Map<string, { pem: string; current: boolean }>([[keyId, { pem: publicKeyPem, current: true }]]);
  for (const t of o.trustedKeys ?? []) {
    const k = trustedPublicKey(t, o.baseDir);
    if (!trusted.has(k.keyId)) trusted.set(k.keyId, { pem: k.pem, current: false });
  }
  const verifiers = new Map([...trusted].map(([id, k]) => [id, createPublicKey(k.pem)]));
  return {
    keyId, publicKeyPem, source, created, trusted,
    sign: (content) => sign(null, Buffer.from(content, 'utf8'), privateKey).toString('base64'),
    signBytes: (bytes) => sign(null, bytes, privateKey).toString('base64'),
    verify(id, content, signature) {
      const key = verifiers.get(id);
      if (!key) return false;
      try {
        return verify(null, Buffer.from(content, 'utf8'), key, Buffer.from(signature, 'base64'));
      } catch {
        return false;
      }
    },
  };
}
