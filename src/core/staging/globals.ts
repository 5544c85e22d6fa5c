import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { gunzip as gunzipCb } from 'node:zlib';
import { OperationError, errorMessage } from '../errors.js';
import { execIn } from './exec.js';
import { describeContainerState, type Staging } from './container.js';
import { HashingStream, checkDigest, type Expected } from './restore.js';
import { decryptingStream, type DecryptSource } from '../crypto/keys.js';

const gunzip = promisify(gunzipCb);

export interface GlobalsSource {
  /** Opens the stored `backup_…_globals.sql.gz`. */
  open: () => Promise<Readable>;
  /** For messages: the key or file name. */
  what: string;
  expected: Expected;
  /** An encrypted file (`….sql.gz.age`): the identities that open it, and the recorded sha256 of its gzip plaintext. */
  decrypt?: DecryptSource & { plaintextSha256?: string };
}

export interface GlobalsApplyResult {
  bytes: number;
  sha256: string;
  /** CREATE ROLE statements sent to the staging server. */
  roles: number;
  /** What was left out on purpose, in words (never the statements: they may hold password hashes). */
  skipped: string[];
  /** Errors the load tolerated (a role the staging image already has). */
  tolerated: string[];
  /** Tablespace directories created in the container so that CREATE TABLESPACE works there. */
  tablespaceDirs: string[];
}

/** Globals files are small (a few KB per hundred roles): read whole, within these bounds. */
const MAX_COMPRESSED = 64 * 1024 * 1024;
const MAX_SQL = 256 * 1024 * 1024;

/** Errors a globals load tolerates: objects the staging image already has. */
const TOLERATED = /(?:role|tablespace) "[^"]+" already exists/;

/**
 * Loads a stored globals file (`pg_dumpall --globals-only`) into the staging server, before the database
 * (issue 18 item 5), so that the restore sees production's roles: ownership (`ALTER … OWNER TO`) and grants
 * then apply instead of failing with `role "…" does not exist`.
 *
 * How roles the staging image already has are handled (decided here):
 * - The staging server's own superuser (`postgres`): its `CREATE ROLE` and every `ALTER ROLE` line are left out.
 *   It exists, and production's attributes, settings or password hash (globalsWithPasswords) applied to it
 *   would change the credentials and behaviour of the account the bot uses for the rest of the test.
 * - Any other role the image has: psql runs WITHOUT ON_ERROR_STOP (pg_dumpall's output is a list of
 *   independent statements, not one transaction), so its `CREATE ROLE` fails alone with "already exists",
 *   which is tolerated and reported; its `ALTER ROLE` then sets production's attributes. Every other error
 *   fails the load: a globals file that does not load on a fresh server is what the test is there to find.
 * - `CREATE TABLESPACE … LOCATION '/path'`: the directory is created in the container first (owned by
 *   postgres), so the tablespace and the tables placed in it restore as in production.
 *
 * The file's sha256 (and size) are checked against the manifest before anything is sent. A statement that
 * fails is not written to the server log (log_min_error_statement=panic for this session): with passwords it
 * could carry a hash into the container log that a failed run keeps as evidence.
 */
export async function applyGlobalsInStaging(s: Staging, src: GlobalsSource, opts: { signal?: AbortSignal } = {}): Promise<GlobalsApplyResult> {
  if (s.engine !== 'postgres') throw new OperationError('a globals file can only be loaded into a PostgreSQL staging server');
  const stored = await readAll(src, opts.signal);
  const sha256 = stored.sha256;
  const gz = src.decrypt ? await decryptWhole(stored.gz, src.what, src.decrypt) : stored.gz;
  let sql: string;
  try {
    sql = (await gunzip(gz, { maxOutputLength: MAX_SQL })).toString('utf8');
  } catch (err) {
    throw new OperationError(`gzip error in ${src.what}: ${errorMessage(err)} (the file is truncated or damaged)`);
  }

  const own = new Set([s.user, `"${s.user.replace(/"/g, '""')}"`]);
  const skipped = new Set<string>();
  const dirs: string[] = [];
  let roles = 0;
  const kept: string[] = [];
  for (const line of sql.split('\n')) {
    const create = /^CREATE ROLE (.+);$/.exec(line);
    const alter = /^ALTER ROLE ("(?:[^"]|"")+"|[^\s"]+) /.exec(line);
    if (create && own.has(create[1]!)) { skipped.add(`CREATE ROLE ${s.user} (the staging server's superuser exists already)`); continue; }
    if (alter && own.has(alter[1]!)) { skipped.add(`ALTER ROLE ${s.user} (production's attributes, settings and password are not given to the staging server's superuser)`); continue; }
    if (create) roles++;
    const ts = /^CREATE TABLESPACE .* LOCATION '((?:[^']|'')*)';$/.exec(line);
    if (ts) {
      const path = ts[1]!.replace(/''/g, "'");
      if (path.startsWith('/') && !path.includes('\0') && !dirs.includes(path)) dirs.push(path);
    }
    kept.push(line);
  }

  for (const dir of dirs) await makeTablespaceDir(s, dir, opts.signal);

  const errors: string[] = [];
  const tolerated: string[] = [];
  let partial = '';
  const onStderr = (c: Buffer) => {
    const lines = (partial + c.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (/\b(?:ERROR|FATAL)\b/.test(l)) (TOLERATED.test(l) ? tolerated : errors).push(l.replace(/^psql:[^:]*:\d+: /, '').trim());
  };
  const r = await execIn(s.container, ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=0', '-U', s.user, '-d', s.database], {
    stdin: Readable.from([Buffer.from(kept.join('\n'))]),
    env: ['PGOPTIONS=-c log_min_error_statement=panic'],
    signal: opts.signal,
    onStderr,
    maxOutput: 16 * 1024,
  });
  onStderr(Buffer.from('\n'));
  if (r.exitCode !== 0) {
    const state = await describeContainerState(s, { settleMs: 1500 });
    if (!state.running) throw new OperationError(`the staging container ${state.text} while the globals were loaded`);
    throw new OperationError(`psql exited with code ${r.exitCode ?? 'unknown'} while loading the globals${errors.length ? `: ${errors.slice(0, 3).join(' | ')}` : ''}`);
  }
  if (errors.length) throw new OperationError(`loading the globals (${src.what}) reported ${errors.length} error(s): ${errors.slice(0, 3).join(' | ').slice(0, 600)}`);
  return { bytes: gz.length, sha256, roles, skipped: [...skipped], tolerated, tablespaceDirs: dirs };
}

/**
 * A directory owned by postgres for CREATE TABLESPACE. Made by postgres itself: root in a `docker exec` of a
 * container started as postgres with no-new-privileges has no capabilities (no chown). When postgres cannot
 * write the parent, root (who owns the parents it creates) makes it and opens it (sticky, like /tmp).
 */
async function makeTablespaceDir(s: Staging, dir: string, signal?: AbortSignal): Promise<void> {
  const as = async (user: string, cmd: string[]) => execIn(s.container, cmd, { user, signal });
  if ((await as('postgres', ['mkdir', '-p', '--', dir])).exitCode !== 0) {
    const parent = dir.replace(/\/+[^/]+\/*$/, '') || '/';
    for (const cmd of [['mkdir', '-p', '--', parent], ['chmod', '1777', '--', parent]]) {
      const r = await as('root', cmd);
      if (r.exitCode !== 0) throw new OperationError(`cannot create the tablespace directory ${dir} in the staging container (${cmd[0]}): ${r.stderr.trim().slice(0, 300) || `exit code ${r.exitCode}`}`);
    }
    const r = await as('postgres', ['mkdir', '-p', '--', dir]);
    if (r.exitCode !== 0) throw new OperationError(`cannot create the tablespace directory ${dir} in the staging container: ${r.stderr.trim().slice(0, 300) || `exit code ${r.exitCode}`}`);
  }
  await as('postgres', ['chmod', '700', '--', dir]);
}

async function readAll(src: GlobalsSource, signal?: AbortSignal): Promise<{ gz: Buffer; sha256: string }> {
  const raw = await src.open();
  const h = new HashingStream();
  const chunks: Buffer[] = [];
  const onAbort = () => raw.destroy(signal?.reason as Error);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    raw.on('error', (e) => h.destroy(e));
    for await (const c of raw.pipe(h) as AsyncIterable<Buffer>) {
      chunks.push(c);
      if (h.bytes > MAX_COMPRESSED) throw new OperationError(`${src.what} is larger than ${MAX_COMPRESSED / 1024 / 1024} MiB: not a globals file`);
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason as Error;
    if (err instanceof OperationError) throw err;
    throw new OperationError(`cannot download ${src.what}: ${errorMessage(err)}`);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    raw.destroy();
  }
  const got = { sha256: h.digest(), bytes: h.bytes };
  checkDigest(src.what, src.expected, got);
  return { gz: Buffer.concat(chunks), sha256: got.sha256 };
}

/** Decrypts a whole (small) age file in memory; the plaintext must hash to the recorded value when there is one. */
async function decryptWhole(ciphertext: Buffer, what: string, d: DecryptSource & { plaintextSha256?: string }): Promise<Buffer> {
  const dec = decryptingStream(d.decryption, what, d.client);
  const chunks: Buffer[] = [];
  const h = new HashingStream();
  try {
    await pipeline(Readable.from([ciphertext]), dec, h, async (src: AsyncIterable<Buffer>) => { for await (const c of src) chunks.push(c); });
  } catch (err) {
    throw new OperationError(`cannot decrypt ${what}: ${errorMessage(err)}`);
  }
  if (d.plaintextSha256 && h.digest() !== d.plaintextSha256) throw new OperationError(`${what}: the decrypted content's sha256 differs from the recorded one (the file was replaced)`);
  return Buffer.concat(chunks);
}
