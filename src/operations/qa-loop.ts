import type { Context } from '../context.js';
import { parseDuration } from '../config/duration.js';
import { errorMessage } from '../core/errors.js';
import type { RestoreTestRow } from '../store/restore-test-register.js';

/**
 * QA in the loop (SOP-001 §3, §8.3, §12): every §12 row that passed — a restore test, or a production restore —
 * is put to the client's QA with the *QA verified* button; a row still unsigned after `restoreTest.qaReminder`
 * is reminded once; and with `restoreTest.requireQa` a test counts for its quarter only once it is signed.
 */

/** Whether a §12 row counts as the quarter's restore test. */
export function countsAsDone(t: Pick<RestoreTestRow, 'result' | 'verified_by_qa'>, requireQa: boolean): boolean {
  return t.result === 'OK' && (!requireQa || t.verified_by_qa !== null);
}

/** Passing rows still waiting for QA's signature, and since when they are overdue (after qaReminder). */
export function awaitingQa(ctx: Context, client: string, rows: RestoreTestRow[], now: Date): Array<{ row: RestoreTestRow; overdue: boolean; dueAt: Date }> {
  const waitMs = parseDuration(ctx.client(client).restoreTest.qaReminder) ?? 2 * 86_400_000;
  return rows.filter((t) => t.result === 'OK' && t.verified_by_qa === null).map((row) => {
    const dueAt = new Date(new Date(row.tested_at).getTime() + waitMs);
    return { row, dueAt, overdue: dueAt.getTime() <= now.getTime() };
  });
}

/** Asks the client's QA to verify a passing §12 row (posted once when it is recorded). */
export async function requestQaVerification(ctx: Context, row: RestoreTestRow, o: { reminder?: boolean; incidentId?: string } = {}): Promise<void> {
  if (row.result !== 'OK' || row.verified_by_qa) return;
  await ctx.reporter.report({
    kind: 'restore_test.qa_requested', client: row.client, registerId: row.id, environment: row.environment as 'Test' | 'Prod', quarter: row.quarter,
    backupFile: row.backup_used ?? '?', testedAt: new Date(row.tested_at), approvalId: row.approval_id ?? null, reminder: o.reminder ?? false, audience: ['qa'], ...(o.incidentId ? { incidentId: o.incidentId } : {}),
  });
}

/** The reminders due now (once per row, recorded in the audit log); returns the rows reminded. */
export async function remindQa(ctx: Context, input: { clients?: string[] } = {}): Promise<RestoreTestRow[]> {
  const now = ctx.clock.now();
  const out: RestoreTestRow[] = [];
  for (const client of input.clients ?? Object.keys(ctx.config.clients)) {
    const rows = await ctx.store.restoreTests.list({ client, result: 'OK', limit: 50 });
    for (const { row, overdue } of awaitingQa(ctx, client, rows, now)) {
      if (!overdue || (await ctx.store.audit.has('restore_test.qa_reminded', `restore_test:${row.id}`))) continue;
      try {
        await requestQaVerification(ctx, row, { reminder: true });
        await ctx.store.audit.append({ actor: 'backup-bot', action: 'restore_test.qa_reminded', client, target: `restore_test:${row.id}`, details: { quarter: row.quarter, environment: row.environment } });
        out.push(row);
      } catch (err) {
        ctx.logger.warn({ client, row: row.id, err: errorMessage(err) }, 'could not remind QA');
      }
    }
  }
  return out;
}
