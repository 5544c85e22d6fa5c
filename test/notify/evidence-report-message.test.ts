import { MessageReporter } from '../../src/notify/message-reporter.js';
import type { OutFile } from '../../src/notify/sink.js';
import { silentLogger } from '../../src/logger.js';
import { testConfig } from '../helpers/config.js';
import { RecordingNotifier } from '../helpers/notifier.js';

/** The monthly evidence report as the reporter delivers it: the PDF with its comment, or the comment alone where files cannot be shown. */

const config = testConfig({ stateUrl: 'postgres://x@127.0.0.1/x', client: { channel: 'C0DEMO' } });
const event = (ok: boolean) => ({
  kind: 'evidence.report' as const, client: 'demo', period: '2026-03', pdf: { filename: 'evidence-report_demo_2026-03.pdf', bytes: new Uint8Array([0x25, 0x50, 0x44, 0x46]) },
  reportSha256: 'ab'.repeat(32), keyId: 'k1', evidenceOk: ok, brokenRows: ok ? 0 : 2,
});

class UploadingSink extends RecordingNotifier {
  readonly uploads: Array<{ channel: string; file: OutFile }> = [];
  constructor(private readonly ok: boolean) { super(); }
  async upload(channel: string, file: OutFile): Promise<boolean> {
    this.uploads.push({ channel, file });
    return this.ok;
  }
}

test('Slack: the PDF is shared in the client\'s channel with its comment; broken records call the System Owners and QA', async () => {
  const sink = new UploadingSink(true);
  const r = new MessageReporter({ config, sink, logger: silentLogger });
  expect(await r.report(event(true))).toEqual({ channel: 'C0DEMO', ts: 'file' });
  expect(sink.uploads).toHaveLength(1);
  expect(sink.uploads[0]).toMatchObject({ channel: 'C0DEMO', file: { filename: 'evidence-report_demo_2026-03.pdf', title: 'demo: evidence report 2026-03' } });
  expect(sink.uploads[0]!.file.comment).toContain('every record verifies');
  expect(sink.uploads[0]!.file.comment).toContain(`\`${'ab'.repeat(32)}\``);
  expect(sink.uploads[0]!.file.comment).not.toContain('<@');
  await r.report(event(false));
  expect(sink.uploads[1]!.file.comment).toContain('*2 record(s) of the period do not verify*');
  expect(sink.uploads[1]!.file.comment).toContain('<@U0OWNER> <@U0QA>');
  expect(sink.posts).toHaveLength(0);
});

test('upload refused: the comment is posted with a warning; a sink without files (console): the comment alone', async () => {
  const failing = new UploadingSink(false);
  await new MessageReporter({ config, sink: failing, logger: silentLogger }).report(event(true));
  expect(failing.posts).toHaveLength(1);
  expect(failing.posts[0]!.message.text).toContain('The PDF could not be attached');
  const console = new RecordingNotifier();
  await new MessageReporter({ config, sink: console, logger: silentLogger }).report(event(true));
  expect(console.texts()).toEqual([expect.stringContaining('*Evidence report of demo for 2026-03*')]);
  expect(console.texts()[0]).not.toContain('could not be attached');
});
