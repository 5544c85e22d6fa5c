import type { MessageRef } from '../operations/reporter.js';
import { readLiteral } from './slack/literal.js';

/**
 * Where rendered messages go: the Slack Web API, the console, or a test's recorder. A sink delivers; the
 * reporter (message-reporter.ts) decides what to say and where.
 */
export interface OutMessage {
  /** Plain-text version (notifications, console, accessibility). Always set. */
  text: string;
  /** Block Kit blocks (Slack only). */
  blocks?: unknown[];
}

/** A file to share in a channel (the evidence report's PDF, the digest's chart). */
export interface OutFile {
  filename: string;
  title: string;
  bytes: Uint8Array;
  /** The message that comes with it (mrkdwn in Slack, plain on the console). */
  comment?: string;
}

export interface MessageSink {
  /** Posts a message to a channel; its reference, or undefined when posting failed (after retries). */
  post(channel: string, message: OutMessage): Promise<MessageRef | undefined>;
  /** Replaces a posted message's content; false when that failed. */
  update(ref: MessageRef, message: OutMessage): Promise<boolean>;
  /** Shares a file in a channel; true when it was. A sink without it cannot show files (the reporter posts the comment alone). */
  upload?(channel: string, file: OutFile): Promise<boolean>;
}

/**
 * Prints messages to a stream (stdout by default) as text. A terminal parses no mrkdwn, so what people and tools
 * wrote is printed as they wrote it (readLiteral undoes the Slack escaping).
 */
export class ConsoleSink implements MessageSink {
  private seq = 0;
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  async post(channel: string, message: OutMessage): Promise<MessageRef> {
    this.out.write(`${readLiteral(message.text)}\n`);
    return { channel, ts: `console.${++this.seq}` };
  }

  async update(_ref: MessageRef, message: OutMessage): Promise<boolean> {
    this.out.write(`${readLiteral(message.text)}\n`);
    return true;
  }
}
