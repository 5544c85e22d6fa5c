import type { Transporter } from 'nodemailer';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { parseDuration } from '../config/duration.js';
import { errorMessage } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import type { MessageRef, ReportEvent, Reporter } from '../operations/reporter.js';

type EmailConfig = NonNullable<Config['alerts']['email']>;

/** The S1/S2 alerts that are mailed, as a subject and a plain-text body (typed text is data here too: no markup). */
function alertMail(e: ReportEvent): { severity: string; subject: string; body: string } | undefined {
  const who = (client: string) => (client ? ` ${client}` : '');
  switch (e.kind) {
    case 'alert.restore_test_failed':
      return { severity: e.severity, subject: `restore test of${who(e.client)} failed at step "${e.failedStep ?? '?'}"`, body: `Backup: ${e.backupFile}\nReason: ${e.error}\nRun: ${e.runId}${e.incidentId ? `\nIncident: #${e.incidentId}` : ''}` };
    case 'alert.restore_failed':
      return { severity: e.severity, subject: `production restore of${who(e.client)} failed at step "${e.step}" (request #${e.approvalId})`, body: `${e.summary}${e.incidentId ? `\nIncident: #${e.incidentId}` : ''}` };
    case 'alert.check_failed':
      return { severity: e.severity, subject: `${e.check === 'retention' ? 'retention' : 'integrity check'} of${who(e.client)} failed`, body: `Reason: ${e.error}${e.runId ? `\nRun: ${e.runId}` : ''}${e.incidentId ? `\nIncident: #${e.incidentId}` : ''}` };
    case 'alert.job_failed':
      return { severity: 'S2', subject: `scheduled job ${e.job}${e.client ? ` of ${e.client}` : ''} failed`, body: `Reason: ${e.error}${e.runId ? `\nRun: ${e.runId}` : ''}` };
    case 'alert.watchdog_opened': {
      const s = e.status;
      const what = [s.failed ? 'the last backup run failed' : '', s.stale ? 'no recent verified backup' : '', s.rpoBreach ? `RPO breach (RPO ${e.rpo})` : ''].filter(Boolean).join('; ');
      return { severity: 'S2', subject: `backups of ${e.client} need attention`, body: `${what}\nSchedule: ${e.schedule}${s.lastRun?.error ? `\nLast error: ${s.lastRun.error}` : ''}` };
    }
    case 'alert.evidence_broken':
      return { severity: 'S1', subject: `${e.title}${e.client ? ` (${e.client})` : ''}`, body: e.problems.slice(0, 50).join('\n') };
    default:
      return undefined;
  }
}

export interface EmailOutcome { ok: boolean; error?: string }

/**
 * A Reporter around the Slack (or console) one: every S1/S2 alert is shown there first, as always; it is then
 * mailed when that failed (mode fallback: Slack unreachable, bot not in the channel) or always (mode copy).
 * Mail never delays or breaks the Slack path: it is sent after, in the background; a failure is logged and
 * counted (`onResult`, wired to /metrics), never thrown.
 */
export class EmailAlertReporter implements Reporter {
  /** nodemailer, loaded with the first mail (most runs never send one). */
  private transport?: Promise<Transporter>;
  private readonly pending = new Set<Promise<void>>();
  /** Told of every mail's outcome (server.ts counts them in /metrics). */
  onResult?: (o: EmailOutcome) => void;

  constructor(private readonly inner: Reporter, private readonly o: { email: EmailConfig; logger: Logger }) {}

  private transporter(): Promise<Transporter> {
    const { smtp, timeout } = this.o.email;
    const ms = parseDuration(timeout) ?? 15_000;
    this.transport ??= import('nodemailer').then((m) => m.default.createTransport({
      host: smtp.host, port: smtp.port, secure: smtp.secure,
      ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
      connectionTimeout: ms, greetingTimeout: ms, socketTimeout: ms,
    }));
    return this.transport;
  }

  async report(event: ReportEvent, replace?: MessageRef): Promise<MessageRef | undefined> {
    const ref = await this.inner.report(event, replace);
    const mail = replace ? undefined : alertMail(event);
    if (mail && (this.o.email.mode === 'copy' || !ref)) this.track(this.send(mail, !ref));
    return ref;
  }

  /** Resolves when every mail started so far has been sent or has failed. */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  close(): void {
    void this.transport?.then((t) => t.close(), () => undefined);
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async send(m: { severity: string; subject: string; body: string }, slackFailed: boolean): Promise<void> {
    const why = slackFailed ? 'Slack could not be reached, so this alert is sent by e-mail.' : 'A copy of an alert posted in Slack.';
    try {
      await (await this.transporter()).sendMail({
        from: this.o.email.from, to: this.o.email.to, subject: redactSecrets(`[backup-bot] ${m.severity} — ${m.subject}`).replace(/[\r\n]+/g, ' ').slice(0, 250),
        text: redactSecrets(`${m.severity} — ${m.subject}\n\n${m.body}\n\n${why}\n`),
      });
      this.o.logger.info({ severity: m.severity, slackFailed }, 'alert e-mailed');
      this.onResult?.({ ok: true });
    } catch (err) {
      const error = redactSecrets(errorMessage(err));
      this.o.logger.error({ err: error, severity: m.severity }, `could not e-mail the alert "${m.subject.slice(0, 120)}"`);
      this.onResult?.({ ok: false, error });
    }
  }
}
