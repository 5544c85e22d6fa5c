import type { Queryable } from './queryable.js';

/** A signed statement "chain X had N rows ending in hash H at time T" (the last rows cannot go unnoticed). */
export interface ChainHeadRow {
  id: string;
  chain: string;
  chain_seq: string;
  row_hash: string;
  signed_at: Date;
  reason: string;
  key_id: string;
  content: string;
  signature: string;
}

export async function insertChainHead(db: Queryable, h: { chain: string; chainSeq: string; rowHash: string; signedAt: Date; reason: string; keyId: string; content: string; signature: string }): Promise<ChainHeadRow> {
  const r = await db.query(
    `INSERT INTO chain_heads (chain, chain_seq, row_hash, signed_at, reason, key_id, content, signature) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING *`,
    [h.chain, h.chainSeq, h.rowHash, h.signedAt, h.reason, h.keyId, h.content, h.signature],
  );
  return r.rows[0] as ChainHeadRow;
}

export async function listChainHeads(db: Queryable, chain?: string): Promise<ChainHeadRow[]> {
  const r = await db.query('SELECT * FROM chain_heads WHERE ($1::text IS NULL OR chain = $1) ORDER BY chain, chain_seq, id', [chain ?? null]);
  return r.rows as ChainHeadRow[];
}

/** The newest signed head of each chain. */
export async function latestChainHeads(db: Queryable): Promise<ChainHeadRow[]> {
  const r = await db.query('SELECT DISTINCT ON (chain) * FROM chain_heads ORDER BY chain, chain_seq DESC, id DESC');
  return r.rows as ChainHeadRow[];
}
