import pg from 'pg';
import { canonicalJson, chainHash, GENESIS_HASH } from '../core/canonical.js';
import { SCHEMA, type Pool, type PoolClient } from './db.js';
import type { Queryable } from './queryable.js';

/**
 * The evidence tables are hash chains: every row stores `chain_seq` (its place), `prev_hash` (the hash of the
 * row before it) and `row_hash` = sha256(prev_hash + "\n" + content), where content is the canonical JSON of
 * the table's name, the row's place and every column below. A row edited, deleted, inserted or moved breaks
 * the chain; the chain heads are signed with a key the database does not hold (src/evidence), so rewriting
 * the whole chain is detected too. Rows are appended under a per-chain transaction lock, in one order.
 */
type ColType = 'text' | 'int' | 'bigint' | 'numeric2' | 'bool' | 'ts' | 'json';

const CHAINS = {
  audit_log: { id: 'bigint', at: 'ts', actor: 'text', action: 'text', client: 'text', target: 'text', reason: 'text', details: 'json' },
  backup_register: {
    id: 'bigint', run_id: 'bigint', client: 'text', taken_at: 'ts', type: 'text', file: 'text', key: 'text', format: 'text', engine: 'text',
    size_bytes: 'bigint', verified: 'bool', verified_at: 'ts', executed_by: 'text', result: 'text', observations: 'text', sha256: 'text',
    tables_counted: 'int', locations: 'json', manifest: 'json', deleted_at: 'ts',
  },
  backup_register_events: { id: 'bigint', backup_id: 'bigint', client: 'text', kind: 'text', at: 'ts', ok: 'bool', note: 'text', run_id: 'bigint' },
  restore_test_register: {
    id: 'bigint', run_id: 'bigint', client: 'text', tested_at: 'ts', quarter: 'text', backup_used: 'text', environment: 'text', restore_minutes: 'numeric2',
    records_verified: 'json', checks: 'json', executed_by: 'text', verified_by_qa: 'text', verified_by_qa_id: 'text', verified_by_qa_at: 'ts',
    result: 'text', observations: 'text', approval_id: 'bigint',
  },
  restore_incidents: {
    id: 'bigint', approval_id: 'bigint', client: 'text', at: 'ts', description: 'text', backup_used: 'text', recovery_minutes: 'numeric2', data_lost: 'text',
    corrective_actions: 'text',
  },
  approvals: {
    id: 'bigint', client: 'text', scope: 'text', tables: 'json', backup_id: 'bigint', backup_key: 'text', reason: 'text', ticket: 'text', planned_start: 'ts',
    checklist: 'json', requested_by: 'text', requested_by_name: 'text', requested_at: 'ts', expires_at: 'ts', request_hash: 'text', strategy: 'text',
    backup_file: 'text', backup_sha256: 'text', backup_taken_at: 'ts', impact: 'json',
  },
  signatures: {
    id: 'bigint', kind: 'text', subject: 'text', client: 'text', meaning: 'text', signer_id: 'text', signer_name: 'text', signer_role: 'text', statement: 'text',
    reason: 'text', signed_at: 'ts', key_id: 'text', content: 'text', signature: 'text',
  },
} as const satisfies Record<string, Record<string, ColType>>;

/**
 * Columns added to a chain after rows were written: hashed only when they hold a value, so a row written before
 * the column existed (or that leaves it empty) keeps the content, and the hash, it was written with.
 */
const CHAIN_ADDED: Partial<Record<keyof typeof CHAINS, Record<string, ColType>>> = {
  backup_register: { ticket: 'text', reason: 'text' },
  restore_incidents: {
    incident_id: 'bigint', status: 'text', severity: 'text', source: 'text', cause: 'text', responsible: 'text', closed_at: 'ts', recorded_by: 'text',
  },
};

export type ChainName = keyof typeof CHAINS;
export const CHAIN_NAMES = Object.keys(CHAINS) as ChainName[];

/** Namespace of the per-chain append lock (pg_advisory_xact_lock(ns, hashtext(chain))). */
const LOCK_NS_CHAIN = 0x6b6b_0004;

function normalize(v: unknown, t: ColType): unknown {
  if (v === null || v === undefined) return null;
  switch (t) {
    case 'ts': return new Date(v as string | Date).toISOString();
    case 'bigint': return String(v);
    case 'int': return Number(v);
    case 'numeric2': return Math.round(Number(v) * 100) / 100;
    case 'bool': return Boolean(v);
    case 'json': return JSON.parse(JSON.stringify(v)) as unknown;
    default: return String(v);
  }
}

/** The canonical content of a chained row, as hashed (and as the exports show it). */
export function chainContent(chain: ChainName, row: Record<string, unknown>): string {
  const cols = CHAINS[chain] as Record<string, ColType>;
  const out: Record<string, unknown> = { chain, chain_seq: String(row.chain_seq) };
  for (const [c, t] of Object.entries(cols)) out[c] = normalize(row[c], t);
  for (const [c, t] of Object.entries(CHAIN_ADDED[chain] ?? {})) if (row[c] !== null && row[c] !== undefined) out[c] = normalize(row[c], t);
  return canonicalJson(out);
}

const isPool = (db: Queryable): db is Pool => typeof (db as Pool).connect === 'function' && typeof (db as Pool).totalCount === 'number';

/** Takes the chain's append lock for the caller's transaction (a check that must hold until its append). */
export async function lockChain(c: Queryable, chain: ChainName): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_NS_CHAIN, chain]);
}

export async function inTransaction<T>(db: Queryable, fn: (c: Queryable) => Promise<T>): Promise<T> {
  if (!isPool(db)) return fn(db); // a client the caller already runs a transaction on
  const c: PoolClient = await db.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => { broken = err; };
  c.on('error', onError);
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.off('error', onError);
    c.release(broken);
  }
}

/**
 * Appends a row to an evidence chain: under the chain's lock, the next place and the previous hash are read,
 * the id is drawn, and the row is inserted with its hash. Every hashed column is given explicitly (no database
 * default), so what was hashed is exactly what is stored.
 */
export async function appendChained<R>(db: Queryable, chain: ChainName, values: Record<string, unknown>): Promise<R> {
  const cols: Record<string, ColType> = { ...(CHAINS[chain] as Record<string, ColType>), ...(CHAIN_ADDED[chain] ?? {}) };
  return inTransaction(db, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_NS_CHAIN, chain]);
    const table = pg.escapeIdentifier(chain);
    const last = (await c.query<{ chain_seq: string; row_hash: string }>(`SELECT chain_seq, row_hash FROM ${table} WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1`)).rows[0];
    const id = values.id !== undefined && values.id !== null ? String(values.id)
      : (await c.query<{ id: string }>('SELECT nextval(pg_get_serial_sequence($1, \'id\'))::text AS id', [`${SCHEMA}.${chain}`])).rows[0]!.id;
    const chainSeq = last ? String(BigInt(last.chain_seq) + 1n) : '1';
    const row: Record<string, unknown> = { ...values, id, chain_seq: chainSeq };
    const prevHash = last?.row_hash ?? GENESIS_HASH;
    const rowHash = chainHash(prevHash, chainContent(chain, row));
    const names = [...Object.keys(cols), 'chain_seq', 'prev_hash', 'row_hash'];
    const params = [
      ...Object.entries(cols).map(([k, t]) => (row[k] === undefined || row[k] === null ? null : t === 'json' ? JSON.stringify(row[k]) : row[k])),
      chainSeq, prevHash, rowHash,
    ];
    const r = await c.query(`INSERT INTO ${table} (${names.map((n) => pg.escapeIdentifier(n)).join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`, params);
    return r.rows[0] as R;
  });
}

export interface ChainRow { id: string; chain_seq: string | null; prev_hash: string | null; row_hash: string | null; [col: string]: unknown }

/** Every row of a chain (chained rows by place, then rows outside the chain by id), for verification and export. */
export async function readChain(db: Queryable, chain: ChainName): Promise<ChainRow[]> {
  const r = await db.query(`SELECT * FROM ${pg.escapeIdentifier(chain)} ORDER BY chain_seq NULLS LAST, id`);
  return r.rows as ChainRow[];
}

/** The newest place and hash of each chain (what a signed head commits to). */
export async function chainTips(db: Queryable): Promise<Array<{ chain: ChainName; chainSeq: string; rowHash: string }>> {
  const out: Array<{ chain: ChainName; chainSeq: string; rowHash: string }> = [];
  for (const chain of CHAIN_NAMES) {
    const r = await db.query<{ chain_seq: string; row_hash: string }>(`SELECT chain_seq, row_hash FROM ${pg.escapeIdentifier(chain)} WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1`);
    if (r.rows[0]) out.push({ chain, chainSeq: r.rows[0].chain_seq, rowHash: r.rows[0].row_hash });
  }
  return out;
}
