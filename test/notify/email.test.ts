import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer as createNetServer } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { RecordingNotifier } from '../helpers/notifier.js';
import { startServer, type Server } from '../../src/server.js';
import type { MessageSink, OutMessage } from '../../src/notify/sink.js';
import type { MessageRef, ReportEvent } from '../../src/operations/reporter.js';
import { createLogger } from '../../src/logger.js';
import { Writable } from 'node:stream';

/**
 * alerts.email: S1/S2 alerts by e-mail, through nodemailer to an SMTP server the test starts on 127.0.0.1
 * (smtp-server): when Slack cannot be reached (fallback) or always (copy); an SMTP server that is down leaves the
 * Slack path as it is, and the failure is logged and counted in /metrics.
 */
interface Mail { from: string; to: string[]; data: string }
let state: TestDatabase;
let smtp: SMTPServer;
let smtpPort: number;
const mails: Mail[] = [];

beforeAll(async () => {
  state = await createTestDatabase('bbt_email');
  smtp = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
  });
  await new Promise<void>((res) => smtp.listen(0, '127.0.0.1', () => res()));
  smtpPort = (smtp.server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((res) => smtp.close(() => res()));
  await state?.drop();
});

/** Slack that cannot be reached: every post fails (after the Web sink's retries). */
class DownSink implements MessageSink {
  posts = 0;
  async post(): Promise<MessageRef | undefined> { this.posts++; return undefined; }
  async update(): Promise<boolean> { return false; }
}

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', () => res()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

function logCapture(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  return { logger: createLogger({ level: "info", destination: dest }), lines };
}

const TYPED = 'disk <!channel> *full* & <https://evil.example|click>';
const failed: ReportEvent = { kind: 'alert.restore_test_failed', client: 'demo', backupFile: 'backup_2026-03-01_03-00-00.sql.gz', failedStep: 'restoring', error: TYPED, runId: '7', severity: 'S2', audience: ['operators'], incidentId: '3' };

async function serve(sink: MessageSink, email: Record<string, unknown>, logger = logCapture().logger): Promise<Server> {
  const config = testConfig({ stateUrl: state.url, raw: { alerts: { email: { from: 'backup-bot@example.test', to: ['it@example.test', 'qa@example.test'], ...email } } } });
  return startServer({ config, source: 'test', notes: [] }, { sink, logger, handleSignals: false, scheduler: false, createDatabase: true });
}

/** The mail as a person reads it: quoted-printable body and encoded-word subject decoded. */
function readable(data: string): { subject: string; body: string } {
  const qp = (t: string) => Buffer.from(t.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  const [head, ...rest] = data.split(/\r?\n\r?\n/);
  const subjectRaw = /^Subject: ([\s\S]*?)\r?\n(?=\S)/m.exec(head!)![1]!.replace(/\r?\n\s+/g, '');
  const subject = subjectRaw.replace(/=\?UTF-8\?Q\?(.*?)\?=\s*/g, (_m, w: string) => qp(w.replace(/_/g, ' ')));
  return { subject, body: qp(rest.join('\n\n')) };
}

const emailOf = (s: Server) => s.ctx.reporter as unknown as { idle(): Promise<void> };

describe('alerts by e-mail', () => {
  test('config: a bad address or no recipient is refused naming the key', () => {
    const raw = (email: Record<string, unknown>) => ({ alerts: { email: { smtp: { host: '127.0.0.1' }, from: 'a@b.test', to: ['c@d.test'], ...email } } });
    expect(() => testConfig({ stateUrl: state.url, raw: raw({ from: 'not an address' }) })).toThrow(/alerts\.email\.from.*e-mail address/);
    expect(() => testConfig({ stateUrl: state.url, raw: raw({ to: [] }) })).toThrow(/alerts\.email\.to.*at least one recipient/);
    expect(testConfig({ stateUrl: state.url, raw: raw({}) }).alerts.email).toMatchObject({ mode: 'fallback', timeout: '15s', smtp: { port: 587, secure: false } });
  });

  test('fallback: Slack unreachable → the S2 alert is mailed to every recipient, typed text as plain text', async () => {
    mails.length = 0;
    const sink = new DownSink();
    const server = await serve(sink, { smtp: { host: '127.0.0.1', port: smtpPort } });
    try {
      expect(await server.ctx.reporter.report(failed)).toBeUndefined();
      await emailOf(server).idle();
      expect(sink.posts).toBe(1);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.to).toEqual(['it@example.test', 'qa@example.test']);
      expect(mails[0]!.from).toBe('backup-bot@example.test');
      const mail = readable(mails[0]!.data);
      expect(mail.subject).toBe('[backup-bot] S2 — restore test of demo failed at step "restoring"');
      expect(mail.body).toContain(`Reason: ${TYPED}`);
      expect(mail.body).toContain('Slack could not be reached');
      // A message that is not an alert, or an edit, is never mailed.
      await server.ctx.reporter.report({ kind: 'notice.restore_test_due', client: 'demo', quarter: '2026-Q1', audience: ['operators'] });
      await emailOf(server).idle();
      expect(mails).toHaveLength(1);
    } finally {
      await server.stop();
    }
  });

  test('fallback with Slack working: nothing is mailed; copy: Slack and the mail both', async () => {
    mails.length = 0;
    const rec = new RecordingNotifier();
    let server = await serve(rec, { smtp: { host: '127.0.0.1', port: smtpPort } });
    try {
      expect(await server.ctx.reporter.report(failed)).toBeDefined();
      await emailOf(server).idle();
      expect(mails).toHaveLength(0);
    } finally { await server.stop(); }
    server = await serve(rec, { smtp: { host: '127.0.0.1', port: smtpPort }, mode: 'copy' });
    try {
      await server.ctx.reporter.report({ kind: 'alert.evidence_broken', client: '', title: 'register does not verify', problems: ['backup_register row 4 edited'], audience: ['systemOwners'] });
      await emailOf(server).idle();
      expect(mails).toHaveLength(1);
      expect(readable(mails[0]!.data).subject).toBe('[backup-bot] S1 — register does not verify');
      expect(readable(mails[0]!.data).body).toContain('A copy of an alert posted in Slack.');
      expect(rec.texts().at(-1)).toContain('S1 — register does not verify');
    } finally { await server.stop(); }
  });

  test('SMTP server down: the Slack path is unaffected, the failure is logged and counted in /metrics', async () => {
    const rec = new RecordingNotifier();
    const { logger, lines } = logCapture();
    const server = await serve(rec, { smtp: { host: '127.0.0.1', port: await freePort() }, mode: 'copy', timeout: '5s' }, logger);
    try {
      const t0 = Date.now();
      const ref = await server.ctx.reporter.report(failed);
      expect(Date.now() - t0).toBeLessThan(1000); // the mail never delays the alert
      expect(ref).toBeDefined();
      expect(rec.texts().at(-1)).toMatch(/S2 — restore test of demo FAILED/);
      await emailOf(server).idle();
      expect(lines.some((l) => /could not e-mail the alert/.test(l) && /ECONNREFUSED/.test(l))).toBe(true);
      const m = await (await fetch(`${server.ops.url}/metrics`)).text();
      expect(m).toMatch(/backupbot_alert_emails_total\{result="failed"\} 1/);
    } finally { await server.stop(); }
  });
});
