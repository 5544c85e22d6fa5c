/**
 * Issue 18 item 1: every copy verified. After a backup every destination is read back, the primary first; a
 * secondary that fails is reported and recorded while the backup stays OK; `verify` and the monthly integrity
 * check read every destination (or one); `list` shows each destination's status. Real PostgreSQL, real local
 * directories and a real S3 server (s3rver); the faults are real bytes changed in the stored copies.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { runBackup } from '../../src/operations/backup.js';
import { verifyBackup } from '../../src/operations/verify-backup.js';
import { listStoredBackups, copyStatusText } from '../../src/operations/list-backups.js';
import { scheduledIntegrityCheck } from '../../src/operations/scheduled-jobs.js';
import { getBackup } from '../../src/store/backup-register.js';
import { renderBackupList } from '../../src/notify/slack/render/backup-list.js';
import { UserError } from '../../src/core/errors.js';

let state: TestDatabase;
let src: TestDatabase;
let s3: TestS3;
let primaryDir: string;
let nasDir: string;
let ctx: TestContext;

beforeAll(async () => {
  state = await createTestDatabase('bbcopstate');
  src = await createTestDatabase('bbcopsrc');
  await fillSampleDatabase(src.url);
  s3 = await startS3(['copies']);
  primaryDir = mkdtempSync(join(tmpdir(), 'copies-primary-'));
  nasDir = mkdtempSync(join(tmpdir(), 'copies-nas-'));
  ctx = await testContext(testConfig({
    stateUrl: state.url, demoUrl: src.url,
    raw: {
      storage: {
        local: { type: 'local', path: primaryDir },
        nas: { type: 'local', path: nasDir },
        r2: { type: 's3', bucket: 'copies', prefix: 'off', endpoint: s3.endpoint, region: 'auto', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      },
    },
    client: { storage: ['local', 'nas', 'r2'], verify: { minTables: 10, tables: [] } },
  }));
}, 60_000);
afterAll(async () => {
  await ctx.close();
  await s3.close();
  await src.drop();
  await state.drop();
  rmSync(primaryDir, { recursive: true, force: true });
  rmSync(nasDir, { recursive: true, force: true });
});

const flip = (path: string) => {
  const bytes = readFileSync(path);
  const mid = Math.floor(bytes.length / 2);
  bytes[mid] = bytes[mid]! ^ 0xff;
  writeFileSync(path, bytes);
};

describe('every copy verified', () => {
  test('after a backup every destination is read back, the primary first; list shows each one verified', async () => {
    const o = await runBackup(ctx, { client: 'demo', actor: 'alice', trigger: 'cli', notify: false });
    expect(o.ok).toBe(true);
    expect(o.locations.map((l) => [l.destination, l.ok, l.verified])).toEqual([['local', true, true], ['nas', true, true], ['r2', true, true]]);
    const row = await getBackup(ctx.pool, o.backup!.id);
    expect(row!.locations.map((l) => l.verified)).toEqual([true, true, true]);
    const [listed] = await listStoredBackups(ctx, 'demo');
    expect(listed!.copies.map(copyStatusText)).toEqual(['local verified', 'nas verified', 'r2 verified']);
  }, 60_000);

  test('a secondary copy that fails its read-back: the backup stays OK (primary verified), the copy is reported and recorded', async () => {
    const o = await runBackup(ctx, {
      client: 'demo', actor: 'alice', trigger: 'cli', notify: true,
      // Bit rot on the NAS between the write and the read-back.
      onProgress: (phase) => { if (phase === 'verifying') flipNewest(); },
    });
    expect(o.ok).toBe(true);
    expect(o.verified).toBe(true);
    const nas = o.locations.find((l) => l.destination === 'nas')!;
    expect(nas).toMatchObject({ ok: false, verified: false });
    expect(nas.verifyError).toMatch(/sha256: read .*, recorded/);
    expect(o.locations.find((l) => l.destination === 'r2')).toMatchObject({ ok: true, verified: true });
    const row = await getBackup(ctx.pool, o.backup!.id);
    expect(row).toMatchObject({ result: 'OK', verified: true });
    expect(row!.observations).toMatch(/secondary copy on nas FAILED verification \(the primary verified\): sha256/);
    // What the user sees: the result names the failed destination.
    expect(ctx.notifier.texts().at(-1)).toMatch(/nas FAILED/);
    const listed = (await listStoredBackups(ctx, 'demo')).find((b) => b.key === o.backup!.key)!;
    expect(listed.copies.map(copyStatusText)).toEqual(['local verified', 'nas FAILED', 'r2 verified']);
    expect(renderBackupList('demo', { backups: [listed], errors: [] }, 'UTC', 10).text).toContain('local verified, nas FAILED, r2 verified');
  }, 60_000);

  test('verify and the monthly integrity check read every destination; --destination reads one; an unknown one is refused', async () => {
    const [newest] = await listStoredBackups(ctx, 'demo');
    const older = (await listStoredBackups(ctx, 'demo'))[1]!;
    // All three copies of the older backup are good.
    const all = await verifyBackup(ctx, { client: 'demo', backupKey: older.key, actor: 'alice', trigger: 'cli', notify: false });
    expect(all.ok).toBe(true);
    expect(all.copies.map((c) => [c.destination, c.ok])).toEqual([['local', true], ['nas', true], ['r2', true]]);

    // The off-site S3 copy of the newest is overwritten with other bytes (stored in s3rver itself).
    await ctx.storage('r2').put(newest!.key, Readable.from([Buffer.from('not a backup')]), { contentType: 'application/gzip' });
    const outcomes = await scheduledIntegrityCheck(ctx, { cron: '0 6 * * 1#1' });
    expect(outcomes[0]).toMatchObject({ client: 'demo', status: 'failed' });
    expect(outcomes[0]!.error).toMatch(/copy on r2: verification failed: sha256/);
    expect(ctx.notifier.texts().join('\n')).toMatch(/Monthly integrity check/);
    const run = await ctx.store.runs.get(outcomes[0]!.runId!);
    const copies = (run!.details as { copies: Array<{ destination: string; ok: boolean }> }).copies;
    // Every destination that holds a copy is read, the one kept for inspection after failing at backup time too.
    expect(copies.map((c) => [c.destination, c.ok])).toEqual([['local', true], ['nas', false], ['r2', false]]);
    const row = await getBackup(ctx.pool, newest!.backupId!);
    expect(row!.verified).toBe(true); // Verificado follows the primary
    expect(row!.observations).toMatch(/local OK; nas FAILED: .*; r2 FAILED: verification failed: sha256/);
    const listed = (await listStoredBackups(ctx, 'demo')).find((b) => b.key === newest!.key)!;
    expect(listed.copies.map(copyStatusText)).toEqual(['local verified', 'nas FAILED', 'r2 FAILED']);

    const one = await verifyBackup(ctx, { client: 'demo', backupKey: older.key, destination: 'r2', actor: 'alice', trigger: 'cli', notify: false });
    expect(one.copies.map((c) => c.destination)).toEqual(['r2']);
    expect(one.ok).toBe(true);
    const err = await verifyBackup(ctx, { client: 'demo', destination: 'usb', actor: 'alice', trigger: 'cli' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe('unknown destination "usb" for client "demo" (its destinations: local, nas, r2)');
  }, 120_000);
});

function flipNewest(): void {
  // The newest dump in the NAS directory (the one just written).
  const dir = join(nasDir, 'demo');
  const files = readdirSync(dir).filter((f) => /^backup_.*\.sql\.gz$/.test(f)).sort();
  flip(join(dir, files.at(-1)!));
}
