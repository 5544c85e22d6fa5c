import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { errorMessage } from '../core/errors.js';
import type { MessageRef, ReportEvent, Reporter } from '../operations/reporter.js';
import { ROLE_LABEL } from '../operations/authorize.js';
import type { MessageSink, OutMessage } from './sink.js';
import { mentionsOf } from './slack/mentions.js';
import { clientChannel } from './slack/channels.js';
import { renderBackupProgress, renderBackupResult, renderVerifyResult } from './slack/render/backup.js';
import { renderRestoreTest, renderRestoreTestAlert } from './slack/render/restore-test.js';
import { renderRestoreDecided, renderRestoreRequest, renderRunbook } from './slack/render/restore.js';
import { renderAlertOpened, renderAlertResolved, renderAlertResolvedNotice } from './slack/render/watchdog.js';
import { renderDigest } from './slack/render/digest.js';
import {
  renderIntegritySummary, renderJobFailedAlert, renderTeamAlert, renderMaintenanceNotice, renderRestoredNotice, renderRestoreFailedAlert, renderRestoreInterrupted,
  renderRestoreTestDue, renderRunInterrupted, renderEvidenceAlert, renderEvidenceReport, renderCheckFailedAlert, renderAlertCleared, renderQaRequested,
} from './slack/render/notices.js';

/** The Slack IDs of the buttons a message may carry; they come from the listener folders' index.ts files. */
export interface ButtonIds { qaVerify: string; approve: string; reject: string; start: string; incident?: string }

export interface MessageReporterOptions {
  config: Pick<Config, 'clients' | 'slack' | 'timezone'>;
  sink: MessageSink;
  logger: Logger;
  /** Without them, messages carry no buttons (console). */
  buttons?: ButtonIds;
}

/**
 * The Reporter that renders each event as a Slack message (Block Kit + text), picks its channel (the client's,
 * the users' notifyChannel, or the default one), names the people an alert is for, and hands it to a sink:
 * the Slack Web API, the console (text) or a test's recorder.
 */
export class MessageReporter implements Reporter {
  constructor(private readonly o: MessageReporterOptions) {}

  async report(event: ReportEvent, replace?: MessageRef): Promise<MessageRef | undefined> {
    try {
      if (event.kind === 'evidence.report') return await this.evidenceReport(event);
      const out = this.render(event);
      if (!out) return undefined;
      if (replace) return (await this.o.sink.update(replace, out.message)) ? replace : undefined;
      const ref = await this.o.sink.post(out.channel, out.message);
      // The digest's picture follows its message (a sink that cannot show files, the console, keeps the text sparkline).
      if (event.kind === 'digest' && event.chart && ref && this.o.sink.upload) {
        await this.o.sink.upload(out.channel, { filename: event.chart.filename, title: event.chart.title, bytes: event.chart.png });
      }
      return ref;
    } catch (err) {
      this.o.logger.warn({ kind: event.kind, err: errorMessage(err) }, 'could not report');
      return undefined;
    }
  }

  /** The PDF shared in the client's channel with its comment; where files cannot be shown, the comment alone. */
  private async evidenceReport(e: Extract<ReportEvent, { kind: 'evidence.report' }>): Promise<MessageRef | undefined> {
    const channel = this.channel(e.client);
    const comment = renderEvidenceReport(e, this.mentions(e.client, e.evidenceOk ? [] : ['systemOwners', 'qa']));
    const upload = this.o.sink.upload;
    if (upload && await upload.call(this.o.sink, channel, { filename: e.pdf.filename, title: `${e.client}: evidence report ${e.period}`, bytes: e.pdf.bytes, comment: comment.text })) {
      return { channel, ts: 'file' };
    }
    return this.o.sink.post(channel, upload ? { text: `${comment.text}\n:warning: The PDF could not be attached (see the bot's log).` } : comment);
  }

  private channel(client: string): string {
    return clientChannel(this.o.config, client);
  }

  private mentions(client: string, roles: Parameters<typeof mentionsOf>[1]): string {
    const c = Object.prototype.hasOwnProperty.call(this.o.config.clients, client) ? this.o.config.clients[client] : undefined;
    return c ? mentionsOf(c, roles) : '';
  }

  private render(e: ReportEvent): { channel: string; message: OutMessage } | undefined {
    const tz = this.o.config.timezone;
    const b = this.o.buttons;
    const to = (message: OutMessage, channel = this.channel('client' in e ? e.client : '')) => ({ channel, message });
    switch (e.kind) {
      case 'backup.progress': return to(renderBackupProgress(e.view));
      case 'backup.result': return to(renderBackupResult(e.view, { timezone: tz }));
      case 'verify.result': return to(renderVerifyResult(e.view));
      case 'restore_test.progress': return to(renderRestoreTest(e.view, { qaAction: b?.qaVerify }));
      case 'restore_test.qa_requested': return to(renderQaRequested(e, { mentions: this.mentions(e.client, e.audience), timezone: tz, qaAction: b?.qaVerify, incidentAction: b?.incident }));
      case 'restore.runbook': return to(renderRunbook(e.view, { timezone: tz }));
      case 'restore.request': return to(renderRestoreRequest(e.approval, {
        approvers: this.o.config.clients[e.client]?.roles[e.approverRole] ?? [], roleLabel: ROLE_LABEL[e.approverRole], timezone: tz,
        ...(b ? { buttons: { approve: b.approve, reject: b.reject } } : {}),
      }));
      case 'restore.decided': return to(renderRestoreDecided(e.approval, { timezone: tz, ...(b ? { startButton: b.start } : {}) }));
      case 'users.maintenance':
      case 'users.restored': {
        const channel = this.o.config.clients[e.client]?.notifyChannel;
        if (!channel) return undefined;
        return to(e.kind === 'users.maintenance' ? renderMaintenanceNotice(e.client, e.from, e.until, tz) : renderRestoredNotice(e.client, e.dataAsOf, tz), channel);
      }
      case 'alert.restore_test_failed': return to(renderRestoreTestAlert(e, { mentions: this.mentions(e.client, e.audience), incidentAction: b?.incident }));
      case 'alert.restore_failed': return to(renderRestoreFailedAlert(e, this.mentions(e.client, e.audience), b?.incident));
      case 'alert.check_failed': return to(renderCheckFailedAlert(e, { mentions: this.mentions(e.client, e.audience), incidentAction: b?.incident }));
      case 'alert.resolved': return to(renderAlertCleared(e, { timezone: tz, incidentAction: b?.incident }));
      case 'alert.job_failed': return to(renderJobFailedAlert(e, this.mentions(e.client, e.audience)));
      case 'alert.team': return to(renderTeamAlert(e, this.mentions(e.client, e.audience)));
      case 'alert.watchdog_opened': return to(renderAlertOpened(e.status, { schedule: e.schedule, rpo: e.rpo, mentions: this.mentions(e.client, e.audience), timezone: tz, incidentIds: e.incidentIds, incidentAction: b?.incident }));
      case 'alert.watchdog_resolved': return to(renderAlertResolved(e.alert, e.status, { timezone: tz, now: e.now }));
      case 'alert.watchdog_resolved_notice': return to(renderAlertResolvedNotice(e.client, e.resolved, e.status, { timezone: tz, now: e.now, incidentAction: b?.incident }));
      case 'alert.evidence_broken': return to(renderEvidenceAlert(e, this.mentions(e.client, e.audience)), this.channel(e.client));
      case 'notice.run_interrupted': return to(renderRunInterrupted(e, tz));
      case 'notice.restore_interrupted': return to(renderRestoreInterrupted(e.approval));
      case 'notice.restore_test_due': return to(renderRestoreTestDue(e.client, e.quarter, this.mentions(e.client, e.audience)));
      case 'integrity.summary': return to(renderIntegritySummary(e.results), this.channel(''));
      case 'digest': return to(renderDigest(e.digest), this.channel(''));
      case 'evidence.report': return undefined;
    }
  }
}
