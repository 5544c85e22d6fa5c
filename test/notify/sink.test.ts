import { Writable } from 'node:stream';
import { ConsoleSink } from '../../src/notify/sink.js';
import { literal } from '../../src/notify/slack/literal.js';
import { TYPED } from './slack/shown-literally.js';

/** The console parses no mrkdwn: what people and tools wrote is printed as they wrote it. */
test('the console prints typed text as typed, not Slack-escaped', async () => {
  let out = '';
  const sink = new ConsoleSink(new Writable({ write(c: Buffer, _e, cb) { out += c.toString(); cb(); } }));
  const ref = await sink.post('console', { text: `Restore test of demo: FAILED — ${literal(TYPED)}` });
  await sink.update(ref, { text: `*Reason:* ${literal(TYPED)}` });
  expect(out).toBe(`Restore test of demo: FAILED — ${TYPED}\n*Reason:* ${TYPED}\n`);
});
