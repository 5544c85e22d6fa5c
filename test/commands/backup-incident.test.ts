import { startBot, DEMO_CHANNEL, type Bot } from '../slack/harness.js';
import { buttonClickPayload, interactivityBody, sendSigned } from '../slack/sign.js';
import { listBackups } from '../../src/store/backup-register.js';
import { listRuns } from '../../src/store/runs.js';
import { listIncidents, incidentHistory } from '../../src/store/incidents.js';
import { exportRegister } from '../../src/operations/export-register.js';
import { until } from '../helpers/wait.js';

/**
 * Issue 17 from Slack, end to end (signed requests, the Web API emulator): pre-change backups with their ticket
 * and reason, and the §13.5 incident modal opened by `/backup incident` and by the button on an alert.
 */
let bot: Bot;
const idle = () => bot.server.slack!.background.idle(120_000);
const MARKUP = 'Migración Flyway V42 <!channel> *urgente* <https://evil.example|aquí>';

function viewSubmission(o: { userId: string; view: { id: string; callback_id: string; private_metadata?: string }; values: Record<string, Record<string, unknown>> }) {
  return interactivityBody({
    type: 'view_submission', team: { id: 'T0TEAM', domain: 'acme' }, user: { id: o.userId, username: o.userId.toLowerCase(), name: o.userId.toLowerCase(), team_id: 'T0TEAM' },
    api_app_id: 'A0BACKUP', token: 'deprecated', trigger_id: `${Date.now()}.1.abc`,
    view: { id: o.view.id, type: 'modal', callback_id: o.view.callback_id, private_metadata: o.view.private_metadata ?? '', hash: 'h', blocks: [], state: { values: o.values } },
  });
}
const submit = (userId: string, v: { id: string; view: any }, values: Record<string, Record<string, unknown>>) =>
  sendSigned(bot.eventsUrl, viewSubmission({ userId, view: { id: v.id, callback_id: v.view.callback_id, private_metadata: v.view.private_metadata }, values }));
const text = (value: string | null) => ({ value: { type: 'plain_text_input', value } });

const lastView = () => [...bot.emu.views.values()].at(-1)!;
/** The modal as it was when it showed `needle` (a copy: the emulator's entry changes with every views.update). */
const viewWith = async (callbackId: string, needle: string) => {
  const v = await until('the modal', () => { const x = lastView(); return x?.view?.callback_id === callbackId && JSON.stringify(x.view).includes(needle) ? x : undefined; }, 15_000, 50);
  return { id: v.id, view: structuredClone(v.view) };
};

beforeAll(async () => { bot = await startBot(); });
afterAll(async () => { await bot?.close(); });

describe('pre-change backups from Slack (SOP-001 §7.1)', () => {
  test('/backup now demo pre-change <ticket> <reason…>: type pre-change with its ticket and reason; §11 shows them, the reason literally', async () => {
    const res = await bot.slash(`now demo pre-change CHG-1234 ${MARKUP}`);
    expect(res.ms).toBeLessThan(3000);
    expect((await res.answer()).text).toContain('Pre-change backup (ticket CHG-1234) of *demo* started');
    await idle();
    const [b] = await listBackups(bot.pool, { client: 'demo' });
    expect(b).toMatchObject({ type: 'pre-change', ticket: 'CHG-1234', reason: MARKUP, verified: true, executed_by: 'Olga Operator' });
    const csv = await exportRegister(bot.server.ctx, { register: 'backups', client: 'demo', format: 'csv', timezone: 'UTC' });
    expect(csv).toContain('Manual (pre-cambio)');
    expect(csv).toContain(`Ticket CHG-1234: ${MARKUP}`);
  });

  test('a pre-change backup without a ticket, or without a reason, or with a bad ticket: the usage, nothing runs', async () => {
    const before = (await listRuns(bot.pool, { kind: 'backup' })).length;
    for (const [cmd, problem] of [
      ['now demo pre-change', /needs the ticket of the change and a reason/],
      ['now demo prechange CHG-1 x', /`now` takes one client name/],
      ['now demo pre-change CHG-9', /needs a reason after the ticket/],
      ['now demo pre-change <!here> migration', /a ticket is a reference such as CHG-1234/],
    ] as const) {
      const a = await (await bot.slash(cmd)).answer();
      expect(a.text).toMatch(problem);
      expect(a.text).toContain('/backup now <client> pre-change <ticket> <reason…>');
    }
    await idle();
    expect((await listRuns(bot.pool, { kind: 'backup' })).length).toBe(before);
  });

  test('the production restore form offers the pre-change backups by their ticket', async () => {
    await bot.slash('demo', { command: '/restore', user: 'U0OPER' });
    const v = await viewWith('restore_request_modal', 'Pre-change backups (by ticket)');
    const select = v.view.blocks.find((b: any) => b.block_id === 'backup').element;
    expect(select.option_groups[0].options[0].text.text).toMatch(/^CHG-1234 · pre-change · /);
  });
});

describe('the incident modal (SOP-001 §13.5)', () => {
  test('/backup incident demo: a new incident, the description kept as typed', async () => {
    const res = await bot.slash('incident demo', { user: 'U0QA' });
    expect(res.ms).toBeLessThan(3000);
    const v = await viewWith('incident_modal', 'What happened');
    const empty = await submit('U0QA', v, { description: text('  '), severity: { value: { selected_option: { value: 'S2' } } } });
    expect(empty.json).toMatchObject({ response_action: 'errors', errors: { description: 'Say what happened.' } });
    const ok = await submit('U0QA', v, { description: text(MARKUP), severity: { value: { selected_option: { value: 'S1' } } } });
    expect(ok.json).toMatchObject({ response_action: 'update' });
    await idle();
    const [inc] = await listIncidents(bot.pool, { client: 'demo' });
    expect(inc).toMatchObject({ description: MARKUP, severity: 'S1', status: 'open', source: 'manual' });
    expect(JSON.stringify(bot.emu.views.get(v.id)!.view)).toContain(`Incident #${inc!.id} of *demo* recorded (open)`);
  });

  test('the button on an alert: closing needs cause, CAPA and responsible (inline); closed once; a second close is refused in the modal', async () => {
    const alert = (await bot.server.ctx.store.alerts.open({ client: 'demo', kind: 'retention', severity: 'S2', message: 'S2 — retention of demo failed', at: new Date() }))!;
    await bot.server.ctx.reporter.report({ kind: 'alert.check_failed', client: 'demo', check: 'retention', error: 'EACCES', severity: 'S2', audience: ['operators'], incidentId: alert.incident_id! });
    const msg = [...bot.emu.messages.values()].filter((m) => m.channel === DEMO_CHANNEL).at(-1)!;
    expect(msg.text).toContain('<@U0OPER>');
    const button = JSON.stringify(msg.blocks);
    expect(button).toContain(`"action_id":"record_incident","value":"${alert.incident_id}"`);

    const click = () => sendSigned(bot.eventsUrl, interactivityBody(buttonClickPayload({ actionId: 'record_incident', value: alert.incident_id!, userId: 'U0OPER', channel: DEMO_CHANNEL, messageTs: msg.ts, responseUrl: bot.emu.responseUrl() })));
    expect((await click()).status).toBe(200);
    const v = await viewWith('incident_modal', 'Corrective action (CAPA)');
    const closeTicked = { value: { selected_options: [{ value: 'close' }] } };
    const missing = await submit('U0OPER', v, { cause: text('NAS full'), actions: text(null), responsible: text(null), close: closeTicked });
    expect(missing.json).toMatchObject({ response_action: 'errors', errors: { actions: 'Closing needs the corrective action.', responsible: 'Closing needs the responsible.' } });
    const values = { cause: text('NAS full'), actions: text('disk alert at 80 %'), responsible: text('Olga Operator'), close: closeTicked };
    expect((await submit('U0OPER', v, values)).json).toMatchObject({ response_action: 'update' });
    await idle();
    const closed = (await listIncidents(bot.pool, { client: 'demo' })).find((i) => i.id === alert.incident_id)!;
    expect(closed).toMatchObject({ status: 'closed', cause: 'NAS full', corrective_actions: 'disk alert at 80 %', responsible: 'Olga Operator' });
    // The same submission replayed: refused, shown in the modal, nothing appended.
    const entries = (await incidentHistory(bot.pool, closed.id)).length;
    await submit('U0OPER', v, values);
    await idle();
    expect(JSON.stringify(bot.emu.views.get(v.id)!.view)).toMatch(/Not recorded: incident \d+ of demo was already closed/);
    expect((await incidentHistory(bot.pool, closed.id)).length).toBe(entries);
    // The button clicked again: the modal says it is closed.
    await click();
    await until('the closed-incident answer', () => JSON.stringify(lastView().view).includes('is closed; a closed incident is not changed') ? true : undefined, 15_000, 50);
  });

  test('someone without a role on the client, or an unknown client: refused in the modal, nothing recorded', async () => {
    const before = (await listIncidents(bot.pool)).length;
    await bot.slash('incident demo', { user: 'U0NOBODY' });
    await until('the nothing-was-done answer', () => JSON.stringify(lastView().view).includes('Nothing was done') ? true : undefined, 15_000, 50);
    await bot.slash('incident nope', { user: 'U0OPER' });
    await until('the unknown-client answer', () => /there is no client \\"nope\\"/.test(JSON.stringify(lastView().view)) ? true : undefined, 15_000, 50);
    // A forged submission for another team's client is refused after the ack too.
    await sendSigned(bot.eventsUrl, viewSubmission({ userId: 'U0NOBODY', view: { id: 'V0FORGED', callback_id: 'incident_modal', private_metadata: JSON.stringify({ client: 'demo' }) }, values: { description: text('x'), severity: { value: { selected_option: { value: 'S2' } } } } }));
    await idle();
    expect(JSON.stringify(bot.emu.callsTo('views.update').filter((c) => c.params.view_id === 'V0FORGED').at(-1)?.params.view)).toContain('Nothing was done');
    expect((await listIncidents(bot.pool)).length).toBe(before);
  });
});
