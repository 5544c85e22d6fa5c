import type { Queryable } from './queryable.js';
import { appendChained } from './chain.js';

/**
 * Signed decisions: approve / reject a production restore (kind restore-decision, subject approval:<id>) and
 * QA verification of a restore test (kind qa-verification, subject restore_test:<id>). `content` is the canonical
 * JSON that was signed, `signature` its Ed25519 signature (base64) by the key `key_id`. One per subject.
 */
type SignatureKind = 'restore-decision' | 'qa-verification';

export interface SignatureRow {
  id: string;
  kind: SignatureKind;
  subject: string;
  client: string;
  meaning: string;
  signer_id: string;
  signer_name: string;
  signer_role: string;
  statement: string;
  reason: string | null;
  signed_at: Date;
  key_id: string;
  content: string;
  signature: string;
  chain_seq: string | null;
  row_hash: string | null;
}

export interface NewSignature {
  kind: SignatureKind;
  subject: string;
  client: string;
  meaning: string;
  signerId: string;
  signerName: string;
  signerRole: string;
  statement: string;
  reason?: string | null;
  signedAt: Date;
  keyId: string;
  content: string;
  signature: string;
}

export async function insertSignature(db: Queryable, s: NewSignature): Promise<SignatureRow> {
  return appendChained<SignatureRow>(db, 'signatures', {
    kind: s.kind, subject: s.subject, client: s.client, meaning: s.meaning, signer_id: s.signerId, signer_name: s.signerName, signer_role: s.signerRole,
    statement: s.statement, reason: s.reason ?? null, signed_at: s.signedAt, key_id: s.keyId, content: s.content, signature: s.signature,
  });
}

/** Every signature recorded for a subject (a copied or forged one shows up here beside the real one). */
export async function signaturesFor(db: Queryable, subject: string): Promise<SignatureRow[]> {
  const r = await db.query('SELECT * FROM signatures WHERE subject = $1 ORDER BY id', [subject]);
  return r.rows as SignatureRow[];
}

export async function listSignatures(db: Queryable, f: { client?: string } = {}): Promise<SignatureRow[]> {
  const r = await db.query('SELECT * FROM signatures WHERE ($1::text IS NULL OR client = $1) ORDER BY id', [f.client ?? null]);
  return r.rows as SignatureRow[];
}
