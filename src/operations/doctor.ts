import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import Docker from 'dockerode';
import type { Config } from '../config/schema.js';
import { openStore } from '../store/store.js';
import { loadSigner } from '../evidence/signer.js';
import { dirname, isAbsolute } from 'node:path';
import { parseDbUrl, describeTarget } from '../core/db-url.js';
import { checkPgDumpCompatible, mysqldumpVersion, mysqlServerVersion } from '../core/dump/versions.js';
import { createStorage } from '../core/storage/index.js';
import { LocalStorage } from '../core/storage/local.js';
import { checkOwnerOnly } from '../core/private-files.js';
import { dockerConnection, stagingEngines, type StagingEngine } from '../core/staging/docker.js';
import { errorMessage } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { checkEncryption } from '../core/crypto/keys.js';
import { checkRestorePrivileges } from '../core/restore/mysql-privileges.js';
import { retentionWarnings } from '../config/retention-coverage.js';
import { findChromium } from '../evidence/report/chromium.js';

/** One line of `doctor`: a failed check fails doctor (exit 1); a warning does not. */
export interface Check { name: string; ok: boolean; detail: string; warn?: boolean }

type Probe = () => Promise<string>;

async function check(name: string, probe: Probe): Promise<Check> {
  try {
    return { name, ok: true, detail: await probe() };
  } catch (err) {
    return { name, ok: false, detail: redactSecrets(errorMessage(err)) };
  }
}

/**
 * `backup-bot doctor`: config, state database, each client's database and dump tool, each storage
 * destination (write/read/delete probe), Docker and Slack. One line per check.
 */
/** The state database, and what the bot's role could do to the evidence beyond appending (a warning, not a failure). */
async function stateChecks(config: Config): Promise<Check[]> {
  let store: Awaited<ReturnType<typeof openStore>> | undefined;
  const out: Check[] = [];
  out.push(await check('state database', async () => {
    store = await openStore(config.state.url, { poolSize: 2, ownerUrl: config.state.ownerUrl });
    const applied = store.migrationsApplied;
    return `PostgreSQL ${await store.serverVersion()}, schema up to date${applied.length ? ` (applied ${applied.join(', ')})` : ''}`;
  }));
  if (!store) return out;
  try {
    const r = await (store as Awaited<ReturnType<typeof openStore>>).runtimeRole();
    const risks = [r.superuser ? 'is a superuser' : '', r.ownsEvidence.length ? `owns ${r.ownsEvidence.join(', ')}` : '', r.canUpdateEvidence.length ? `may UPDATE/DELETE ${r.canUpdateEvidence.join(', ')}` : ''].filter(Boolean);
    out.push(risks.length
      ? { name: 'state database role', ok: true, warn: true, detail: `the bot's role "${r.role}" ${risks.join(', ')}: it could change the evidence (detected by \`backup-bot evidence verify\`, not prevented). Run the bot as a runtime role: \`backup-bot db grant <role>\` as the owner, state.url with that role, state.ownerUrl with the owner` }
      : { name: 'state database role', ok: true, detail: `"${r.role}" may only INSERT and SELECT on the evidence` });
  } catch (err) {
    out.push({ name: 'state database role', ok: false, detail: redactSecrets(errorMessage(err)) });
  } finally {
    await (store as Awaited<ReturnType<typeof openStore>>).close();
  }
  return out;
}

/**
 * MySQL/MariaDB: could the bot's account run a production restore of the client now? A warning naming the
 * GRANTs when not (backups work without them; the restore itself refuses before anything changes).
 */
async function mysqlRestoreCheck(client: string, url: string, strategy: 'swap' | 'replace'): Promise<Check> {
  const name = `client ${client}: production restore`;
  try {
    const p = await checkRestorePrivileges(parseDbUrl(url, 'mysql'), { strategy, events: true, endConnections: true });
    if (p.ok) return { name, ok: true, detail: `the MySQL account ${p.account} holds the privileges of a ${strategy} restore` };
    return { name, ok: true, warn: true, detail: p.message.replace(' Nothing was changed.', '') };
  } catch (err) {
    return { name, ok: true, warn: true, detail: `not checked: ${redactSecrets(errorMessage(err))}` };
  }
}

export async function doctor(config: Config, source: string, opts: { fetch?: typeof fetch } = {}): Promise<Check[]> {
  const checks: Check[] = [{ name: 'config', ok: true, detail: `${source}: ${Object.keys(config.clients).length} client(s), ${Object.keys(config.storage).length} storage destination(s)` }];
  checks.push(...await stateChecks(config));
  checks.push(await check('evidence signing key', async () => {
    const s = loadSigner({ signingKey: config.evidence.signingKey, trustedKeys: config.evidence.trustedKeys, baseDir: isAbsolute(source) ? dirname(source) : process.cwd() });
    return `${s.created ? 'created ' : ''}${s.source}: Ed25519, key id ${s.keyId}${s.trusted.size > 1 ? `; ${s.trusted.size - 1} earlier key(s) trusted` : ''}`;
  }));
  checks.push(chromiumCheck());
  const retention = retentionWarnings(config);
  for (const [name, c] of Object.entries(config.clients)) {
    for (const w of retention.filter((x) => x.client === name)) checks.push({ name: `client ${name}: retention`, ok: true, warn: true, detail: w.message });
    checks.push(...await clientChecks(config, name, c));
  }
  for (const [name, s] of Object.entries(config.storage)) {
    checks.push(await check(`storage ${name}`, () => probeStorage(name, s)));
    if (s.type === 'local') checks.push(await check(`storage ${name}: permissions`, () => checkOwnerOnly(new LocalStorage(name, s).root)));
  }
  // One check per staging engine (docker.hosts), named after it; the single engine of docker.host is 'docker'.
  const engines = stagingEngines(config);
  for (const e of engines) checks.push(await check(engines.length > 1 || config.docker.hosts ? `docker ${e.name}` : 'docker', () => dockerCheck(config, e)));
  checks.push(config.slack ? await check('slack', () => slackCheck(config.slack!, opts.fetch ?? fetch)) : { name: 'slack', ok: true, detail: 'not configured: reports go to the console' });
  return checks;
}

/** The evidence report's PDF (issue 19) is printed by headless Chromium: missing, the monthly report and /backup report fail. */
function chromiumCheck(): Check {
  try {
    return { name: 'evidence report', ok: true, detail: `headless Chromium ${findChromium()} prints the PDF` };
  } catch (err) {
    return { name: 'evidence report', ok: true, warn: true, detail: redactSecrets(errorMessage(err)) };
  }
}

/** A client's database (reachable, dump tool compatible), its MySQL restore privileges and its encryption keys. */
async function clientChecks(config: Config, name: string, c: Config['clients'][string]): Promise<Check[]> {
  const out: Check[] = [];
  out.push(await check(`client ${name}: database`, async () => {
    const t = parseDbUrl(c.database.url, c.database.engine);
    if (t.engine === 'postgres') {
      const { server, tool } = await checkPgDumpCompatible(t);
      return `${describeTarget(t)}: PostgreSQL ${server.version} reachable, pg_dump ${tool.version} compatible`;
    }
    const [server, tool] = await Promise.all([mysqlServerVersion(t), mysqldumpVersion()]);
    return `${describeTarget(t)}: server ${server.version} reachable, mysqldump ${tool.version}`;
  }));
  if (c.database.engine === 'mysql') out.push(await mysqlRestoreCheck(name, c.database.url, config.approvals.strategy));
  const enc = c.encryption;
  if (enc) {
    out.push(await check(`client ${name}: encryption`, async () => {
      const r = await checkEncryption(name, enc);
      if (!r.ok) throw new Error(r.detail);
      return r.detail;
    }));
  }
  return out;
}

/** Writes, reads back and deletes a probe object; nothing is left behind. */
async function probeStorage(name: string, s: Config['storage'][string]): Promise<string> {
  const storage = createStorage(name, s);
  const key = `.backup-bot-doctor/probe-${randomBytes(6).toString('hex')}`;
  const payload = randomBytes(1024);
  await storage.put(key, Readable.from([payload]));
  try {
    const back = await buffer(await storage.get(key));
    if (!back.equals(payload)) throw new Error('read back different bytes than written');
  } finally {
    await storage.delete(key);
  }
  if (await storage.stat(key)) throw new Error('probe object still there after delete');
  return `${storage.description}: write, read and delete ok`;
}

/** A staging engine: reachable within 10 s, how the bot talks to it (TLS with a client certificate or not), staging images present. */
async function dockerCheck(config: Config, e: StagingEngine): Promise<string> {
  const c = dockerConnection(e.settings, process.env, { key: e.key, fromEnv: e.fromEnv });
  const docker = new Docker(c.options);
  const how = c.transport === 'https' ? `TLS${c.clientCertificate ? `, client certificate from ${c.tlsFrom}` : ' without a client certificate'}` : c.transport;
  const where = `${e.where} (${e.key === 'docker' ? '' : `${e.key}, `}${how})`;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('no answer within 10 s')), 10_000); });
  const v = await Promise.race([docker.version(), late]).catch((err: unknown) => { throw new Error(`${where}: not reachable: ${errorMessage(err)}`); }).finally(() => clearTimeout(timer));
  const images = [...new Set(Object.values(config.clients).map((c) => c.restoreTest.image ?? (c.database.engine === 'postgres' ? config.restoreTest.postgresImage : config.restoreTest.mysqlImage)))];
  const missing: string[] = [];
  for (const img of images) {
    try { await docker.getImage(img).inspect(); } catch { missing.push(img); }
  }
  if (missing.length) throw new Error(`${where}: Docker ${v.Version} reachable, but staging image(s) missing: ${missing.join(', ')} (build with scripts/build-staging-image.sh)`);
  return `${where}: Docker ${v.Version} reachable, staging image(s) present: ${images.join(', ')}`;
}

async function slackCheck(slack: NonNullable<Config['slack']>, f: typeof fetch): Promise<string> {
  const base = slack.apiUrl ?? 'https://slack.com/api/';
  const res = await f(new URL('auth.test', base.endsWith('/') ? base : base + '/'), { method: 'POST', headers: { authorization: `Bearer ${slack.botToken}` } });
  const body = (await res.json()) as { ok: boolean; error?: string; team?: string; user?: string };
  if (!body.ok) throw new Error(`auth.test failed: ${body.error ?? res.status}`);
  return `auth.test ok: ${body.user ?? '?'} in ${body.team ?? '?'}`;
}
