/**
 * restoreTables (partial production restore) writes the table list and the extracted table data to a
 * temporary directory: owner-only (0700 / 0600) whatever the umask, and removed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.js';
import { parseDbUrl } from '../../../src/core/db-url.js';
import { restoreTables } from '../../../src/core/restore/partial.js';

let db: TestDatabase;
let work: string;
let archive: string;
let savedUmask: number;

beforeAll(async () => {
  db = await createTestDatabase('bbpartial');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query("CREATE TABLE lotes (id int PRIMARY KEY, nota text); INSERT INTO lotes SELECT g, repeat('x', 200) FROM generate_series(1, 60000) g");
  await c.end();
  work = await mkdtemp(join(tmpdir(), 'bbpartial-'));
  archive = join(work, 'backup.dump');
  const r = spawnSync('pg_dump', ['-Fc', '--dbname', db.url, '--file', archive]);
  if (r.status !== 0) throw new Error(`pg_dump: ${r.stderr.toString()}`);
});
afterAll(async () => {
  await db?.drop();
  await rm(work, { recursive: true, force: true });
});
beforeEach(() => { savedUmask = process.umask(); });
afterEach(() => { process.umask(savedUmask); });

// (The test sandbox's process.env is a copy: TMPDIR cannot be redirected, so the system temp directory is
// watched for the directories that appear during the call.)
test.each([['022', 0o022], ['000', 0o000]])('umask %s: the temporary directory is 0700 and its files 0600 while they exist; nothing is left', async (_name, umask) => {
  const tmp = tmpdir();
  const before = new Set((await readdir(tmp)).filter((d) => d.startsWith('backup-bot-partial-')));
  process.umask(umask);
  const seen = new Map<string, number>();
  const dirs = new Set<string>();
  let done = false;
  const watch = (async () => {
    while (!done) {
      for (const d of await readdir(tmp).catch(() => [] as string[])) {
        if (!d.startsWith('backup-bot-partial-') || before.has(d)) continue;
        dirs.add(d);
        const p = join(tmp, d);
        const m = await lstat(p).then((s) => s.mode & 0o777).catch(() => undefined);
        if (m !== undefined) seen.set(d.replace(/-[^-]+$/, '-*'), m);
        for (const f of await readdir(p).catch(() => [] as string[])) {
          const fm = await lstat(join(p, f)).then((s) => s.mode & 0o777).catch(() => undefined);
          if (fm !== undefined) seen.set(f.replace(/\.[0-9a-f]{8}\.partial$/, ''), fm);
        }
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  try {
    const order = await restoreTables(archive, parseDbUrl(db.url, 'postgres'), ['lotes']);
    expect(order.map((t) => t.qualified)).toEqual(['"public"."lotes"']);
  } finally {
    done = true;
    await watch;
  }
  expect(Object.fromEntries(seen)).toEqual({ 'backup-bot-partial-*': 0o700, 'restore.list': 0o600, 'data.sql': 0o600 });
  expect(dirs.size).toBe(1);
  expect((await readdir(tmp)).filter((d) => dirs.has(d))).toEqual([]);
});
