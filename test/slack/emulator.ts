import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A local Slack Web API for the tests (node:http on 127.0.0.1, random port). It records every call and
 * keeps enough state to answer like Slack: messages (post/update), views (hash / hash_conflict), users,
 * user groups, external file uploads, response_url endpoints (5 uses) and a Socket Mode WebSocket.
 * Faults are switched on per method: connection dropped ("down"), 429 with Retry-After, or a Slack error.
 * `latencyMs` makes every answer (Web API, response_url, file upload) late by that much, as a slow Slack: the
 * call is recorded and acted on when it arrives, its answer sent later.
 */

export interface EmulatorCall { method: string; params: Record<string, any>; token?: string; at: number; fault?: string }
export interface StoredMessage { channel: string; ts: string; text: string; blocks?: unknown[]; thread_ts?: string; history: Array<{ text: string; blocks?: unknown[] }> }
export interface StoredFile { id: string; filename: string; title?: string; content: string; bytes?: Buffer; channel?: string; initial_comment?: string; thread_ts?: string }
export type Fault = { kind: 'down' } | { kind: 'ratelimit'; retryAfter: number } | { kind: 'error'; error: string };
export interface SocketAck { envelope_id: string; payload?: unknown; receivedAt: number }

const JSONISH = /^\s*[[{]/;

export class SlackEmulator {
  readonly calls: EmulatorCall[] = [];
  readonly messages = new Map<string, StoredMessage>();
  readonly files: StoredFile[] = [];
  readonly users = new Map<string, { id: string; name: string; real_name: string; deleted?: boolean }>();
  readonly usergroups = new Map<string, string[]>();
  readonly views = new Map<string, { id: string; hash: string; view: any }>();
  readonly responses = new Map<string, { uses: number; bodies: any[] }>();
  readonly socketAcks: SocketAck[] = [];
  botToken = 'xoxb-test-token';
  /** Every HTTP answer (Web API methods, response_url, file uploads) is sent this many milliseconds late. */
  latencyMs = 0;
  appToken = 'xapp-test-token';
  private server?: Server;
  private wss?: WebSocketServer;
  private sockets = new Set<WebSocket>();
  private seq = 0;
  private faults = new Map<string, { fault: Fault; times: number }>();
  private uploads = new Map<string, { filename: string; length: number; content?: string; bytes?: Buffer }>();
  port = 0;

  constructor() {
    this.addUser('U0OPER', 'Olga Operator');
    this.addUser('U0QA', 'Quique QA');
    this.addUser('U0OWNER', 'Sofía Owner');
    this.addUser('U0ITMGR', 'Iván IT Manager');
    this.addUser('U0STRANGER', 'Sam Stranger');
  }

  get base(): string { return `http://127.0.0.1:${this.port}`; }
  /** The Web API URL for `slack.apiUrl` (ends with a slash, as the WebClient expects). */
  get apiUrl(): string { return `${this.base}/api/`; }

  addUser(id: string, realName: string): void { this.users.set(id, { id, name: realName.split(' ')[0]!.toLowerCase(), real_name: realName }); }
  addUsergroup(id: string, members: string[]): void { this.usergroups.set(id, members); }

  /** Makes `method` ('*' for all) fail `times` times (Infinity by default). */
  fault(method: string, fault: Fault, times = Number.POSITIVE_INFINITY): void { this.faults.set(method, { fault, times }); }
  clearFaults(): void { this.faults.clear(); }

  /** A fresh response_url (Slack allows 5 uses). */
  responseUrl(): string {
    const id = randomUUID();
    this.responses.set(id, { uses: 0, bodies: [] });
    return `${this.base}/response/${id}`;
  }

  callsTo(method: string): EmulatorCall[] { return this.calls.filter((c) => c.method === method); }

  async start(): Promise<void> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/socket')) { socket.destroy(); return; }
      this.wss!.handleUpgrade(req, socket, head, (ws) => {
        this.sockets.add(ws);
        this.socketConnectionsOpened++;
        ws.on('close', () => this.sockets.delete(ws));
        ws.on('message', (data) => {
          try {
            const msg = JSON.parse(data.toString()) as { envelope_id?: string; payload?: unknown };
            if (msg.envelope_id) this.socketAcks.push({ envelope_id: msg.envelope_id, payload: msg.payload, receivedAt: Date.now() });
          } catch { /* not JSON: ignored, like Slack */ }
        });
        ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'emulator', approximate_connection_time: 18060 }, connection_info: { app_id: 'A0BACKUP' } }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss?.close();
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
  }

  /**
   * Slack refreshing Socket Mode, as it does every few hours: a `disconnect` envelope (reason refresh_requested) on
   * every open connection, which is then closed; the client is expected to open a new one.
   */
  refreshSocketConnections(): void {
    for (const ws of this.sockets) {
      ws.send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'emulator' } }));
      ws.close();
    }
  }

  /** Socket Mode connections opened since the start (a reconnect adds one). */
  socketConnectionsOpened = 0;

  /** Number of open Socket Mode connections. */
  get socketConnections(): number { return this.sockets.size; }

  /** Sends a Socket Mode envelope to every connected client; resolves with the ack (or rejects after `timeoutMs`). */
  async sendEnvelope(type: 'slash_commands' | 'interactive' | 'events_api', payload: Record<string, unknown>, timeoutMs = 3000): Promise<SocketAck & { sentAt: number }> {
    const ws = [...this.sockets][0];
    if (!ws) throw new Error('no Socket Mode client connected');
    const envelope_id = randomUUID();
    const sentAt = Date.now();
    ws.send(JSON.stringify({ envelope_id, type, payload, accepts_response_payload: type !== 'events_api', retry_attempt: 0, retry_reason: '' }));
    const deadline = sentAt + timeoutMs;
    while (Date.now() < deadline) {
      const ack = this.socketAcks.find((a) => a.envelope_id === envelope_id);
      if (ack) return { ...ack, sentAt };
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`envelope ${envelope_id} was not acknowledged within ${timeoutMs} ms`);
  }

  /** Waits until `pred` holds (polling), or throws with `what`. */
  async waitFor<T>(pred: () => T | undefined | false, what: string, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private async readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private parse(req: IncomingMessage, raw: Buffer): Record<string, any> {
    const type = req.headers['content-type'] ?? '';
    const text = raw.toString('utf8');
    if (type.includes('application/json')) return text ? JSON.parse(text) as Record<string, any> : {};
    const out: Record<string, any> = {};
    for (const [k, v] of new URLSearchParams(text)) {
      if (JSONISH.test(v)) {
        try { out[k] = JSON.parse(v); continue; } catch { /* keep the string */ }
      }
      out[k] = v;
    }
    return out;
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }

  private nextTs(): string {
    this.seq += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.seq).padStart(6, '0')}`;
  }

  private takeFault(method: string): Fault | undefined {
    for (const key of [method, '*']) {
      const f = this.faults.get(key);
      if (f && f.times > 0) {
        f.times -= 1;
        if (f.times <= 0) this.faults.delete(key);
        return f.fault;
      }
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const raw = await this.readBody(req);
    if (this.latencyMs > 0) {
      // The call is recorded (and acted on) on arrival; its answer leaves latencyMs later.
      const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
      const delay = this.latencyMs;
      res.end = ((...a: unknown[]) => { setTimeout(() => end(...a), delay); return res; }) as typeof res.end;
    }
    if (url.pathname.startsWith('/response/')) return this.handleResponseUrl(url.pathname.slice('/response/'.length), req, raw, res);
    if (url.pathname.startsWith('/upload/')) {
      const id = url.pathname.slice('/upload/'.length);
      const up = this.uploads.get(id);
      this.calls.push({ method: 'upload', params: { file_id: id, bytes: raw.length }, at: Date.now() });
      if (!up) { res.writeHead(404); res.end(); return; }
      up.content = extractUploadedContent(req, raw);
      up.bytes = extractUploadedBytes(req, raw);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`OK - ${raw.length}`);
      return;
    }
    if (!url.pathname.startsWith('/api/')) { res.writeHead(404); res.end(); return; }
    const method = url.pathname.slice('/api/'.length);
    const params = this.parse(req, raw);
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : (params.token as string | undefined);
    const call: EmulatorCall = { method, params, token, at: Date.now() };
    this.calls.push(call);

    const fault = this.takeFault(method);
    if (fault) {
      call.fault = fault.kind;
      if (fault.kind === 'down') { req.socket.destroy(); return; }
      if (fault.kind === 'ratelimit') return this.send(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fault.retryAfter) });
      return this.send(res, 200, { ok: false, error: fault.error });
    }
    const expected = method === 'apps.connections.open' ? this.appToken : this.botToken;
    if (token !== expected) return this.send(res, 200, { ok: false, error: 'invalid_auth' });
    this.send(res, 200, this.answer(method, params));
  }

  private answer(method: string, p: Record<string, any>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://acme.slack.com/', team: 'Acme', user: 'backupbot', team_id: 'T0TEAM', user_id: 'U0BOT', bot_id: 'B0BOT', is_enterprise_install: false };
      case 'chat.postMessage': {
        if (!p.channel) return { ok: false, error: 'channel_not_found' };
        if (!p.text && !p.blocks) return { ok: false, error: 'no_text' };
        const blockError = checkBlocks(p.blocks);
        if (blockError) return { ok: false, error: 'invalid_blocks', errors: [blockError] };
        const ts = this.nextTs();
        const m: StoredMessage = { channel: String(p.channel), ts, text: String(p.text ?? ''), blocks: p.blocks, thread_ts: p.thread_ts, history: [] };
        this.messages.set(`${m.channel}:${ts}`, m);
        return { ok: true, channel: m.channel, ts, message: { type: 'message', text: m.text, ts, bot_id: 'B0BOT' } };
      }
      case 'chat.update': {
        const m = this.messages.get(`${p.channel}:${p.ts}`);
        if (!m) return { ok: false, error: 'message_not_found' };
        const blockError = checkBlocks(p.blocks);
        if (blockError) return { ok: false, error: 'invalid_blocks', errors: [blockError] };
        m.history.push({ text: m.text, blocks: m.blocks });
        m.text = String(p.text ?? '');
        m.blocks = p.blocks;
        return { ok: true, channel: m.channel, ts: m.ts, text: m.text };
      }
      case 'chat.postEphemeral':
        if (!p.user) return { ok: false, error: 'user_not_in_channel' };
        return { ok: true, message_ts: this.nextTs() };
      case 'chat.getPermalink': {
        const m = this.messages.get(`${p.channel}:${p.message_ts}`);
        if (!m) return { ok: false, error: 'message_not_found' };
        return { ok: true, channel: m.channel, permalink: `https://acme.slack.com/archives/${m.channel}/p${m.ts.replace('.', '')}` };
      }
      case 'views.open': {
        if (!p.trigger_id) return { ok: false, error: 'invalid_trigger_id' };
        const id = `V${(++this.seq).toString().padStart(8, '0')}`;
        const v = { id, hash: `${Date.now()}.${randomUUID().slice(0, 8)}`, view: p.view };
        this.views.set(id, v);
        return { ok: true, view: { ...p.view, id, hash: v.hash } };
      }
      case 'views.update': {
        const v = this.views.get(String(p.view_id));
        if (!v) return { ok: false, error: 'not_found' };
        if (p.hash && p.hash !== v.hash) return { ok: false, error: 'hash_conflict' };
        v.view = p.view;
        v.hash = `${Date.now()}.${randomUUID().slice(0, 8)}`;
        return { ok: true, view: { ...p.view, id: v.id, hash: v.hash } };
      }
      case 'users.info': {
        const u = this.users.get(String(p.user));
        if (!u) return { ok: false, error: 'user_not_found' };
        return { ok: true, user: { id: u.id, name: u.name, real_name: u.real_name, deleted: Boolean(u.deleted), profile: { real_name: u.real_name, display_name: u.name } } };
      }
      case 'usergroups.users.list': {
        const members = this.usergroups.get(String(p.usergroup));
        if (!members) return { ok: false, error: 'no_such_subteam' };
        return { ok: true, users: members };
      }
      case 'files.getUploadURLExternal': {
        if (!p.filename || !p.length) return { ok: false, error: 'invalid_arguments' };
        const file_id = `F${(++this.seq).toString().padStart(8, '0')}`;
        this.uploads.set(file_id, { filename: String(p.filename), length: Number(p.length) });
        return { ok: true, upload_url: `${this.base}/upload/${file_id}`, file_id };
      }
      case 'files.completeUploadExternal': {
        const list = (Array.isArray(p.files) ? p.files : []) as Array<{ id: string; title?: string }>;
        const done: StoredFile[] = [];
        for (const f of list) {
          const up = this.uploads.get(f.id);
          if (!up || up.content === undefined) return { ok: false, error: 'file_not_found' };
          const stored: StoredFile = { id: f.id, filename: up.filename, title: f.title, content: up.content, bytes: up.bytes, channel: p.channel_id, initial_comment: p.initial_comment, thread_ts: p.thread_ts };
          this.files.push(stored);
          done.push(stored);
        }
        return { ok: true, files: done.map((f) => ({ id: f.id, name: f.filename, title: f.title ?? f.filename })) };
      }
      case 'apps.connections.open':
        return { ok: true, url: `ws://127.0.0.1:${this.port}/socket?ticket=${randomUUID()}&app_id=A0BACKUP` };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  private handleResponseUrl(id: string, req: IncomingMessage, raw: Buffer, res: ServerResponse): void {
    const r = this.responses.get(id);
    const body = this.parse(req, raw);
    this.calls.push({ method: 'response_url', params: { id, ...body }, at: Date.now() });
    if (!r) return this.send(res, 404, { ok: false, error: 'expired_url' });
    if (r.uses >= 5) return this.send(res, 404, { ok: false, error: 'used_url' });
    r.uses += 1;
    r.bodies.push(body);
    this.send(res, 200, { ok: true });
  }
}

/** Slack's limits: at most 50 blocks, text objects at most 3000 characters. */
function checkBlocks(blocks: unknown): string | undefined {
  if (blocks === undefined) return undefined;
  if (!Array.isArray(blocks)) return 'blocks must be an array';
  if (blocks.length > 50) return `too many blocks (${blocks.length} > 50)`;
  const texts: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) { v.forEach(walk); return; }
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') texts.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(blocks);
  const long = texts.find((t) => t.length > 3000);
  return long ? `text longer than 3000 characters (${long.length})` : undefined;
}

/** The file's bytes from the upload request (multipart form with one file, or the raw body). */
function extractUploadedContent(req: IncomingMessage, raw: Buffer): string {
  const type = req.headers['content-type'] ?? '';
  const m = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type);
  if (!type.startsWith('multipart/form-data') || !m) return raw.toString('utf8');
  const boundary = `--${m[1] ?? m[2]}`;
  const parts = raw.toString('utf8').split(boundary).slice(1, -1);
  const part = parts[0] ?? '';
  const sep = part.indexOf('\r\n\r\n');
  return part.slice(sep + 4, part.length - 2);
}

/** The same, byte for byte (binary files: PDF, PNG). */
function extractUploadedBytes(req: IncomingMessage, raw: Buffer): Buffer {
  const type = req.headers['content-type'] ?? '';
  const m = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type);
  if (!type.startsWith('multipart/form-data') || !m) return raw;
  const boundary = `--${m[1] ?? m[2]}`;
  const part = raw.toString('latin1').split(boundary).slice(1, -1)[0] ?? '';
  const sep = part.indexOf('\r\n\r\n');
  return Buffer.from(part.slice(sep + 4, part.length - 2), 'latin1');
}
