import { canonicalJson, chainHash, GENESIS_HASH } from '../core/canonical.js';
import { CHAIN_NAMES, chainContent, type ChainName, type ChainRow } from '../store/chain.js';
import type { ChainHeadRow } from '../store/chain-heads.js';
import type { BoundQueries } from '../store/store.js';
import type { ApprovalRow } from '../store/approvals.js';
import type { RestoreTestRow } from '../store/restore-test-register.js';
import { requestSubject, restoreTestSubject, signatureProblems } from './decisions.js';
import type { Signer } from './signer.js';

/**
 * `backup-bot evidence verify`: every chain recomputed from its rows, every signed head checked against the
 * chain it commits to, every decision signature checked against the record it is about. Nothing the state
 * database says about itself is trusted: hashes are recomputed, signatures verified with the configured keys.
 */
type BrokenKind = 'edited' | 'deleted' | 'inserted' | 'reordered' | 'bad signature';
export interface BrokenRecord { register: string; id: string; what: BrokenKind; detail: string }

export interface EvidenceReport {
  ok: boolean;
  /** Rows checked per chain, signatures and heads checked. */
  counts: Record<string, number>;
  broken: BrokenRecord[];
  /** Rows written before chaining existed (not covered by the chain; listed, not failed). */
  legacy: Record<string, number>;
  summary: string;
}

/** Checks one chain: contiguous places, each prev_hash the row before's hash, each row_hash recomputed. */
function checkChain(chain: ChainName, rows: ChainRow[]): { broken: BrokenRecord[]; legacy: number; tip?: { seq: bigint; hash: string } } {
  const broken: BrokenRecord[] = [];
  const chained = rows.filter((r) => r.chain_seq !== null);
  const firstChainedId = chained.length ? chained.reduce((m, r) => (BigInt(r.id) < m ? BigInt(r.id) : m), BigInt(chained[0]!.id)) : undefined;
  let legacy = 0;
  for (const r of rows.filter((x) => x.chain_seq === null)) {
    if (firstChainedId !== undefined && BigInt(r.id) > firstChainedId) broken.push({ register: chain, id: r.id, what: 'inserted', detail: 'a row outside the chain, added after chaining began' });
    else legacy++;
  }
  let prev = GENESIS_HASH;
  let expectSeq = 1n;
  for (const r of chained) {
    const seq = BigInt(r.chain_seq!);
    if (seq !== expectSeq) {
      broken.push({ register: chain, id: r.id, what: 'deleted', detail: seq > expectSeq ? `rows ${expectSeq}..${seq - 1n} of the chain are missing before it` : `place ${seq} repeats` });
    } else if (r.prev_hash !== prev) {
      broken.push({ register: chain, id: r.id, what: 'reordered', detail: `it does not follow the row before it (place ${seq}): a row was moved, removed or put in` });
    }
    if (chainHash(r.prev_hash ?? '', chainContent(chain, r)) !== r.row_hash) {
      broken.push({ register: chain, id: r.id, what: 'edited', detail: `its content no longer matches its hash (place ${seq})` });
    }
    prev = r.row_hash ?? '';
    expectSeq = seq + 1n;
  }
  const last = chained.at(-1);
  return { broken, legacy, ...(last ? { tip: { seq: BigInt(last.chain_seq!), hash: last.row_hash ?? '' } } : {}) };
}

function headContent(h: { chain: string; chainSeq: string; rowHash: string; signedAt: Date }): string {
  return canonicalJson({ type: 'chain-head', chain: h.chain, chainSeq: h.chainSeq, rowHash: h.rowHash, signedAt: h.signedAt.toISOString() });
}

/** Each signed head must verify and still match the chain: a head past the chain's end means its newest rows were removed. */
function checkHeads(signer: Signer, heads: ChainHeadRow[], rowsByChain: Map<string, ChainRow[]>): BrokenRecord[] {
  const broken: BrokenRecord[] = [];
  for (const h of heads) {
    const content = headContent({ chain: h.chain, chainSeq: String(h.chain_seq), rowHash: h.row_hash, signedAt: h.signed_at });
    if (content !== h.content || !signer.verify(h.key_id, h.content, h.signature)) {
      broken.push({ register: 'chain_heads', id: h.id, what: 'bad signature', detail: signer.trusted.has(h.key_id) ? `the signed head of ${h.chain} at place ${h.chain_seq} does not verify` : `signed with key ${h.key_id}, which this bot does not trust` });
      continue;
    }
    const rows = rowsByChain.get(h.chain) ?? [];
    const at = rows.find((r) => r.chain_seq !== null && BigInt(r.chain_seq) === BigInt(h.chain_seq));
    if (!at) {
      const max = rows.filter((r) => r.chain_seq !== null).reduce((m, r) => (BigInt(r.chain_seq!) > m ? BigInt(r.chain_seq!) : m), 0n);
      broken.push({ register: h.chain, id: `place ${h.chain_seq}`, what: 'deleted', detail: `the head signed at ${h.signed_at.toISOString()} covers ${h.chain_seq} rows; the chain now ends at ${max}: the newest rows were removed` });
    } else if (at.row_hash !== h.row_hash) {
      broken.push({ register: h.chain, id: at.id, what: 'edited', detail: `the chain was rewritten up to place ${h.chain_seq} since the head signed at ${h.signed_at.toISOString()}` });
    }
  }
  return broken;
}

const CLAIMS_APPROVAL = ['approved', 'running', 'completed', 'failed', 'rolled_back', 'interrupted'];

/** A request's state may claim no more than its signatures prove (a status flipped by hand is named here). */
function checkDecisionStates(signer: Signer, approvals: ApprovalRow[], sigRows: ChainRow[]): BrokenRecord[] {
  const broken: BrokenRecord[] = [];
  const sigs = sigRows as unknown as Array<Parameters<typeof signatureProblems>[1]>;
  for (const a of approvals.filter((x) => x.chain_seq !== null)) {
    const mine = sigs.filter((g) => g.kind === 'restore-decision' && g.subject === `approval:${a.id}` && signatureProblems(signer, g, { kind: 'restore-decision', subjectId: `approval:${a.id}`, subject: requestSubject(a) }).length === 0);
    const approved = mine.some((g) => g.meaning === 'approved');
    const rejected = mine.some((g) => g.meaning === 'rejected');
    if (CLAIMS_APPROVAL.includes(a.status) && !approved) broken.push({ register: 'approvals', id: a.id, what: 'edited', detail: `its state says "${a.status}" but no valid approving signature exists` });
    if (a.status === 'rejected' && !rejected) broken.push({ register: 'approvals', id: a.id, what: 'edited', detail: 'its state says "rejected" but no valid rejection signature exists' });
    if (a.status === 'pending' && (approved || rejected)) broken.push({ register: 'approvals', id: a.id, what: 'edited', detail: `its state says "pending" but it was ${approved ? 'approved' : 'rejected'} (signed)` });
  }
  return broken;
}

/** Decision signatures checked against the records they are about (requests, restore tests). */
function checkSignatures(signer: Signer, sigRows: ChainRow[], approvals: ApprovalRow[], tests: RestoreTestRow[]): BrokenRecord[] {
  const broken: BrokenRecord[] = [];
  const byApproval = new Map(approvals.map((a) => [`approval:${a.id}`, a]));
  const byTest = new Map(tests.map((t) => [`restore_test:${t.id}`, t]));
  for (const raw of sigRows) {
    const sig = raw as unknown as Parameters<typeof signatureProblems>[1];
    const a = byApproval.get(sig.subject);
    const t = byTest.get(sig.subject);
    const expected = sig.kind === 'restore-decision' && a ? { kind: sig.kind, subjectId: sig.subject, subject: requestSubject(a) }
      : sig.kind === 'qa-verification' && t ? { kind: sig.kind, subjectId: sig.subject, subject: restoreTestSubject(t) } : undefined;
    const problems = expected ? signatureProblems(signer, sig, expected) : [`it names ${sig.subject}, which is not in the registers`];
    if (problems.length) broken.push({ register: 'signatures', id: sig.id, what: 'bad signature', detail: problems.join('; ') });
  }
  return broken;
}

export async function verifyEvidence(store: BoundQueries, signer: Signer): Promise<EvidenceReport> {
  const broken: BrokenRecord[] = [];
  const counts: Record<string, number> = {};
  const legacy: Record<string, number> = {};
  const rowsByChain = new Map<string, ChainRow[]>();
  for (const chain of CHAIN_NAMES) {
    const rows = await store.chains.read(chain);
    rowsByChain.set(chain, rows);
    const c = checkChain(chain, rows);
    broken.push(...c.broken);
    counts[chain] = rows.length;
    if (c.legacy) legacy[chain] = c.legacy;
  }
  const heads = await store.heads.list();
  counts.chain_heads = heads.length;
  broken.push(...checkHeads(signer, heads, rowsByChain));
  const approvals = await store.approvals.list({ limit: 1_000_000 });
  const tests = await store.restoreTests.list({ limit: 1_000_000 });
  broken.push(...checkSignatures(signer, rowsByChain.get('signatures') ?? [], approvals, tests));
  broken.push(...checkDecisionStates(signer, approvals, rowsByChain.get('signatures') ?? []));
  const total = Object.entries(counts).reduce((n, [, v]) => n + v, 0);
  const ok = broken.length === 0;
  const legacyText = Object.keys(legacy).length ? `; ${Object.values(legacy).reduce((a, b) => a + b, 0)} older row(s) predate the chains` : '';
  const summary = ok
    ? `evidence intact: ${total} records in ${CHAIN_NAMES.length} chains, ${counts.signatures ?? 0} signature(s) and ${heads.length} signed head(s) verified${legacyText}`
    : `evidence BROKEN: ${broken.length} problem(s) in ${[...new Set(broken.map((b) => b.register))].join(', ')}`;
  return { ok, counts, broken, legacy, summary };
}

/**
 * Signs the current head of every chain that moved since its last signed head (at every digest and export),
 * so that removing the newest rows is detected too. Returns the heads signed.
 */
export async function signChainHeads(store: Pick<BoundQueries, 'heads' | 'chains'>, signer: Signer, reason: string, at: Date): Promise<ChainHeadRow[]> {
  const latest = new Map((await store.heads.latest()).map((h) => [h.chain, h]));
  const out: ChainHeadRow[] = [];
  for (const tip of await store.chains.tips()) {
    const prev = latest.get(tip.chain);
    if (prev && String(prev.chain_seq) === tip.chainSeq && prev.row_hash === tip.rowHash) continue;
    const content = headContent({ chain: tip.chain, chainSeq: tip.chainSeq, rowHash: tip.rowHash, signedAt: at });
    out.push(await store.heads.insert({ chain: tip.chain, chainSeq: tip.chainSeq, rowHash: tip.rowHash, signedAt: at, reason, keyId: signer.keyId, content, signature: signer.sign(content) }));
  }
  return out;
}
