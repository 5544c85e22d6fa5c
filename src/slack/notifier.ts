/**
 * How operations talk to people. The Slack implementation posts Block Kit to channels; the console
 * implementation prints the same content as text when no Slack is configured.
 */
export interface OutMessage {
  /** Plain-text version (notifications, console, accessibility). Always set. */
  text: string;
  /** Block Kit blocks (Slack only). */
  blocks?: unknown[];
}

export interface MessageRef { channel: string; ts: string }

export interface Notifier {
  /** Posts a message to a channel; returns its reference for later updates (undefined when posting failed after retries). */
  post(channel: string, message: OutMessage): Promise<MessageRef | undefined>;
  /** Replaces a posted message's content. */
  update(ref: MessageRef, message: OutMessage): Promise<void>;
  /** Posts a file (CSV registers) to a channel. */
  uploadFile(channel: string, file: { filename: string; content: string; title?: string; comment?: string }): Promise<void>;
}

/** Prints messages to a stream (stdout by default) as text. */
export class ConsoleNotifier implements Notifier {
  private seq = 0;
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  async post(channel: string, message: OutMessage): Promise<MessageRef> {
    this.out.write(`${message.text}\n`);
    return { channel, ts: `console.${++this.seq}` };
  }

  async update(_ref: MessageRef, message: OutMessage): Promise<void> {
    this.out.write(`${message.text}\n`);
  }

  async uploadFile(_channel: string, file: { filename: string; content: string; title?: string }): Promise<void> {
    this.out.write(`--- ${file.title ?? file.filename} ---\n${file.content}\n`);
  }
}

/** Discards everything (CLI --json, where only the result is printed). */
export class SilentNotifier implements Notifier {
  private seq = 0;
  async post(channel: string): Promise<MessageRef> { return { channel, ts: `silent.${++this.seq}` }; }
  async update(): Promise<void> {}
  async uploadFile(): Promise<void> {}
}

/** The channel of a client (its own, else the default one). */
export function clientChannel(cfg: { slack?: { channel: string }; clients: Record<string, { channel?: string }> }, client: string): string {
  return cfg.clients[client]?.channel ?? cfg.slack?.channel ?? 'console';
}
