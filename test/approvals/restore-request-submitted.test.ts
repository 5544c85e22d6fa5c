import type { Bot } from '../slack/harness.js';
import type { TestDatabase } from '../helpers/db.js';
import { listApprovals } from '../../src/store/approvals.js';
import { listAudit } from '../../src/store/audit.js';
import type { BackupRow } from '../../src/store/backup-register.js';
import { REQUESTER_CHECKLIST_IDS } from '../../src/operations/request-restore.js';
import { shown, startApprovalBot, submit } from '../slack/interactions.js';
import { makeVerifiedBackup } from '../operations/restore-fixtures.js';

/**
 * Submission of the /restore request modal (restore_request_modal → src/approvals/restore-request-submitted.ts):
 * what is missing from the form is refused inline; the rest is acknowledged and checked again on the server
 * (operator role from the config, a verified backup of this client, the checklist). A refusal stores no request.
 */
let bot: Bot & { other: TestDatabase };
let backup: BackupRow;
let otherBackup: BackupRow;
beforeAll(async () => {
  bot = await startApprovalBot();
  backup = await makeVerifiedBackup(bot.pool, { url: bot.demo.url, storageDir: bot.storageDir, takenAt: new Date(Date.now() - 3_600_000) });
  otherBackup = await makeVerifiedBackup(bot.pool, { client: 'other', url: bot.other.url, storageDir: bot.storageDir, takenAt: new Date(Date.now() - 3_600_000) });
});
afterAll(async () => { await bot?.close(); });

interface Form { backupId?: string; scope?: 'full' | 'partial'; tables?: string; reason?: string; checklist?: string[] }
function values(f: Form = {}): Record<string, Record<string, unknown>> {
  return {
    backup: { value: { type: 'static_select', selected_option: f.backupId === '' ? null : { value: f.backupId ?? backup.id } } },
    scope: { value: { type: 'radio_buttons', selected_option: { value: f.scope ?? 'full' } } },
    tables: { value: { type: 'plain_text_input', value: f.tables ?? null } },
    reason: { value: { type: 'plain_text_input', value: f.reason ?? 'lots corrupted by a faulty import' } },
    ticket: { value: { type: 'plain_text_input', value: 'INC-7' } },
    checklist: { value: { type: 'checkboxes', selected_options: (f.checklist ?? REQUESTER_CHECKLIST_IDS).map((value) => ({ value })) } },
  };
}
let n = 0;
const send = (userId: string, f: Form = {}, metadata = JSON.stringify({ client: 'demo' })) =>
  submit(bot, { userId, viewId: `V0REQ${++n}`, callbackId: 'restore_request_modal', metadata, values: values(f) });

/** The registers hold no new request and no new request audit. */
async function requestsAndAudit() {
  return { approvals: (await listApprovals(bot.pool)).length, requested: (await listAudit(bot.pool, { action: 'restore.requested' })).length };
}

test('an operator with a verified backup: the request is stored pending and posted with its buttons', async () => {
  const before = await requestsAndAudit();
  const r = await send('U0OPER');
  expect(r.json).toMatchObject({ response_action: 'update' });
  expect(shown(r.outcome)).toMatch(/Request #\d+ is posted in <#C0DEMO> and waits for the written approval/);
  const [req] = await listApprovals(bot.pool, { client: 'demo' });
  expect(req).toMatchObject({ status: 'pending', requested_by: 'U0OPER', backup_id: backup.id, ticket: 'INC-7' });
  expect(await requestsAndAudit()).toEqual({ approvals: before.approvals + 1, requested: before.requested + 1 });
  expect(JSON.stringify(bot.emu.messages.get(`C0DEMO:${req!.slack_ts}`)!.blocks)).toContain('approve_restore');
});

test.each([
  ['no backup chosen', { backupId: '' }, { backup: 'Choose the backup to restore.' }],
  ['no reason', { reason: '  ' }, { reason: 'A reason is required (SOP-001 13.3).' }],
  ['a partial restore without tables', { scope: 'partial' as const }, { tables: 'A partial restore needs the tables (comma-separated).' }],
  ['tables on a full restore', { tables: 'lotes' }, { tables: 'Tables are only for a partial restore; clear this field or choose "Chosen tables".' }],
])('%s: refused inline, naming the field; nothing stored', async (_what, form, errors) => {
  const before = await requestsAndAudit();
  const r = await send('U0OPER', form);
  expect(r.json).toEqual({ response_action: 'errors', errors });
  expect(r.outcome).toBeUndefined();
  expect(await requestsAndAudit()).toEqual(before);
});

test('a form that is not a request of this bot: refused inline; nothing stored', async () => {
  const before = await requestsAndAudit();
  for (const metadata of ['', 'demo', JSON.stringify({ client: 'x'.repeat(100) })]) {
    const r = await send('U0OPER', {}, metadata);
    expect(r.json).toEqual({ response_action: 'errors', errors: { reason: 'This form is not a restore request of this bot.' } });
  }
  expect(await requestsAndAudit()).toEqual(before);
});

test.each([
  ['QA of demo', 'U0QA', 'Sorry, to request a production restore of demo you need the *operator* role on *demo*. Nothing was done.', 'missing role operators'],
  ['the System Owner of demo', 'U0OWNER', 'Sorry, to request a production restore of demo you need the *operator* role on *demo*.', 'missing role operators'],
  ['the operator of another client', 'U0OTHEROP', 'Sorry, there is no client \\"demo\\" on which you hold a role', 'no role on this client'],
  ['someone with no role', 'U0STRANGER', 'Sorry, there is no client \\"demo\\" on which you hold a role', 'no role on this client'],
])('wrong role: a submission by %s (the modal was never shown to them) is refused by the server; audited; nothing stored', async (_who, userId, text, reason) => {
  const before = await requestsAndAudit();
  const r = await send(userId);
  expect(shown(r.outcome)).toContain(`Not requested: ${text}`);
  expect(await requestsAndAudit()).toEqual(before);
  expect((await listAudit(bot.pool, { action: 'authz.refused' })).filter((a) => a.actor === userId && a.target === 'request a production restore of demo').at(-1)).toMatchObject({ reason });
});

test("a backup of another client, or one that does not exist: refused by the server; audited; nothing stored", async () => {
  const before = await requestsAndAudit();
  const refusedBefore = (await listAudit(bot.pool, { action: 'restore.request_refused' })).length;
  const a = await send('U0OPER', { backupId: otherBackup.id });
  expect(shown(a.outcome)).toContain(`Not requested: backup ${otherBackup.id} is not a backup of demo`);
  const b = await send('U0OPER', { backupId: '999999' });
  expect(shown(b.outcome)).toContain('Not requested: backup 999999 is not a backup of demo');
  // the client named in the form is checked too: the operator of demo asking for other's backup under "other"
  const c = await send('U0OPER', { backupId: otherBackup.id }, JSON.stringify({ client: 'other' }));
  expect(shown(c.outcome)).toContain('Not requested: Sorry, there is no client \\"other\\" on which you hold a role');
  expect(await requestsAndAudit()).toEqual(before);
  expect((await listAudit(bot.pool, { action: 'restore.request_refused' })).length).toBe(refusedBefore + 2);
});

test('the checklist not complete: refused, naming what is still to confirm; nothing stored', async () => {
  const before = await requestsAndAudit();
  const r = await send('U0OPER', { checklist: REQUESTER_CHECKLIST_IDS.slice(1) });
  expect(shown(r.outcome)).toContain('Not requested: the pre-restore checklist (SOP-001 13.3) is not complete; still to confirm:');
  expect(await requestsAndAudit()).toEqual(before);
});
