import type { Queryable } from './queryable.js';
import { appendChained } from './chain.js';
import { zonedParts } from '../core/time.js';

export interface RestoreTestRow {
  id: string;
  run_id: string | null;
  client: string;
  tested_at: Date;
  quarter: string;
  backup_used: string | null;
  environment: 'Test' | 'Prod';
  restore_minutes: string | null;
  records_verified: Record<string, number | { staging: number; production?: number | null }>;
  checks: Array<{ name: string; ok: boolean; detail?: string }>;
  executed_by: string;
  verified_by_qa: string | null;
  verified_by_qa_id: string | null;
  verified_by_qa_at: Date | null;
  /** The QA signature (signatures row) behind "Verificado Por (QA)", when there is one. */
  qa_signature_id?: string | null;
  qa_key_id?: string | null;
  qa_signature?: string | null;
  chain_seq?: string | null;
  row_hash?: string | null;
  result: 'OK' | 'Fail';
  observations: string;
  approval_id: string | null;
}

export interface NewRestoreTestRow {
  runId?: string | null;
  client: string;
  testedAt: Date;
  backupUsed?: string | null;
  environment?: 'Test' | 'Prod';
  restoreMinutes?: number | null;
  recordsVerified?: RestoreTestRow['records_verified'];
  checks?: RestoreTestRow['checks'];
  executedBy: string;
  result: 'OK' | 'Fail';
  observations?: string;
  approvalId?: string | null;
}

/** `2026-Q4` for a date, in the given time zone. */
export function quarterOf(d: Date, timeZone = 'UTC'): string {
  const { year, month } = zonedParts(d, timeZone);
  return `${year}-Q${Math.ceil(Number(month) / 3)}`;
}

/** A §12 row (evidence, chained). Its QA verification is a signature (src/store/signatures.ts), shown by restore_test_rows. */
export async function insertRestoreTest(db: Queryable, t: NewRestoreTestRow, timeZone = 'UTC'): Promise<RestoreTestRow> {
  const row = await appendChained<RestoreTestRow>(db, 'restore_test_register', {
    run_id: t.runId ?? null, client: t.client, tested_at: t.testedAt, quarter: quarterOf(t.testedAt, timeZone), backup_used: t.backupUsed ?? null,
    environment: t.environment ?? 'Test', restore_minutes: t.restoreMinutes ?? null, records_verified: t.recordsVerified ?? {}, checks: t.checks ?? [],
    executed_by: t.executedBy, verified_by_qa: null, verified_by_qa_id: null, verified_by_qa_at: null, result: t.result, observations: t.observations ?? '',
    approval_id: t.approvalId ?? null,
  });
  return (await getRestoreTest(db, row.id))!;
}

export async function getRestoreTest(db: Queryable, id: string): Promise<RestoreTestRow | undefined> {
  const r = await db.query('SELECT * FROM restore_test_rows WHERE id = $1', [id]);
  return r.rows[0] as RestoreTestRow | undefined;
}

export async function listRestoreTests(db: Queryable, f: { client?: string; environment?: 'Test' | 'Prod'; result?: 'OK' | 'Fail'; limit?: number } = {}): Promise<RestoreTestRow[]> {
  const r = await db.query(
    `SELECT * FROM restore_test_rows WHERE ($1::text IS NULL OR client = $1) AND ($2::text IS NULL OR environment = $2)
       AND ($3::text IS NULL OR result = $3)
     ORDER BY tested_at DESC, id DESC LIMIT $4`,
    [f.client ?? null, f.environment ?? null, f.result ?? null, f.limit ?? 1000],
  );
  return r.rows as RestoreTestRow[];
}
