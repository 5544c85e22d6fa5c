import { DEMO_CHANNEL, startBot, type Bot } from './harness.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { fillSampleDatabase, SAMPLE_TABLES } from '../../src/core/demo-database.js';
import type { Clock } from '../../src/core/time.js';
import { buttonClickPayload, interactivityBody, sendSigned, type SendResult } from './sign.js';
import { requestRestore, REQUESTER_CHECKLIST_IDS } from '../../src/operations/request-restore.js';
import { decideRestore } from '../../src/operations/decide-restore.js';
import { getApproval, type ApprovalRow } from '../../src/store/approvals.js';
import { signaturesFor } from '../../src/store/signatures.js';
import { listAudit } from '../../src/store/audit.js';
import { makeVerifiedBackup } from '../operations/restore-fixtures.js';

/**
 * Button clicks and modal submissions signed as Slack sends them to the running bot, and what the registers hold
 * about a restore request, for the approval handlers' tests.
 */

/** A view_submission payload of one modal. */
export function viewSubmission(o: { userId: string; view: { id: string; callback_id: string; private_metadata?: string }; values: Record<string, Record<string, unknown>> }): string {
  return interactivityBody({
    type: 'view_submission', team: { id: 'T0TEAM', domain: 'acme' }, user: { id: o.userId, username: o.userId.toLowerCase(), name: o.userId.toLowerCase(), team_id: 'T0TEAM' },
    api_app_id: 'A0BACKUP', token: 'deprecated', trigger_id: `${Date.now()}.1.abc`,
    view: { id: o.view.id, type: 'modal', callback_id: o.view.callback_id, private_metadata: o.view.private_metadata ?? '', hash: 'h', blocks: [], state: { values: o.values } },
  });
}

export interface Clicked extends SendResult {
  /** The modal the click opened (latest state), once the bot has nothing left to do. */
  view?: { id: string; view: any };
  /** What the bot sent to the click's response_url (ephemeral answers). */
  answers: any[];
}

const idle = (bot: Bot) => bot.server.slack!.background.idle(180_000);

/** One click on a button of a message in the demo channel (or `channel`); waits until the bot is idle again. */
export async function click(bot: Bot, o: { actionId: string; value: string; userId: string; messageTs?: string; channel?: string }): Promise<Clicked> {
  const before = new Set(bot.emu.views.keys());
  const responseUrl = bot.emu.responseUrl();
  const res = await sendSigned(bot.eventsUrl, interactivityBody(buttonClickPayload({ ...o, channel: o.channel ?? DEMO_CHANNEL, responseUrl })));
  await idle(bot);
  const opened = [...bot.emu.views.values()].filter((v) => !before.has(v.id));
  const answers = bot.emu.responses.get(responseUrl.split('/').pop()!)?.bodies ?? [];
  return { ...res, view: opened.at(-1), answers };
}

/** One modal submission; `outcome` is the view the bot put in its place after the ack (views.update), if any. */
export async function submit(bot: Bot, o: { userId: string; viewId: string; callbackId: string; metadata: string; values: Record<string, Record<string, unknown>> }): Promise<SendResult & { outcome?: any }> {
  const updatesBefore = bot.emu.callsTo('views.update').length;
  const res = await sendSigned(bot.eventsUrl, viewSubmission({ userId: o.userId, view: { id: o.viewId, callback_id: o.callbackId, private_metadata: o.metadata }, values: o.values }));
  await idle(bot);
  const outcome = bot.emu.callsTo('views.update').slice(updatesBefore).filter((c) => c.params.view_id === o.viewId).at(-1)?.params.view;
  return { ...res, outcome };
}

/** The values of the approval modal: the typed client name and the ticked statement. */
export const approvalValues = (typed: string, ticked = true) => ({ confirm_client: { value: { value: typed } }, statement: { value: { selected_options: ticked ? [{ value: 'signed' }] : [] } } });

let taken = 0;
/** A pending full restore request of demo made the way /restore makes one: posted with its buttons in the demo channel. */
export async function newRequest(bot: Bot, o: { by?: string; byName?: string } = {}): Promise<ApprovalRow> {
  const backup = await makeVerifiedBackup(bot.pool, { url: bot.demo.url, storageDir: bot.storageDir, takenAt: new Date(Date.now() - 3_600_000 - ++taken * 60_000) });
  const r = await requestRestore(bot.server.ctx, {
    client: 'demo', backupId: backup.id, scope: 'full', reason: `faulty import ${taken}`, ticket: `INC-${taken}`, checklist: REQUESTER_CHECKLIST_IDS,
    requestedBy: o.by ?? 'U0OPER', requestedByName: o.byName ?? 'Olga Operator', trigger: 'slack',
  });
  if (!r.ok) throw new Error(r.message);
  if (!r.approval.slack_ts) throw new Error('the request was not posted');
  return r.approval;
}

/** A request decided by the System Owner through the operation (the signed decision the buttons lead to). */
export async function decided(bot: Bot, meaning: 'approved' | 'rejected', o: { by?: string } = {}): Promise<ApprovalRow> {
  const a = await newRequest(bot, o);
  const d = await decideRestore(bot.server.ctx, { approvalId: a.id, userId: 'U0OWNER', userName: 'Sofía Owner', meaning, typedClient: 'demo', statementTicked: true, ...(meaning === 'rejected' ? { rejectReason: 'not now' } : {}) });
  if (!d.ok) throw new Error(d.message);
  return d.approval;
}

/** What the registers hold about one request: its state, its signatures and its audit entries (actions, in order). */
export async function registersOf(bot: Bot, id: string): Promise<{ status?: string; decidedBy: string | null; meaning: string | null; signatures: Array<{ meaning: string; signer: string }>; audit: string[] }> {
  const a = await getApproval(bot.pool, id);
  const sigs = await signaturesFor(bot.pool, `approval:${id}`);
  const audit = (await listAudit(bot.pool)).filter((e) => e.target === `approval:${id}`).map((e) => e.action);
  return { status: a?.status, decidedBy: a?.decided_by ?? null, meaning: a?.meaning ?? null, signatures: sigs.map((s) => ({ meaning: s.meaning, signer: s.signer_id })), audit };
}

/** Audit entries of `action` on one request, with who and why. */
export async function auditOf(bot: Bot, id: string, action: string): Promise<Array<{ actor: string; reason: string | null; details: Record<string, unknown> }>> {
  return (await listAudit(bot.pool, { action })).filter((e) => e.target === `approval:${id}`).map((e) => ({ actor: e.actor, reason: e.reason, details: e.details }));
}

/** The text of a view (modal) as JSON, for matching. */
export const shown = (view: unknown): string => JSON.stringify(view ?? null);

const OTHER_CHANNEL = 'C0OTHER';

/**
 * The bot for the approval handlers' tests. demo: System Owners U0OWNER and U0OPER2 (who is also an operator, for
 * four eyes), IT Manager U0ITMGR, QA U0QA, operators U0OPER and U0OPER2. A second client `other`, on its own
 * sample database, whose only roles are U0OTHER (System Owner) and U0OTHEROP (operator).
 */
export async function startApprovalBot(o: { clock?: Clock } = {}): Promise<Bot & { other: TestDatabase }> {
  const other = await createTestDatabase('bbt_slackother');
  await fillSampleDatabase(other.url);
  const bot = await startBot({
    ...(o.clock ? { clock: o.clock } : {}),
    client: { verify: { minTables: 1, tables: SAMPLE_TABLES }, roles: { systemOwners: ['U0OWNER', 'U0OPER2'], itManagers: ['U0ITMGR'], qa: ['U0QA'], operators: ['U0OPER', 'U0OPER2'] } },
    clients: {
      other: {
        database: { engine: 'postgres', url: other.url }, schedule: '0 3 * * *', storage: ['local'], channel: OTHER_CHANNEL,
        verify: { minTables: 1, tables: SAMPLE_TABLES }, roles: { systemOwners: ['U0OTHER'], itManagers: [], qa: [], operators: ['U0OTHEROP'] },
      },
    },
  });
  bot.emu.addUser('U0OPER2', 'Otto Operator');
  bot.emu.addUser('U0OTHER', 'Oscar Other');
  bot.emu.addUser('U0OTHEROP', 'Olivia Otherop');
  const close = bot.close.bind(bot);
  return Object.assign(bot, { other, close: async () => { await close(); await other.drop(); } });
}

/** A pending request of the client `other`, posted in its channel. */
export async function otherRequest(bot: Bot & { other: TestDatabase }): Promise<ApprovalRow> {
  const backup = await makeVerifiedBackup(bot.pool, { client: 'other', url: bot.other.url, storageDir: bot.storageDir, takenAt: new Date(Date.now() - 3_600_000 - ++taken * 60_000) });
  const r = await requestRestore(bot.server.ctx, {
    client: 'other', backupId: backup.id, scope: 'full', reason: 'other import', checklist: REQUESTER_CHECKLIST_IDS, requestedBy: 'U0OTHEROP', requestedByName: 'Olivia Otherop', trigger: 'slack',
  });
  if (!r.ok) throw new Error(r.message);
  return r.approval;
}
