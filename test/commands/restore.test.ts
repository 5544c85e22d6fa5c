import type { Bot } from '../slack/harness.js';
import type { TestDatabase } from '../helpers/db.js';
import { listApprovals } from '../../src/store/approvals.js';
import { listAudit } from '../../src/store/audit.js';
import { insertBackup, type BackupRow } from '../../src/store/backup-register.js';
import { shown, startApprovalBot } from '../slack/interactions.js';
import { makeVerifiedBackup } from '../operations/restore-fixtures.js';

/**
 * `/restore <client>` (src/commands/restore.ts): acknowledged at once and the request modal opened with the
 * trigger_id; then the operator role is checked from the config and the client's verified backups loaded into the
 * modal. A refusal is the modal's text (or, for a malformed name, the ack's); nothing is requested.
 */
let bot: Bot & { other: TestDatabase };
let verified: BackupRow;
let unverified: BackupRow;
beforeAll(async () => {
  bot = await startApprovalBot();
  verified = await makeVerifiedBackup(bot.pool, { url: bot.demo.url, storageDir: bot.storageDir, takenAt: new Date(Date.now() - 3_600_000) });
  unverified = await insertBackup(bot.pool, { client: 'demo', takenAt: new Date(Date.now() - 1_800_000), type: 'manual', file: 'backup_unverified.sql.gz', key: 'demo/backup_unverified.sql.gz', executedBy: 'U0OPER', verified: false, result: 'OK' });
});
afterAll(async () => { await bot?.close(); });

/** `/restore <text>` by `user`; the modal it opened (latest state) once the bot is idle. */
async function restore(text: string, user = 'U0OPER') {
  const before = new Set(bot.emu.views.keys());
  const res = await bot.slash(text, { command: '/restore', user });
  await bot.server.slack!.background.idle(60_000);
  const view = [...bot.emu.views.values()].filter((v) => !before.has(v.id)).at(-1);
  return { res, view };
}

async function nothingRequested(): Promise<void> {
  expect(await listApprovals(bot.pool)).toEqual([]);
  expect(await listAudit(bot.pool, { action: 'restore.requested' })).toEqual([]);
}

test('an operator: acked within 3 s, the modal opened at once, then filled with the verified backups of that client only', async () => {
  const { res, view } = await restore('demo');
  expect(res.status).toBe(200);
  expect(res.ms).toBeLessThan(3000);
  expect(view?.view.callback_id).toBe('restore_request_modal');
  expect(JSON.parse(view!.view.private_metadata)).toEqual({ client: 'demo' });
  expect(shown(view)).toContain(`"value":"${verified.id}"`);
  expect(shown(view)).not.toContain(`"value":"${unverified.id}"`);
  // updated with the hash of the view it opened (never overwriting a change the person made meanwhile)
  expect(bot.emu.callsTo('views.update').filter((c) => c.params.view_id === view!.id).every((c) => c.params.hash)).toBe(true);
  await nothingRequested();
});

test.each([
  ['', 'which client?'],
  ['Demo!', '"Demo!" is not a client name (lowercase letters, digits, "-" or "_")'],
  ['demo other', '"demo other" is not a client name'],
  ['../demo', '"../demo" is not a client name'],
  ['x'.repeat(80), `"${'x'.repeat(63)}" is not a client name`],
])('malformed %j: the ack says what is wrong, with the usage; no modal, nothing requested', async (text, problem) => {
  const opened = bot.emu.callsTo('views.open').length;
  const { res, view } = await restore(text);
  expect(res.json).toMatchObject({ response_type: 'ephemeral' });
  expect(res.json.text).toContain(problem);
  expect(res.json.text).toContain('Nothing was requested.');
  expect(res.json.text).toContain('*Usage*: `/restore <client>`');
  expect(view).toBeUndefined();
  expect(bot.emu.callsTo('views.open').length).toBe(opened);
  await nothingRequested();
});

test.each([
  ['QA of demo', 'U0QA', 'missing role operators'],
  ['the System Owner of demo', 'U0OWNER', 'missing role operators'],
  ['the IT Manager of demo', 'U0ITMGR', 'missing role operators'],
])('wrong role: %s is told which role is needed, in the modal; audited; no backup list, nothing requested', async (_who, user, reason) => {
  const { view } = await restore('demo', user);
  expect(shown(view)).toContain(':no_entry: Sorry, to request a production restore of demo you need the *operator* role on *demo*. Nothing was done.');
  expect(shown(view)).toContain('clients.demo.roles.operators');
  expect(view!.view.submit).toBeUndefined();
  expect(shown(view)).not.toContain('static_select');
  expect((await listAudit(bot.pool, { action: 'authz.refused' })).filter((a) => a.actor === user && a.target === 'request a production restore of demo')).toEqual([expect.objectContaining({ reason })]);
  await nothingRequested();
});

test('need to know: to someone without a role on demo (another client\'s operator, a stranger) demo reads like a client that does not exist', async () => {
  for (const user of ['U0OTHEROP', 'U0STRANGER']) {
    const demo = shown((await restore('demo', user)).view?.view);
    const nosuch = shown((await restore('nosuch', user)).view?.view);
    expect(demo).toContain('Sorry, there is no client \\"demo\\" on which you hold a role');
    expect(demo.replace(/demo/g, 'X')).toBe(nosuch.replace(/nosuch/g, 'X'));
    expect(demo).not.toContain('roles.operators');
  }
  const refused = await listAudit(bot.pool, { action: 'authz.refused' });
  expect(refused.filter((a) => a.target === 'request a production restore of demo' && a.reason === 'no role on this client').map((a) => a.actor).sort()).toEqual(['U0OTHEROP', 'U0STRANGER']);
  expect(refused.filter((a) => a.target === 'request a production restore of nosuch').map((a) => a.reason)).toEqual(['unknown client', 'unknown client']);
  await nothingRequested();
});

test('an operator of a client with no verified backup: told to take and verify one; no form', async () => {
  const { view } = await restore('other', 'U0OTHEROP');
  expect(shown(view)).toContain('*other* has no verified backup, so nothing can be restored to production. Take one with `/backup now other` and verify it first.');
  expect(view!.view.submit).toBeUndefined();
  await nothingRequested();
});
