import { z } from 'zod';
import type { Context } from '../context.js';
import { hasRole, ROLE_LABEL } from './authorize.js';
import { restoreTestSubject, signDecision } from '../evidence/decisions.js';

import { type RestoreTestRow } from '../store/restore-test-register.js';

import { formatDateTime } from '../core/time.js';
import { errorMessage } from '../core/errors.js';
import type { RestoreTestView } from './views.js';
import { planOf } from './runbook.js';
import { RESTORE_TEST_STEPS } from './restore-test-steps.js';

export interface QaVerifyInput { registerId: string; userId: string; userName: string }
export type QaVerifyResult = { ok: true; row: RestoreTestRow } | { ok: false; reason: string };

const input = z.object({
  registerId: z.string().regex(/^\d{1,18}$/, 'must be a restore-test register row id (digits)'),
  userId: z.string().regex(/^[UW][A-Z0-9]{2,20}$/, 'must be a Slack user ID'),
  userName: z.string().trim().min(1).max(200),
});

/**
 * "QA verified" on a restore-test result (SOP-001 §12 "Verificado Por (QA)"). The register row id came
 * back in a button, so nothing in it is trusted: the row is read from the register, the QA role of the
 * row's client is re-checked from the config, the launcher may not sign (four eyes), a failed test is not
 * verified, and the verification is an Ed25519 signature over the recorded row (once per test).
 * Every outcome is audited.
 */
export async function qaVerifyRestoreTest(ctx: Context, raw: QaVerifyInput): Promise<QaVerifyResult> {
  const parsed = input.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, reason: `invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}` };
  }
  const { registerId, userId, userName } = parsed.data;
  const row = await ctx.store.restoreTests.get(registerId);
  if (!row) return { ok: false, reason: `Restore test ${registerId} is not in the register; nothing was signed` };

  if (!(await hasRole(ctx, row.client, userId, 'qa'))) {
    await ctx.store.audit.append({ actor: userId, action: 'restore_test.qa_verify_refused', client: row.client, target: `restore_test:${row.id}`, reason: 'missing role qa', details: { userName } });
    return { ok: false, reason: `only QA of ${row.client} can mark a restore test verified (clients.${row.client}.roles.qa); nothing was changed` };
  }
  const refused = async (reason: string, why: string) => {
    await ctx.store.audit.append({ actor: userId, action: 'restore_test.qa_verify_refused', client: row.client, target: `restore_test:${row.id}`, reason: why, details: { userName } });
    return { ok: false as const, reason };
  };
  // Four eyes: whoever launched the test does not also sign it as QA (who launched it is read from the audit log).
  if (row.run_id && (await ctx.store.audit.actors('restore_test.started', `run:${row.run_id}`)).includes(userId)) {
    return refused('you launched this restore test, so you cannot also verify it as QA (four eyes: another QA member must sign); nothing was signed', 'four eyes: the launcher may not sign as QA');
  }
  if (row.verified_by_qa) return alreadyVerified(ctx, row);
  const run = row.run_id ? await ctx.store.runs.get(row.run_id) : undefined;
  if (run?.status === 'running') return refused(`this ${row.environment === 'Prod' ? 'production restore' : 'restore test'} is still running (run ${run.id}): verify it once it has finished. Nothing was signed`, 'still running');
  if (row.result !== 'OK') return refused(`this restore test failed (${row.result}): there is nothing to verify as QA; fix the cause and run a new test. Nothing was signed`, 'the test failed');
  const at = ctx.clock.now();
  const statement = `I, ${userName}, QA of ${row.client}, have reviewed the restore test of ${row.client} recorded in the §12 register (row ${row.id}, ${row.quarter}, backup ${row.backup_used ?? '?'}, result ${row.result}) and verify it.`;
  const signature = signDecision(ctx.signer, {
    kind: 'qa-verification', subject: restoreTestSubject(row), subjectId: `restore_test:${row.id}`, client: row.client, meaning: 'qa-verified',
    signer: { slackId: userId, name: userName, role: ROLE_LABEL.qa }, statement, signedAt: at,
  });
  try {
    await ctx.store.transaction(async (tx) => {
      await tx.signatures.insert(signature);
      await tx.audit.append({ actor: userId, action: 'restore_test.qa_verified', client: row.client, target: `restore_test:${row.id}`, details: { userName, result: row.result, runId: row.run_id, keyId: signature.keyId } });
    });
  } catch (err) {
    if ((err as { code?: string }).code !== '23505') throw err; // one QA signature per test: a second click lost the race
    return alreadyVerified(ctx, (await ctx.store.restoreTests.get(row.id)) ?? row);
  }
  const updated = (await ctx.store.restoreTests.get(row.id))!;
  await refreshMessage(ctx, updated).catch((err) => ctx.logger.warn({ err: errorMessage(err), row: row.id }, 'could not update the restore-test message'));
  return { ok: true, row: updated };
}

function alreadyVerified(ctx: Context, row: RestoreTestRow): QaVerifyResult {
  const when = row.verified_by_qa_at ? formatDateTime(new Date(row.verified_by_qa_at), ctx.config.timezone) : '?';
  return { ok: false, reason: `already verified by ${row.verified_by_qa ?? '?'} at ${when}` };
}

/** Re-renders the run's result message with "Verificado por (QA)" instead of the button. */
async function refreshMessage(ctx: Context, row: RestoreTestRow): Promise<void> {
  if (!row.run_id) return;
  const run = await ctx.store.runs.get(row.run_id);
  const view = run?.details?.view as (RestoreTestView & { backupTakenAt?: string | Date }) | undefined;
  if (!run?.slack_channel || !run.slack_ts || !view?.result) return;
  const v: RestoreTestView = {
    ...view,
    backupTakenAt: view.backupTakenAt ? new Date(view.backupTakenAt) : null,
    plan: view.plan ?? planOf(RESTORE_TEST_STEPS), // runs recorded before the plan was part of the view
    result: { ...view.result, verifiedByQa: { name: row.verified_by_qa!, at: new Date(row.verified_by_qa_at!) } },
  };
  await ctx.reporter.report({ kind: 'restore_test.progress', client: row.client, view: v }, { channel: run.slack_channel, ts: run.slack_ts });
}
