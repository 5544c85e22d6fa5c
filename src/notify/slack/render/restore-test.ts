import type { OutMessage } from '../../sink.js';
import { formatDateTime } from '../../../core/time.js';
import { formatDuration } from '../../../config/duration.js';
import { redactSecrets } from '../../../core/redact.js';
import type { RestoreTestView } from '../../../operations/views.js';
import { code, literal } from '../literal.js';

const cut = (s: string, n = 2900) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text: cut(redactSecrets(text)) } });
const context = (text: string) => ({ type: 'context', elements: [{ type: 'mrkdwn', text: cut(redactSecrets(text), 2000) }] });

function stepLines(v: RestoreTestView): string[] {
  const failedAt = v.result && !v.result.ok ? v.result.failedStep : undefined;
  return v.plan.map(({ name: step, label: text }) => {
    const reached = (v.reached as string[]).includes(step);
    let mark = '◻️';
    if (failedAt === step) mark = '❌';
    else if (reached && (v.step !== step || v.result)) mark = '✅';
    else if (reached) mark = '⏳';
    return `${mark} ${text}`;
  });
}

function checkLines(checks: Array<{ name: string; ok: boolean; detail?: string }>): string[] {
  return checks.map((c) => `${c.ok ? '✅' : '❌'} ${literal(c.name)}${c.detail ? `: ${literal(c.detail)}` : ''}`);
}

/** The one message of a restore test: live steps, then the result with the checks one per line. */
export function renderRestoreTest(v: RestoreTestView, o: { qaAction?: string } = {}): OutMessage {
  const head = `Restore test of *${v.client}* — backup ${code(v.backupFile)}${v.backupTakenAt ? ` (taken ${formatDateTime(v.backupTakenAt, v.timezone)})` : ''}`;
  const blocks: unknown[] = [];
  const lines: string[] = [];
  if (!v.result) {
    blocks.push(section(`:hourglass_flowing_sand: ${head}\nStarted by ${literal(v.actorName)}${v.image ? ` in a throwaway ${code(v.image)} container` : ''}${v.engine ? ` on Docker engine ${code(v.engine)}` : ''} (never production).`));
    blocks.push(section(stepLines(v).join('\n')));
    blocks.push(context(`Run ${v.runId}`));
    lines.push(`Restore test of ${v.client}: ${v.plan.find((s) => s.name === v.step)?.label ?? v.step}…`);
    return { text: cut(lines.join('\n')), blocks };
  }
  const r = v.result;
  const title = r.ok ? `:white_check_mark: ${head} — *passed*` : `:x: ${head} — *FAILED*${r.failedStep ? ` at step _${r.failedStep}_` : ''}`;
  blocks.push(section(title));
  if (!r.ok && r.error) blocks.push(section(`*Reason:* ${literal(r.error.slice(0, 1500))}`));
  if (r.checks.length) blocks.push(section(`*Checks*\n${checkLines(r.checks.slice(0, 40)).join('\n')}${r.checks.length > 40 ? `\n… and ${r.checks.length - 40} more` : ''}`));
  const timing: string[] = [];
  if (r.restoreMs != null) {
    const within = r.restoreMs <= v.rtoMs;
    timing.push(`Restore time ${formatDuration(r.restoreMs)} ${within ? '≤' : '>'} RTO ${formatDuration(v.rtoMs)}${within ? '' : ' :warning: over the RTO'}`);
  }
  if (r.totalMs != null) timing.push(`whole test ${formatDuration(r.totalMs)}`);
  if (timing.length) blocks.push(section(timing.join(' · ')));
  blocks.push(section(stepLines(v).join('\n')));
  if (r.registerId) {
    if (r.verifiedByQa) {
      blocks.push(context(`:ballot_box_with_check: Verificado por (QA): ${literal(r.verifiedByQa.name)} at ${formatDateTime(r.verifiedByQa.at, v.timezone)} · register row ${r.registerId}`));
    } else if (o.qaAction) {
      blocks.push({
        type: 'actions',
        elements: [{ type: 'button', action_id: o.qaAction, value: r.registerId, text: { type: 'plain_text', text: 'QA verified' }, ...(r.ok ? { style: 'primary' } : {}) }],
      });
      blocks.push(context(`Recorded in the restore-test register (SOP-001 §12), row ${r.registerId}; only QA can mark it verified. Run ${v.runId}.`));
    }
  }
  lines.push(`Restore test of ${v.client} (backup ${literal(v.backupFile)}): ${r.ok ? 'passed' : `FAILED${r.failedStep ? ` at step ${r.failedStep}` : ''}`}`);
  if (!r.ok && r.error) lines.push(`Reason: ${literal(r.error)}`);
  lines.push(...checkLines(r.checks).map((l) => `  ${l}`));
  if (timing.length) lines.push(timing.join(' · '));
  if (r.verifiedByQa) lines.push(`Verified by QA: ${literal(r.verifiedByQa.name)}`);
  return { text: cut(redactSecrets(lines.join('\n'))), blocks: blocks.slice(0, 50) };
}

/** The S2 alert posted when a restore test fails (runbook 4.5: escalate at once), naming who must act. */
export function renderRestoreTestAlert(v: { client: string; backupFile: string; failedStep?: string; error: string; runId: string; severity: string; incidentId?: string }, o: { mentions: string; incidentAction?: string }): OutMessage {
  const text = `:rotating_light: ${v.severity} — restore test of ${v.client} FAILED at step "${literal(v.failedStep ?? '?')}" (backup ${literal(v.backupFile)}): ${literal(v.error)}${o.mentions ? `\n${o.mentions}` : ''}`;
  return {
    text: cut(redactSecrets(text)),
    blocks: [
      section(`:rotating_light: *${v.severity} — restore test of ${v.client} failed* at step *${literal(v.failedStep ?? '?')}*\nBackup ${code(v.backupFile)}\n*Reason:* ${literal(v.error.slice(0, 1500))}${o.mentions ? `\n${o.mentions}` : ''}`),
      context(`The staging container's last log lines are kept in run ${v.runId} (\`backup-bot\` run details). Runbook §4.5: open an S2 ticket and fix the backup process.${v.incidentId ? ` Incident #${v.incidentId} (SOP-001 §13.5).` : ''}`),
      ...incidentButton(o.incidentAction, v.incidentId),
    ],
  };
}

/** "Record cause / close" on an alert or a result: opens the incident modal (the value is only the incident's number). */
export function incidentButton(actionId: string | undefined, incidentId: string | undefined): unknown[] {
  if (!actionId || !incidentId) return [];
  return [{ type: 'actions', elements: [{ type: 'button', action_id: actionId, value: incidentId, text: { type: 'plain_text', text: 'Record cause / close incident' } }] }];
}
