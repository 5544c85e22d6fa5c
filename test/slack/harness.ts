import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { startServer, type Server } from '../../src/server.js';
import { createLogger } from '../../src/logger.js';
import { SlackEmulator } from './emulator.js';
import { SlackWebSink } from '../../src/notify/slack/web-sink.js';
import { createPool, type Pool } from '../../src/store/db.js';
import type { RetryOptions } from '@slack/web-api';
import type { Clock } from '../../src/core/time.js';
import { TEST_SIGNING_SECRET, sendSigned, slashCommandBody, type SendOptions, type SendResult } from './sign.js';

interface LogLine { level: number; msg: string; [k: string]: unknown }

/** The running bot (startServer with a real state database, local storage and the demo database) against the emulator. */
export interface Bot {
  emu: SlackEmulator;
  server: Server;
  /** http://127.0.0.1:PORT of the Slack request URL (HTTP mode; in Socket Mode there is none: the operational listener's). */
  base: string;
  eventsUrl: string;
  /** http://127.0.0.1:PORT of /metrics and /healthz (their own listener, metrics.listen). */
  opsBase: string;
  logs: LogLine[];
  state: TestDatabase;
  demo: TestDatabase;
  storageDir: string;
  /** The test's own pool on the bot's state database (checks and tampering). */
  pool: Pool;
  /**
   * Sends `/backup <text>` (or another command) signed as Slack does. `answer()` is what the user is shown: the
   * ack's text when it had one, else the first message the bot sent to the command's response_url.
   */
  slash(text: string, o?: { command?: string; user?: string; channel?: string; responseUrl?: string; triggerId?: string } & SendOptions): Promise<SendResult & { answer(timeoutMs?: number): Promise<any>; answers(): any[] }>;
  stopServer(): Promise<void>;
  close(): Promise<void>;
}

export const DEMO_CHANNEL = 'C0DEMO';
export const OPS_CHANNEL = 'C0OPS';

/**
 * `client` overrides the demo client's config, `clients` adds clients; `clock` is the bot's clock (a FakeClock
 * to move time past an expiry); `slackLatencyMs` makes every Slack answer that late; `beforeStart`
 * sets up the emulator before the bot starts; `raw` adds top-level config (e.g. `schedules`); `workers` runs the scheduler and the shared work queue (issue 21).
 */
export async function startBot(o: { socketMode?: boolean; client?: Record<string, unknown>; clients?: Record<string, Record<string, unknown>>; shared?: { state: TestDatabase; demo: TestDatabase }; retryConfig?: RetryOptions; clock?: Clock; slackLatencyMs?: number; beforeStart?: (emu: SlackEmulator) => void; raw?: Record<string, unknown>;
  /** Run the scheduler and the shared work queue (issue 21) with these `workers` settings; default: neither. */
  workers?: Record<string, unknown>;
} = {}): Promise<Bot> {
  const emu = new SlackEmulator();
  emu.latencyMs = o.slackLatencyMs ?? 0;
  o.beforeStart?.(emu);
  await emu.start();
  const state = o.shared?.state ?? await createTestDatabase('bbt_slack');
  const demo = o.shared?.demo ?? await createTestDatabase('bbt_slackdemo');
  if (!o.shared) await fillSampleDatabase(demo.url);
  const storageDir = await mkdtemp(join(tmpdir(), 'bb-slack-'));
  const config = testConfig({
    stateUrl: state.url, demoUrl: demo.url, storageDir,
    client: { channel: DEMO_CHANNEL, ...(o.client ?? {}) },
    ...(o.clients ? { clients: o.clients } : {}),
    raw: {
      slack: {
        botToken: emu.botToken, signingSecret: TEST_SIGNING_SECRET, apiUrl: emu.apiUrl, channel: OPS_CHANNEL,
        ...(o.socketMode ? { appToken: emu.appToken } : {}),
      },
      ...(o.raw ?? {}),
      ...(o.workers ? { workers: o.workers } : {}),
    },
  });
  const logs: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) { try { logs.push(JSON.parse(line) as LogLine); } catch { /* ignore */ } }
      cb();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const server = await startServer({ config, source: 'test', notes: [] }, { handleSignals: false, scheduler: o.workers ? {} : false, workQueue: { pollSeconds: 0.5 }, slackPort: 0, slackHost: '127.0.0.1', logger, poolSize: 6, ...(o.clock ? { clock: o.clock } : {}), ...(o.retryConfig ? { sink: new SlackWebSink({ token: emu.botToken, apiUrl: emu.apiUrl, logger, retryConfig: o.retryConfig }) } : {}) });
  const pool = createPool(state.url, { max: 2, applicationName: 'backup-bot-test' });
  const opsBase = server.ops.url;
  const base = server.slack!.port !== undefined ? `http://127.0.0.1:${server.slack!.port}` : opsBase;
  const eventsUrl = `${base}/slack/events`;
  let stopped = false;
  const stopServer = async () => { if (!stopped) { stopped = true; await server.stop('test done'); } };
  return {
    emu, server, base, eventsUrl, opsBase, logs, state, demo, storageDir, pool,
    async slash(text, so = {}) {
      const responseUrl = so.responseUrl ?? emu.responseUrl();
      const body = slashCommandBody({ command: so.command ?? '/backup', text, user_id: so.user ?? 'U0OPER', channel_id: so.channel ?? OPS_CHANNEL, response_url: responseUrl, ...(so.triggerId ? { trigger_id: so.triggerId } : {}) });
      const res = await sendSigned(eventsUrl, body, so);
      const id = responseUrl.split('/').pop()!;
      const answers = () => emu.responses.get(id)?.bodies ?? [];
      return {
        ...res,
        answers,
        async answer(timeoutMs = 60_000) {
          if (res.json?.text) return res.json;
          const until = Date.now() + timeoutMs;
          while (Date.now() < until) {
            const first = answers()[0];
            if (first) return first;
            await new Promise((r) => setTimeout(r, 20));
          }
          throw new Error(`no answer to "${text}" within ${timeoutMs} ms`);
        },
      };
    },
    stopServer,
    async close() {
      await stopServer();
      await pool.end().catch(() => undefined);
      await emu.stop();
      if (!o.shared) { await state.drop(); await demo.drop(); }
      await rm(storageDir, { recursive: true, force: true });
    },
  };
}
