import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startBot, DEMO_CHANNEL, type Bot } from '../slack/harness.js';
import { buttonClickPayload, interactivityBody, sendSigned } from '../slack/sign.js';
import { viewSubmission } from '../slack/interactions.js';
import { SAMPLE_TABLES } from '../../src/core/demo-database.js';
import { REQUESTER_CHECKLIST_IDS } from '../../src/operations/request-restore.js';
import { getApproval, listApprovals } from '../../src/store/approvals.js';
import { getBackup, listBackups } from '../../src/store/backup-register.js';
import { listAudit } from '../../src/store/audit.js';
import { decisionVerifies } from '../helpers/evidence.js';
import { tableChecksums, writeAfterBackup } from '../operations/restore-fixtures.js';
import { until } from '../helpers/wait.js';

/** Done-when: request → refused approval by a non-owner → approval by the System Owner with typed confirmation → runbook → production equals the backup. */
let bot: Bot;
const pool = () => bot.pool;
const idle = () => bot.server.slack!.background.idle(180_000);

const click = (actionId: string, value: string, userId: string, messageTs: string) =>
  sendSigned(bot.eventsUrl, interactivityBody(buttonClickPayload({ actionId, value, userId, channel: DEMO_CHANNEL, messageTs, responseUrl: bot.emu.responseUrl() })));

/** The latest state of the newest view the bot opened. */
function lastView(): { id: string; view: any } {
  const views = [...bot.emu.views.values()];
  return views[views.length - 1]!;
}


beforeAll(async () => {
  bot = await startBot({ client: { notifyChannel: 'C0USERS', verify: { minTables: 1, tables: SAMPLE_TABLES }, roles: { systemOwners: ['U0OWNER'], itManagers: ['U0ITMGR'], qa: ['U0QA'], operators: ['U0OPER'] } } });
});
afterAll(async () => { await bot?.close(); });

test('request → refused non-owner → signed System Owner approval → runbook → production equals the backup', async () => {
  // A verified backup taken through Slack, then production moves on.
  expect((await bot.slash('now demo')).status).toBe(200);
  await idle();
  const [backup] = await listBackups(pool(), { client: 'demo', verifiedOnly: true });
  expect(backup).toBeDefined();
  const atBackup = await tableChecksums(bot.demo.url);
  await writeAfterBackup(bot.demo.url);
  const beforeRestore = await tableChecksums(bot.demo.url);

  // 1. /restore demo → modal opened at once, then updated with the verified backups
  const res = await bot.slash('demo', { command: '/restore', user: 'U0OPER' });
  expect(res.status).toBe(200);
  expect(res.ms).toBeLessThan(3000);
  const opened = await until('the restore request modal', () => { const v = lastView(); return v?.view?.callback_id === 'restore_request_modal' && JSON.stringify(v.view).includes(backup!.id) ? v : undefined; }, 15_000, 50);
  expect(bot.emu.callsTo('views.open').length).toBeGreaterThan(0);
  expect(bot.emu.callsTo('views.update').some((c) => c.params.hash)).toBe(true);
  // Each backup shown by its full SOP file name, type and size (issue 18 item 7), within Slack's 75 characters.
  const select = (opened.view.blocks as Array<{ block_id?: string; element?: { options?: Array<{ text: { text: string }; value: string }> } }>).find((b) => b.block_id === 'backup')!;
  const option = select.element!.options!.find((o) => o.value === backup!.id)!;
  expect(option.text.text).toMatch(new RegExp(`^${backup!.file!.replace(/\./g, '\\.')} · manual · [\\d.]+ [KM]B$`));
  expect(option.text.text.length).toBeLessThanOrEqual(75);

  // 2. submit the request
  const sub = await sendSigned(bot.eventsUrl, viewSubmission({
    userId: 'U0OPER', view: { id: opened.id, callback_id: 'restore_request_modal', private_metadata: opened.view.private_metadata },
    values: {
      backup: { value: { type: 'static_select', selected_option: { value: backup!.id } } },
      scope: { value: { type: 'radio_buttons', selected_option: { value: 'full' } } },
      tables: { value: { type: 'plain_text_input', value: null } },
      reason: { value: { type: 'plain_text_input', value: 'lots corrupted by a faulty import (INC-42)' } },
      ticket: { value: { type: 'plain_text_input', value: 'INC-42' } },
      checklist: { value: { type: 'checkboxes', selected_options: REQUESTER_CHECKLIST_IDS.map((value) => ({ value })) } },
    },
  }));
  expect(sub.status).toBe(200);
  await idle();
  const [req] = await listApprovals(pool(), { client: 'demo' });
  expect(req).toMatchObject({ status: 'pending', requested_by: 'U0OPER', requested_by_name: 'Olga Operator', ticket: 'INC-42', slack_channel: DEMO_CHANNEL });
  const msg = bot.emu.messages.get(`${DEMO_CHANNEL}:${req!.slack_ts}`)!;
  expect(msg.text).toContain('<@U0OWNER>');
  expect(JSON.stringify(msg.blocks)).toContain('"action_id":"approve_restore"');
  expect(JSON.stringify(msg.blocks)).toMatch(/movimientos.*1000 in the backup, 1025 now.*25 rows lost/);

  // 3. a non-owner (the IT Manager) clicks Approve → told why in the modal; nothing decided. (Every refusal of the
  // buttons and modals, a forged submission included, has its own test at the handler's path: approve-restore,
  // approval-submitted, reject-restore, start-restore.)
  expect((await click('approve_restore', req!.id, 'U0ITMGR', req!.slack_ts!)).status).toBe(200);
  await idle();
  expect(JSON.stringify(lastView().view)).toContain('only the System Owner of demo can approve a full production restore (SOP-001 9.1). Nothing was done.');
  expect((await getApproval(pool(), req!.id))!.status).toBe('pending');

  // 4. the System Owner: modal with the whole statement; a wrong typed name is refused; then signed
  expect((await click('approve_restore', req!.id, 'U0OWNER', req!.slack_ts!)).status).toBe(200);
  const modal = await until('the approve modal', () => { const v = lastView(); return v.view.callback_id === 'approve_restore_modal' && v.view.submit ? v : undefined; }, 15_000, 50);
  expect(JSON.stringify(modal.view)).toContain(`I, Sofía Owner, System Owner of demo, approve restoring the production database of demo from backup ${backup!.file} taken`);
  expect(JSON.stringify(modal.view)).toContain('will be lost');
  const wrong = await sendSigned(bot.eventsUrl, viewSubmission({ userId: 'U0OWNER', view: { id: modal.id, callback_id: 'approve_restore_modal', private_metadata: modal.view.private_metadata }, values: { confirm_client: { value: { value: 'dmo' } }, statement: { value: { selected_options: [{ value: 'signed' }] } } } }));
  expect(wrong.json).toMatchObject({ response_action: 'errors', errors: { confirm_client: expect.stringMatching(/type the client's name exactly/) } });
  const ok = await sendSigned(bot.eventsUrl, viewSubmission({ userId: 'U0OWNER', view: { id: modal.id, callback_id: 'approve_restore_modal', private_metadata: modal.view.private_metadata }, values: { confirm_client: { value: { value: 'demo' } }, statement: { value: { selected_options: [{ value: 'signed' }] } } } }));
  expect(ok.status).toBe(200);
  expect(ok.json).toMatchObject({ response_action: 'update' });
  await idle();
  expect(JSON.stringify(bot.emu.callsTo('views.update').filter((c) => c.params.view_id === modal.id).at(-1)?.params.view)).toContain('You approved restore');
  const approved = (await getApproval(pool(), req!.id))!;
  expect(approved).toMatchObject({ status: 'approved', decided_by: 'U0OWNER', decided_by_name: 'Sofía Owner', meaning: 'approved' });
  expect(await decisionVerifies(bot.server.ctx, approved)).toBe(true);
  const decided = bot.emu.messages.get(`${DEMO_CHANNEL}:${req!.slack_ts}`)!;
  expect(JSON.stringify(decided.blocks)).not.toContain('approve_restore');
  expect(JSON.stringify(decided.blocks)).toContain('start_restore');
  expect(JSON.stringify(decided.blocks)).toContain(`key ${approved.decision_key_id}`);

  // 5. the requester starts the runbook
  expect((await click('start_restore', req!.id, 'U0OPER', req!.slack_ts!)).status).toBe(200);
  await idle();
  const done = (await getApproval(pool(), req!.id))!;
  expect(done).toMatchObject({ status: 'completed', last_step: 'register' });
  expect(await tableChecksums(bot.demo.url)).toEqual(atBackup);
  const pre = (await getBackup(pool(), done.pre_restore_backup_id!))!;
  expect(pre).toMatchObject({ type: 'pre-restore', verified: true });
  expect((await stat(join(bot.storageDir, pre.key!))).isFile()).toBe(true);
  const audits = (await listAudit(pool(), { client: 'demo' })).filter((a) => a.target === `approval:${req!.id}`);
  expect(audits.map((a) => a.action)).toEqual(expect.arrayContaining(['restore.requested', 'restore.approved', 'restore.started', 'restore.completed']));
  expect(audits.filter((a) => a.action === 'restore.step' && a.details.status === 'done').map((a) => a.details.step))
    .toEqual(['download', 'notify_users', 'pre_restore_backup', 'terminate_connections', 'restore', 'verify', 'switch', 'notify_back', 'register']);
  // No application configured: its two steps did nothing and say so (issue 18 item 3).
  expect(audits.filter((a) => a.action === 'restore.step' && a.details.status === 'skipped').map((a) => [a.details.step, a.details.note]))
    .toEqual([['stop_app', 'no application configured (clients.demo.app)'], ['start_app', 'no application configured (clients.demo.app)']]);
  const runbook = bot.emu.messages.get(`${DEMO_CHANNEL}:${done.runbook_message_ts}`)!;
  expect(runbook.text).toMatch(/^Production restore of demo: completed/);
  // SOP-001 §13.5 and §12: the completed restore is an incident (resolved, for its cause and CAPA), and its §12 row
  // is put to QA with the QA verified button and the incident's button.
  const incidents = await bot.server.ctx.store.incidents.list({ client: 'demo' });
  const incident = incidents.find((i) => i.approval_id === req!.id)!;
  expect(incident).toMatchObject({ status: 'resolved', source: `restore:${req!.id}`, backup_used: backup!.file });
  const qaMsg = [...bot.emu.messages.values()].find((m) => m.channel === DEMO_CHANNEL && /the production restore of \*demo\* \(request #\d+\) passed/.test(m.text))!;
  expect(qaMsg.text).toContain('<@U0QA>');
  expect(JSON.stringify(qaMsg.blocks)).toContain(`"action_id":"qa_verified","value":"${done.register_id}"`);
  expect(JSON.stringify(qaMsg.blocks)).toContain(`"action_id":"record_incident","value":"${incident.id}"`);
  expect(runbook.history.length).toBeGreaterThan(10);
  // the whole flow leaves evidence that verifies: chains, the signed decision, and heads signed now
  const { checkEvidence } = await import('../../src/operations/check-evidence.js');
  const evidence = await checkEvidence(bot.server.ctx, { reason: 'verify', actor: 'test' });
  expect(evidence).toMatchObject({ ok: true, broken: [] });
  expect(evidence.headsSigned).toBeGreaterThan(0);
  // the old database is kept aside, holding production as it was when the restore started (rows written after
  // the backup included); then the test drops it
  expect(done.old_database).toMatch(new RegExp(`^${bot.demo.name}`));
  const oldUrl = new URL(bot.demo.url);
  oldUrl.pathname = `/${done.old_database}`;
  expect(await tableChecksums(oldUrl.toString())).toEqual(beforeRestore);
  expect(beforeRestore).not.toEqual(atBackup);
  const { withPg, PG_ADMIN_URL } = await import('../helpers/db.js');
  await withPg(PG_ADMIN_URL, (c) => c.query(`DROP DATABASE "${done.old_database}" WITH (FORCE)`));
});
