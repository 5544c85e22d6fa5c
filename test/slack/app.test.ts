import { startBot, DEMO_CHANNEL, type Bot } from './harness.js';
import { buttonClickPayload, interactivityBody, sendSigned, slashCommandBody } from './sign.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { deliveryKey } from '../../src/slack/app.js';
import { getDelivery } from '../../src/store/deliveries.js';
import { listRuns } from '../../src/store/runs.js';
import { LOCK_NS_WORK } from '../../src/store/locks.js';
import { listApprovals } from '../../src/store/approvals.js';
import { REQUESTER_CHECKLIST_IDS } from '../../src/operations/request-restore.js';
import { makeVerifiedBackup } from '../operations/restore-fixtures.js';

/**
 * Replays across replicas and restarts (issue 15.3): a delivery is remembered in the state database,
 * so the same signed request sent to another instance, or to a new one after a restart, is
 * acknowledged and acts once.
 */
let state: TestDatabase;
let demo: TestDatabase;
const bots: Bot[] = [];
const idle = (b: Bot) => b.server.slack!.background.idle(120_000);

beforeAll(async () => {
  state = await createTestDatabase('bbt_replay');
  demo = await createTestDatabase('bbt_replaydemo');
  await fillSampleDatabase(demo.url);
});
afterAll(async () => {
  for (const b of bots) await b.close().catch(() => undefined);
  await demo?.drop();
  await state?.drop();
});

async function bot(): Promise<Bot> {
  const b = await startBot({ shared: { state, demo } });
  bots.push(b);
  return b;
}

test('the same signed /backup now sent to two instances on one state database, and again after a restart, starts one backup', async () => {
  const [a, b] = [await bot(), await bot()];
  const backups = async () => (await listRuns(a.pool, { kind: 'backup' })).length;
  const responseUrl = a.emu.responseUrl();
  const body = slashCommandBody({ command: '/backup', text: 'now demo', user_id: 'U0OPER', response_url: responseUrl, trigger_id: '1700000000.111.aaaa' });

  const first = await sendSigned(a.eventsUrl, body);
  expect(first.status).toBe(200);
  await idle(a);
  expect(a.emu.responses.get(responseUrl.split('/').pop()!)!.bodies[0].text).toContain('started'); // the backup is done: a second copy handled anywhere would start another one

  // Slack's retry (or a replay) reaches the other replica.
  const copy = await sendSigned(b.eventsUrl, body, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
  expect(copy.status).toBe(200);
  expect(copy.text).toBe('');
  await idle(b);
  expect(await backups()).toBe(1);
  expect(b.logs.some((l) => String(l.msg).includes('already handled') && l.retryNum === 1)).toBe(true);

  // Both stop; a new instance (a restart) gets the same request again.
  await a.stopServer();
  await b.stopServer();
  const c = await bot();
  const again = await sendSigned(c.eventsUrl, body);
  expect(again.status).toBe(200);
  expect(again.text).toBe('');
  await idle(c);
  expect((await listRuns(c.pool, { kind: 'backup' })).length).toBe(1);
  expect(c.logs.some((l) => String(l.msg).includes('already handled'))).toBe(true);
  const m = await (await fetch(`${c.opsBase}/metrics`)).text();
  expect(m).toMatch(/backupbot_slack_requests_duplicate_total 1/);

  // What was recorded: the first delivery, by the instance that ran it.
  expect(await getDelivery(c.pool, 'trigger:1700000000.111.aaaa')).toMatchObject({ retry_num: null, retry_reason: null, instance: a.server.ctx.instance.id });
});

test('a replayed button click on another instance is acknowledged and not run again', async () => {
  const [a, b] = [await bot(), await bot()];
  const responseUrl = a.emu.responseUrl();
  const id = responseUrl.split('/').pop()!;
  // A QA click on a register entry that does not exist: the handler answers through response_url each time it runs.
  const click = interactivityBody(buttonClickPayload({ actionId: 'qa_verified', value: '999999', userId: 'U0QA', channel: DEMO_CHANNEL, responseUrl }));
  expect((await sendSigned(a.eventsUrl, click)).status).toBe(200);
  await a.emu.waitFor(() => a.emu.responses.get(id)!.bodies.length === 1, 'the answer to the first click', 10_000);
  const copy = await sendSigned(b.eventsUrl, click);
  expect(copy.status).toBe(200);
  expect(copy.text).toBe('');
  expect(b.logs.some((l) => String(l.msg).includes('already handled') && String(l.key).startsWith('action:'))).toBe(true);
  await new Promise((r) => setTimeout(r, 500));
  expect(a.emu.responses.get(id)!.bodies).toHaveLength(1);
  expect(JSON.stringify(a.emu.responses.get(id)!.bodies[0])).toContain('999999 is not in the register');
});

test('the same signed request submission (view_submission) sent to two instances, and again after a restart, stores one request', async () => {
  const [a, b] = [await bot(), await bot()];
  const backup = await makeVerifiedBackup(a.pool, { url: demo.url, storageDir: a.storageDir, takenAt: new Date(Date.now() - 3_600_000) });
  const requests = async () => (await listApprovals(a.pool, { client: 'demo' })).length;
  const submission = interactivityBody({
    type: 'view_submission', team: { id: 'T0TEAM', domain: 'acme' }, user: { id: 'U0OPER', username: 'u0oper', name: 'u0oper', team_id: 'T0TEAM' },
    api_app_id: 'A0BACKUP', token: 'deprecated', trigger_id: '1700000000.333.cccc',
    view: {
      id: 'V0REPLAY1', type: 'modal', callback_id: 'restore_request_modal', private_metadata: JSON.stringify({ client: 'demo' }), hash: '1700000000.h1', blocks: [],
      state: { values: {
        backup: { value: { type: 'static_select', selected_option: { value: backup.id } } },
        scope: { value: { type: 'radio_buttons', selected_option: { value: 'full' } } },
        reason: { value: { type: 'plain_text_input', value: 'bad import' } },
        checklist: { value: { type: 'checkboxes', selected_options: REQUESTER_CHECKLIST_IDS.map((value) => ({ value })) } },
      } },
    },
  });
  const first = await sendSigned(a.eventsUrl, submission);
  expect(first.json).toMatchObject({ response_action: 'update' });
  await idle(a);
  expect(await requests()).toBe(1);

  const copy = await sendSigned(b.eventsUrl, submission, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
  expect(copy.status).toBe(200);
  expect(copy.text).toBe('');
  await idle(b);
  expect(await requests()).toBe(1);
  expect(b.logs.some((l) => String(l.msg).includes('already handled') && String(l.key).startsWith('view:view_submission:V0REPLAY1:') && l.retryReason === 'http_timeout')).toBe(true);

  await a.stopServer();
  await b.stopServer();
  const c = await bot();
  const again = await sendSigned(c.eventsUrl, submission);
  expect(again.status).toBe(200);
  expect(again.text).toBe('');
  await idle(c);
  expect(await requests()).toBe(1);
});

test('the state pool busy with work waiting for a lock: a command is still acknowledged at once, and its replay still acts once', async () => {
  const a = await bot();
  const ctx = a.server.ctx;
  // Work that waits for a lock someone else holds keeps pool connections busy (here: more of them than the bot's pool has).
  const holder = await a.pool.connect();
  await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_NS_WORK, 'test:busy']);
  const waiting = Array.from({ length: 8 }, () => ctx.store.withLock('test', 'busy', async () => undefined, { wait: true }));
  try {
    await new Promise((r) => setTimeout(r, 300));
    const responseUrl = a.emu.responseUrl();
    const body = slashCommandBody({ command: '/backup', text: 'help', user_id: 'U0OPER', response_url: responseUrl, trigger_id: '1700000000.222.bbbb' });
    const first = await sendSigned(a.eventsUrl, body);
    expect(first.status).toBe(200);
    expect(first.ms).toBeLessThan(1000);
    const copy = await sendSigned(a.eventsUrl, body, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
    expect(copy.status).toBe(200);
    expect(copy.ms).toBeLessThan(1000);
    expect(a.logs.some((l) => String(l.msg).includes('already handled') && l.key === 'trigger:1700000000.222.bbbb')).toBe(true);
  } finally {
    await holder.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NS_WORK, 'test:busy']);
    holder.release();
    await Promise.all(waiting);
  }
  await idle(a);
});

describe('deliveryKey', () => {
  test('one key per delivery kind, the same in every copy', () => {
    expect(deliveryKey({ event_id: 'Ev1', trigger_id: 't' })).toBe('event:Ev1');
    expect(deliveryKey({ type: 'block_actions', trigger_id: 't1', user: { id: 'U1' }, actions: [{ action_id: 'approve', action_ts: '1700000000.1' }] })).toBe('action:1700000000.1:approve:U1');
    expect(deliveryKey({ command: '/backup', trigger_id: 't2' })).toBe('trigger:t2');
    expect(deliveryKey({ type: 'url_verification' })).toBeUndefined();
  });

  test('a view submission is keyed by view id and hash; a corrected resubmission of the same view is a new delivery', () => {
    const sub = (value: string, trigger = 't3') => ({ type: 'view_submission', trigger_id: trigger, user: { id: 'U0OWNER' }, view: { id: 'V1', hash: 'h1', state: { values: { confirm: { value: { value } } } } } });
    const k = deliveryKey(sub('dmo'))!;
    expect(k).toMatch(/^view:view_submission:V1:h1:/);
    expect(deliveryKey(sub('dmo'))).toBe(k);
    expect(deliveryKey(sub('demo'))).not.toBe(k);
    expect(deliveryKey(sub('dmo', 't4'))).not.toBe(k);
  });
});
