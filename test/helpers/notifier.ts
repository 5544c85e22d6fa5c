import type { MessageRef, Notifier, OutMessage } from '../../src/slack/notifier.js';

/** Records what operations tell people (for tests that don't go through the Slack emulator). */
export class RecordingNotifier implements Notifier {
  readonly posts: Array<{ channel: string; message: OutMessage; ref: MessageRef }> = [];
  readonly updates: Array<{ ref: MessageRef; message: OutMessage }> = [];
  readonly files: Array<{ channel: string; filename: string; content: string }> = [];
  private seq = 0;

  async post(channel: string, message: OutMessage): Promise<MessageRef> {
    const ref = { channel, ts: `rec.${++this.seq}` };
    this.posts.push({ channel, message, ref });
    return ref;
  }
  async update(ref: MessageRef, message: OutMessage): Promise<void> {
    this.updates.push({ ref, message });
  }
  async uploadFile(channel: string, file: { filename: string; content: string }): Promise<void> {
    this.files.push({ channel, filename: file.filename, content: file.content });
  }
  /** The latest text of every message, in posting order. */
  texts(): string[] {
    return this.posts.map((p) => {
      const ups = this.updates.filter((u) => u.ref.ts === p.ref.ts);
      return (ups.length ? ups[ups.length - 1]!.message : p.message).text;
    });
  }
}
