/**
 * Issue 18 items 1 + 5: the globals file (database.globals) is read back with every copy after the backup, and
 * `verify` checks it in every destination: a damaged secondary copy of it is named. Real PostgreSQL, two local
 * destinations.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext } from '../helpers/context.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { runBackup } from '../../src/operations/backup.js';
import { verifyBackup } from '../../src/operations/verify-backup.js';

let state: TestDatabase;
let src: TestDatabase;
let primaryDir: string;
let nasDir: string;

beforeAll(async () => {
  state = await createTestDatabase('bbgcstate');
  src = await createTestDatabase('bbgcsrc');
  await fillSampleDatabase(src.url);
  primaryDir = mkdtempSync(join(tmpdir(), 'gc-primary-'));
  nasDir = mkdtempSync(join(tmpdir(), 'gc-nas-'));
}, 60_000);
afterAll(async () => {
  await src.drop();
  await state.drop();
  rmSync(primaryDir, { recursive: true, force: true });
  rmSync(nasDir, { recursive: true, force: true });
});

test('globals read back on every copy at backup time; verify checks each copy and names a damaged one', async () => {
  const ctx = await testContext(testConfig({
    stateUrl: state.url, demoUrl: src.url,
    raw: { storage: { local: { type: 'local', path: primaryDir }, nas: { type: 'local', path: nasDir } } },
    client: { database: { engine: 'postgres', url: src.url, globals: true }, storage: ['local', 'nas'], verify: { minTables: 10, tables: [] } },
  }));
  try {
    const o = await runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false });
    expect(o.error).toBeUndefined();
    expect(o.ok).toBe(true);
    const g = (o.backup!.manifest as { globals: { key: string } }).globals;
    for (const dir of [primaryDir, nasDir]) expect(existsSync(join(dir, g.key))).toBe(true);
    expect(o.locations.map((l) => [l.destination, l.verified])).toEqual([['local', true], ['nas', true]]);

    const v = await verifyBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false });
    expect(v.ok).toBe(true);
    expect(v.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['local: globals sha256', 'nas: globals sha256', 'nas: globals trailer']));

    const nasGlobals = join(nasDir, g.key);
    const bytes = readFileSync(nasGlobals);
    writeFileSync(nasGlobals, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const bad = await verifyBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false });
    expect(bad.ok).toBe(false);
    expect(bad.copies.map((c) => [c.destination, c.ok])).toEqual([['local', true], ['nas', false]]);
    expect(bad.error).toMatch(/^copy on nas: verification failed: globals sha256: read .*, recorded/);
    expect(bad.backup.verified).toBe(true); // the primary is intact
  } finally {
    await ctx.close();
  }
}, 120_000);
