import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext } from '../helpers/context.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { runBackup } from '../../src/operations/backup.js';
import { verifyBackup } from '../../src/operations/verify-backup.js';
import { listStoredBackups } from '../../src/operations/list-backups.js';
import { getBackup } from '../../src/store/backup-register.js';
import { listAudit } from '../../src/store/audit.js';
import { UserError } from '../../src/core/errors.js';

let state: TestDatabase;
let src: TestDatabase;
let dir: string;
let ctx: Awaited<ReturnType<typeof testContext>>;

beforeAll(async () => {
  state = await createTestDatabase('bbvstate');
  src = await createTestDatabase('bbvsrc');
  await fillSampleDatabase(src.url);
  dir = mkdtempSync(join(tmpdir(), 'vb-'));
  ctx = await testContext(testConfig({ stateUrl: state.url, demoUrl: src.url, storageDir: dir, client: { verify: { minTables: 10, tables: [] }, files: [] } }));
});
afterAll(async () => {
  await ctx.close();
  await src.drop();
  await state.drop();
});

describe('verifyBackup / listStoredBackups', () => {
  test('no backups yet: a UserError saying how to make one', async () => {
    await expect(verifyBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli' })).rejects.toThrow(/has no stored backup to verify \(run `backup-bot backup demo` first\)/);
    expect(await listStoredBackups(ctx, 'demo')).toEqual([]);
  });

  test('verifies the newest stored backup (or the one given), records a verify run, register and audit; a corrupted copy fails', async () => {
    const a = await runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false });
    await new Promise((r) => setTimeout(r, 1100));
    const b = await runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false, type: 'pre-change' });
    expect(a.ok && b.ok).toBe(true);

    const listed = await listStoredBackups(ctx, 'demo');
    expect(listed.map((x) => x.file)).toEqual([b.backup!.file, a.backup!.file]);
    expect(listed[0]).toMatchObject({ type: 'pre-change', verified: true, tables: 16, locations: ['local'], registered: true, missing: false, sizeBytes: Number(b.backup!.size_bytes) });

    const v = await verifyBackup(ctx, { client: 'demo', actor: 'U0QA', actorName: 'Quality', trigger: 'slack' });
    expect(v.ok).toBe(true);
    expect(v.backup.id).toBe(b.backup!.id);
    expect(v.run).toMatchObject({ kind: 'verify', status: 'ok', client: 'demo' });
    expect(v.checks.map((c) => [c.name, c.ok])).toEqual([['sha256', true], ['decompress', true], ['tables', true], ['trailer', true]]);
    expect(v.backup.observations).toMatch(/verify .*: local OK/);
    expect(ctx.notifier.texts().at(-1)).toContain(`Verification of demo backup ${b.backup!.file}: OK`);

    // corrupt the older one on disk, then verify it by key
    const path = join(dir, a.backup!.key!);
    const bytes = readFileSync(path);
    const mid = Math.floor(bytes.length / 2);
    bytes[mid] = bytes[mid]! ^ 0xff;
    writeFileSync(path, bytes);
    const bad = await verifyBackup(ctx, { client: 'demo', backupKey: a.backup!.key!, actor: 'alice', trigger: 'cli', notify: false });
    expect(bad.ok).toBe(false);
    expect(bad.run.status).toBe('failed');
    expect(bad.error).toMatch(/verification failed: sha256: read .*, recorded/);
    const row = await getBackup(ctx.pool, a.backup!.id);
    expect(row).toMatchObject({ verified: false });
    expect(row!.observations).toMatch(/verify .*: local FAILED: verification failed: sha256/);
    // by file name works too
    const again = await verifyBackup(ctx, { client: 'demo', backupKey: b.backup!.file!, actor: 'alice', trigger: 'cli', notify: false });
    expect(again.ok).toBe(true);
    const actions = (await listAudit(ctx.pool, { client: 'demo' })).map((x) => x.action).filter((x) => x.startsWith('backup.verif'));
    expect(actions).toEqual(['backup.verify.started', 'backup.verified', 'backup.verify.started', 'backup.verify.failed', 'backup.verify.started', 'backup.verified']);
  });

  test('an unknown key is a UserError listing the newest keys', async () => {
    const err = await verifyBackup(ctx, { client: 'demo', backupKey: 'demo/backup_1999-01-01_00-00-00.sql.gz', actor: 'alice', trigger: 'cli' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/no stored backup "demo\/backup_1999-01-01_00-00-00.sql.gz" for client "demo" \(newest: demo\/backup_.*\.sql\.gz, demo\/backup_.*\.sql\.gz\)/);
  });

  test('a registered backup whose object disappeared is listed as missing', async () => {
    const [newest] = await listStoredBackups(ctx, 'demo');
    await ctx.storage('local').delete(newest!.key);
    const after = await listStoredBackups(ctx, 'demo');
    expect(after.find((x) => x.key === newest!.key)).toMatchObject({ missing: true, locations: [] });
  });
});
