import { WebClient, WebClientEvent, type RetryOptions } from '@slack/web-api';
import type { Logger } from '../../logger.js';
import { errorMessage } from '../../core/errors.js';
import { boltLogger } from './bolt-logger.js';
import { fitMessage } from './limits.js';
import type { MessageRef } from '../../operations/reporter.js';
import type { MessageSink, OutFile, OutMessage } from '../sink.js';

/**
 * Retries of the Web API calls: network failures back off (0.5 s … 5 s); a 429 waits the
 * Retry-After the server asked for, then retries. Bounded, so a Slack outage delays a backup by
 * well under a minute instead of the WebClient's default half hour.
 */
export const SLACK_RETRY: RetryOptions = { retries: 4, factor: 2, minTimeout: 500, maxTimeout: 5000, randomize: false };

export interface SlackWebSinkOptions {
  token: string;
  apiUrl?: string;
  logger: Logger;
  retryConfig?: RetryOptions;
  /** Called when a call failed for good (metrics). */
  onFailure?: (method: string, err: unknown) => void;
}

function slackWebClient(token: string, o: { apiUrl?: string; logger: Logger; retryConfig?: RetryOptions }): WebClient {
  return new WebClient(token, {
    slackApiUrl: o.apiUrl,
    logger: boltLogger(o.logger),
    retryConfig: o.retryConfig ?? SLACK_RETRY,
    rejectRateLimitedCalls: false,
    timeout: 20_000,
  });
}

const HINTS: Record<string, string> = {
  not_in_channel: 'invite the bot to the channel (/invite @backup-bot)',
  channel_not_found: 'check the channel ID in the config (clients.<name>.channel / slack.channel) and that the bot is in it',
  invalid_auth: 'check SLACK_BOT_TOKEN',
  not_authed: 'check SLACK_BOT_TOKEN',
  missing_scope: 'reinstall the app from manifest.yml (a scope is missing)',
};

function slackErrorCode(err: unknown): string | undefined {
  const e = err as { data?: { error?: string } };
  return e?.data?.error;
}

/**
 * Delivers messages through the Slack Web API: Block Kit within Slack's limits, rate limits and
 * network failures retried, and a final failure logged with the message content (never lost
 * silently) but never thrown into the operation: the backup completes and is registered even when
 * Slack is down.
 */
export class SlackWebSink implements MessageSink {
  readonly client: WebClient;
  private readonly log: Logger;
  /** Called when a call failed for good (metrics); set by the Slack app. */
  onFailure?: (method: string, err: unknown) => void;

  constructor(private readonly o: SlackWebSinkOptions) {
    this.log = o.logger.child({ component: 'slack-sink' });
    this.client = slackWebClient(o.token, { apiUrl: o.apiUrl, logger: this.log, retryConfig: o.retryConfig });
    this.client.on(WebClientEvent.RATE_LIMITED, (retryAfter: number, info: { url?: string }) => {
      this.log.warn({ retryAfterSeconds: retryAfter, url: info?.url }, 'Slack rate limit: waiting Retry-After before retrying');
    });
  }

  private failed(method: string, err: unknown, what: Record<string, unknown>): void {
    const code = slackErrorCode(err);
    this.log.error({ method, error: code ?? errorMessage(err), hint: code ? HINTS[code] : undefined, ...what }, `Slack ${method} failed after retries; the message was not delivered`);
    (this.onFailure ?? this.o.onFailure)?.(method, err);
  }

  async post(channel: string, message: OutMessage): Promise<MessageRef | undefined> {
    const m = fitMessage(message);
    try {
      const r = await this.client.chat.postMessage({ channel, text: m.text, ...(m.blocks ? { blocks: m.blocks as never } : {}), unfurl_links: false, unfurl_media: false });
      return { channel: r.channel ?? channel, ts: String(r.ts) };
    } catch (err) {
      this.failed('chat.postMessage', err, { channel, text: m.text });
      return undefined;
    }
  }

  async update(ref: MessageRef, message: OutMessage): Promise<boolean> {
    const m = fitMessage(message);
    try {
      await this.client.chat.update({ channel: ref.channel, ts: ref.ts, text: m.text, ...(m.blocks ? { blocks: m.blocks as never } : {}) });
      return true;
    } catch (err) {
      this.failed('chat.update', err, { channel: ref.channel, ts: ref.ts, text: m.text });
      return false;
    }
  }

  /** files upload v2: files.getUploadURLExternal, the bytes to the upload URL, files.completeUploadExternal into the channel. */
  async upload(channel: string, file: OutFile): Promise<boolean> {
    try {
      await this.client.filesUploadV2({
        channel_id: channel, file: Buffer.from(file.bytes), filename: file.filename, title: file.title, ...(file.comment ? { initial_comment: file.comment } : {}),
      });
      return true;
    } catch (err) {
      this.failed('files.uploadV2', err, { channel, filename: file.filename });
      return false;
    }
  }
}
