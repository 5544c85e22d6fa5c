import type { MessageRef } from '../../src/operations/reporter.js';
import type { MessageSink, OutMessage } from '../../src/notify/sink.js';

/** Records the messages the reporter renders (for tests that don't go through the Slack emulator). */
export class RecordingNotifier implements MessageSink {
  readonly posts: Array<{ channel: string; message: OutMessage; ref: MessageRef }> = [];
  readonly updates: Array<{ ref: MessageRef; message: OutMessage }> = [];
  private seq = 0;

  async post(channel: string, message: OutMessage): Promise<MessageRef> {
    const ref = { channel, ts: `rec.${++this.seq}` };
    this.posts.push({ channel, message, ref });
    return ref;
  }
  async update(ref: MessageRef, message: OutMessage): Promise<boolean> {
    this.updates.push({ ref, message });
    return true;
  }
  /** The latest text of every message, in posting order. */
  texts(): string[] {
    return this.posts.map((p) => {
      const ups = this.updates.filter((u) => u.ref.ts === p.ref.ts);
      return (ups.length ? ups[ups.length - 1]!.message : p.message).text;
    });
  }
}
