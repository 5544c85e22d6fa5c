import type { Queryable } from './queryable.js';
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

export async function insertRestoreTest(db: Queryable, t: NewRestoreTestRow, timeZone = 'UTC'): Promise<RestoreTestRow> {
  const r = await db.query(
    `INSERT INTO restore_test_register (run_id, client, tested_at, quarter, backup_used, environment, restore_minutes, records_verified, checks,
        executed_by, result, observations, approval_id)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING *`,
    [t.runId ?? null, t.client, t.testedAt, quarterOf(t.testedAt, timeZone), t.backupUsed ?? null, t.environment ?? 'Test',
      t.restoreMinutes ?? null, JSON.stringify(t.recordsVerified ?? {}), JSON.stringify(t.checks ?? []), t.executedBy, t.result,
      t.observations ?? '', t.approvalId ?? null],
  );
  return r.rows[0] as RestoreTestRow;
}

/** Fills "Verificado Por (QA)" once; returns undefined when it was already filled (a second click). */
export async function setQaVerified(db: Queryable, id: string, qa: { id: string; name: string; at: Date }): Promise<RestoreTestRow | undefined> {
  const r = await db.query(
    `UPDATE restore_test_register SET verified_by_qa = $2, verified_by_qa_id = $3, verified_by_qa_at = $4
      WHERE id = $1 AND verified_by_qa IS NULL RETURNING *`,
    [id, qa.name, qa.id, qa.at],
  );
  return r.rows[0] as RestoreTestRow | undefined;
}

export async function getRestoreTest(db: Queryable, id: string): Promise<RestoreTestRow | undefined> {
  const r = await db.query('SELECT * FROM restore_test_register WHERE id = $1', [id]);
  return r.rows[0] as RestoreTestRow | undefined;
}

export async function listRestoreTests(db: Queryable, f: { client?: string; environment?: 'Test' | 'Prod'; result?: 'OK' | 'Fail'; limit?: number } = {}): Promise<RestoreTestRow[]> {
  const r = await db.query(
    `SELECT * FROM restore_test_register WHERE ($1::text IS NULL OR client = $1) AND ($2::text IS NULL OR environment = $2)
       AND ($3::text IS NULL OR result = $3)
     ORDER BY tested_at DESC, id DESC LIMIT $4`,
    [f.client ?? null, f.environment ?? null, f.result ?? null, f.limit ?? 1000],
  );
  return r.rows as RestoreTestRow[];
}
