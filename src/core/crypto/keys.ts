import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { EncryptionConfig } from '../../config/schema.js';
import { isAgeIdentity } from '../../config/age-keys.js';
import { OperationError, UserError } from '../errors.js';
import { isEncryptedName } from '../naming.js';
import { registerSecret } from '../redact.js';
import type { Readable } from 'node:stream';
import { AgeDecryptStream, checkAgeHeader, loadAge } from './age-stream.js';

/**
 * Fingerprint of an age recipient (public key): the first 16 hex digits of the sha256 of the recipient
 * string in its canonical lower-case form (`age1…`, as age-keygen prints it). An identity's fingerprint is
 * its recipient's. Reproduce it by hand: `printf %s age1… | sha256sum | cut -c1-16`.
 * The manifest of an encrypted backup lists the fingerprint (and the key) of every recipient it was made
 * for, because an age header does not say who its recipients are.
 */
export function recipientFingerprint(recipient: string): string {
  return createHash('sha256').update(recipient.trim().toLowerCase(), 'utf8').digest('hex').slice(0, 16);
}

export interface RecipientInfo { fingerprint: string; recipient: string }

export function recipientInfo(recipients: readonly string[]): RecipientInfo[] {
  return recipients.map((r) => ({ fingerprint: recipientFingerprint(r), recipient: r.trim().toLowerCase() }));
}

/** What the manifest records about an encrypted backup (`manifest.encryption`, and per files archive). */
export interface ManifestEncryption {
  scheme: 'age';
  /** Who can decrypt it. */
  recipients: RecipientInfo[];
  /** sha256 and size of the plaintext (the gzip stream, or the custom archive); `sha256` of the manifest is the ciphertext's. */
  plaintextSha256: string;
  plaintextSizeBytes: number;
}

/** `manifest.encryption` of a register row's manifest, when the backup is encrypted (tolerant of old rows). */
function manifestEncryption(manifest: unknown): ManifestEncryption | undefined {
  const e = (manifest as { encryption?: unknown } | null | undefined)?.encryption as Partial<ManifestEncryption> | undefined;
  if (!e || typeof e !== 'object' || e.scheme !== 'age') return undefined;
  const recipients = Array.isArray(e.recipients)
    ? e.recipients.filter((r): r is RecipientInfo => typeof r?.fingerprint === 'string').map((r) => ({ fingerprint: r.fingerprint, recipient: typeof r.recipient === 'string' ? r.recipient : '' }))
    : [];
  return {
    scheme: 'age',
    recipients,
    plaintextSha256: typeof e.plaintextSha256 === 'string' ? e.plaintextSha256 : '',
    plaintextSizeBytes: typeof e.plaintextSizeBytes === 'number' ? e.plaintextSizeBytes : Number(e.plaintextSizeBytes ?? NaN),
  };
}

export interface AgeIdentity {
  /** `AGE-SECRET-KEY-1…` (registered with redactSecrets: never shown). */
  secret: string;
  /** Its public key, `age1…`. */
  recipient: string;
  fingerprint: string;
  /** Where it came from, for messages: `clients.demo.encryption.identity[1] (file /etc/backup-bot/old.key)`. */
  source: string;
}

type IdentityEntry = string | { file: string };

function identityEntries(enc: EncryptionConfig | undefined): IdentityEntry[] {
  if (!enc?.identity) return [];
  return Array.isArray(enc.identity) ? enc.identity : [enc.identity];
}

/**
 * The client's configured age identities, read now (key files are read at use, so that only the hosts
 * that read backups back need them). A file may hold several keys (`age-keygen` output: comments and
 * `AGE-SECRET-KEY-1…` lines). Errors name the config key and never show a secret.
 */
export async function loadIdentities(client: string, enc: EncryptionConfig | undefined): Promise<AgeIdentity[]> {
  const { identityToRecipient } = await loadAge();
  const out: AgeIdentity[] = [];
  const entries = identityEntries(enc);
  const path = (i: number) => `clients.${client}.encryption.identity${Array.isArray(enc?.identity) ? `[${i}]` : ''}`;
  for (const [i, entry] of entries.entries()) {
    let secrets: string[];
    let source: string;
    if (typeof entry === 'string') {
      secrets = [entry.trim()];
      source = path(i);
    } else {
      source = `${path(i)} (file ${entry.file})`;
      let text: string;
      try {
        text = await readFile(entry.file, 'utf8');
      } catch (err) {
        throw new UserError(`${path(i)}.file: cannot read the age identity file ${entry.file} (${(err as NodeJS.ErrnoException).code ?? 'error'}); it must be readable by the bot's user`);
      }
      const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      secrets = lines;
      for (const l of lines) registerSecret(l);
      if (lines.length === 0) throw new UserError(`${path(i)}.file: ${entry.file} holds no age identity (expected a line "AGE-SECRET-KEY-1…", as written by age-keygen)`);
      const bad = lines.findIndex((l) => !isAgeIdentity(l));
      if (bad >= 0) throw new UserError(`${path(i)}.file: line ${bad + 1} of the keys in ${entry.file} is not an age secret key (expected "AGE-SECRET-KEY-1…"; post-quantum and plugin keys are not supported)`);
    }
    for (const secret of secrets) {
      registerSecret(secret);
      let recipient: string;
      try {
        recipient = await identityToRecipient(secret);
      } catch {
        throw new UserError(`${source}: not a valid age secret key`);
      }
      out.push({ secret, recipient, fingerprint: recipientFingerprint(recipient), source });
    }
  }
  return out;
}

interface IdentityCheck {
  fingerprint: string;
  source: string;
  /** current: one of `recipients` (new backups); old: not a current recipient (reads backups made before a rotation). */
  status: 'current' | 'old';
}

export interface EncryptionCheck {
  ok: boolean;
  /** One line for `doctor`. */
  detail: string;
  identities: IdentityCheck[];
  /** Current recipients no configured identity can decrypt for (fine where no identity is meant to be, e.g. an offline recovery key). */
  recipientsWithoutIdentity: RecipientInfo[];
}

/**
 * For `doctor`: reads every configured identity and tells whether it matches one of the recipients (current)
 * or none (old: kept to read backups made before a key rotation). Fails when an identity cannot be read or
 * is not a key, or when identities are configured and none is current (new backups could not be restored here).
 */
export async function checkEncryption(client: string, enc: EncryptionConfig): Promise<EncryptionCheck> {
  const recipients = recipientInfo(enc.recipients);
  let ids: AgeIdentity[];
  try {
    ids = await loadIdentities(client, enc);
  } catch (err) {
    return { ok: false, detail: (err as Error).message, identities: [], recipientsWithoutIdentity: recipients };
  }
  const current = new Set(recipients.map((r) => r.fingerprint));
  const identities: IdentityCheck[] = ids.map((id) => ({ fingerprint: id.fingerprint, source: id.source, status: current.has(id.fingerprint) ? 'current' : 'old' }));
  const covered = new Set(ids.map((i) => i.fingerprint));
  const recipientsWithoutIdentity = recipients.filter((r) => !covered.has(r.fingerprint));
  const rcp = `${recipients.length} recipient(s) ${recipients.map((r) => r.fingerprint).join(', ')}`;
  if (ids.length === 0) {
    return { ok: true, detail: `age, ${rcp}; no identity configured: backups are written but cannot be verified, restore-tested or restored on this host`, identities, recipientsWithoutIdentity };
  }
  const lines = identities.map((i) => `${i.fingerprint} ${i.status === 'current' ? 'matches a recipient' : 'is an old key (matches no current recipient: reads backups made before a rotation)'} [${i.source}]`);
  const anyCurrent = identities.some((i) => i.status === 'current');
  return {
    ok: anyCurrent,
    detail: `age, ${rcp}; identities: ${lines.join('; ')}${anyCurrent ? '' : ' — none matches a current recipient: new backups cannot be read back here'}`,
    identities,
    recipientsWithoutIdentity,
  };
}

/** What reading an encrypted backup needs: the identities, and what the file was made for (for messages). */
export interface Decryption {
  identities: AgeIdentity[];
  /** The recipients recorded in the manifest. */
  recipients: RecipientInfo[];
  plaintextSha256?: string;
  plaintextSizeBytes?: number;
}

/** The message when no configured identity opens a file: the fingerprints it was made for and those we have. */
function noIdentityMessage(what: string, d: Pick<Decryption, 'identities' | 'recipients'>, client?: string): string {
  const made = d.recipients.length ? d.recipients.map((r) => r.fingerprint).join(', ') : 'unknown (no manifest)';
  const have = d.identities.map((i) => i.fingerprint).join(', ') || 'none';
  return `cannot decrypt ${what}: no configured age identity matches it. It was encrypted for recipient fingerprint(s) ${made}; the configured identities are ${have}${client ? ` (clients.${client}.encryption.identity)` : ''}. Add the identity of one of those recipients (after a key rotation, keep the old identity in the list)`;
}

/**
 * Before anything reads an encrypted backup (restore test: before a container is provisioned; restore:
 * before the download): the identities it needs. Undefined for an unencrypted backup. Throws a UserError
 * when the backup is encrypted and no identity is configured, or one cannot be read.
 */
export async function decryptionFor(client: string, enc: EncryptionConfig | undefined, manifest: unknown, what: string): Promise<Decryption | undefined> {
  const m = manifestEncryption(manifest);
  const encrypted = m !== undefined || isEncryptedName(what);
  if (!encrypted) return undefined;
  const recipients = m?.recipients ?? [];
  const fps = recipients.length ? ` for recipient fingerprint(s) ${recipients.map((r) => r.fingerprint).join(', ')}` : '';
  if (identityEntries(enc).length === 0) {
    throw new UserError(`${what} is encrypted (age)${fps}, and clients.${client}.encryption.identity is not set on this host: set it to the secret key ("\${AGE_IDENTITY}" or { file: /path/to/key.txt }) to verify or restore it`);
  }
  const identities = await loadIdentities(client, enc);
  if (identities.length === 0) throw new OperationError(`clients.${client}.encryption.identity holds no key`);
  return {
    identities, recipients,
    ...(m?.plaintextSha256 ? { plaintextSha256: m.plaintextSha256 } : {}),
    ...(Number.isFinite(m?.plaintextSizeBytes) ? { plaintextSizeBytes: m!.plaintextSizeBytes } : {}),
  };
}

/** A stream that decrypts `what` with the identities of `d` (age file in, plaintext out). */
export function decryptingStream(d: Decryption, what: string, client?: string): AgeDecryptStream {
  return new AgeDecryptStream({ identities: d.identities.map((i) => i.secret), what, noIdentityMessage: noIdentityMessage(what, d, client) });
}

/** An encrypted backup to read: the identities (from `decryptionFor`) and, for messages, the client. */
export interface DecryptSource { decryption: Decryption; client?: string }

/**
 * The check a restore test (or restore) runs before it provisions or changes anything: for an encrypted
 * backup, that an identity is configured and opens the file's header (read from `open`, nothing else is
 * downloaded). Returns what the readers need (`verifyDownload`, `restoreIntoStaging`, `downloadBackup`), or
 * undefined for an unencrypted backup. Throws a UserError (no identity configured, key file unreadable) or an
 * AgeDecryptError (no configured identity matches: the message names the recipient fingerprints).
 */
export async function checkDecryptable(o: { client: string; encryption: EncryptionConfig | undefined; manifest: unknown; what: string; open: () => Promise<Readable> }): Promise<DecryptSource | undefined> {
  const decryption = await decryptionFor(o.client, o.encryption, o.manifest, o.what);
  if (!decryption) return undefined;
  await checkAgeHeader(await o.open(), { identities: decryption.identities.map((i) => i.secret), what: o.what, noIdentityMessage: noIdentityMessage(o.what, decryption, o.client) });
  return { decryption, client: o.client };
}
