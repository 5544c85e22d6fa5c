import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { prune } from '../../src/operations/prune.js';
import { ObjectLockedError, type Storage } from '../../src/core/storage/index.js';
import { insertBackup, listBackups, type BackupRow, type BackupType } from '../../src/store/backup-register.js';
import { listAudit } from '../../src/store/audit.js';
import { getRun, listRuns, startRun } from '../../src/store/runs.js';
import type { Context } from '../../src/context.js';
import { createTestDatabase, type TestDatabase, asSuperuser } from '../helpers/db.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { testConfig } from '../helpers/config.js';
import { seedApproval } from '../helpers/evidence.js';
import { FakeClock, testContext , type TestContext } from '../helpers/context.js';

const NOW = new Date('2026-03-01T04:30:00Z');
const DAY = 86_400_000;
const BUCKET = 'conitrack-backups';

let state: TestDatabase;
let s3: TestS3;
let dir: string;
let ctx: TestContext;
let clock: FakeClock;

beforeAll(async () => {
  state = await createTestDatabase('bbprune');
  s3 = await startS3([BUCKET]);
});
afterAll(async () => {
  await s3?.close();
  await state?.drop();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bb-prune-'));
  clock = new FakeClock(NOW);
  const config = testConfig({
    stateUrl: state.url,
    raw: {
      storage: {
        r2: {
          type: 's3', bucket: BUCKET, prefix: 'prod', endpoint: s3.endpoint, region: 'auto', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER',
          requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', partSizeMb: 5,
        },
        local: { type: 'local', path: dir },
      },
    },
    client: {
      storage: ['r2', 'local'],
      retention: { scheduled: { days: 30, keep: 2 }, manual: { days: 90 }, preChange: { days: 90 }, preRestore: { days: 365 } },
    },
  });
  ctx = await testContext(config, { clock });
  // A clean register for each test (the audit log is append-only; tests filter it by target).
  await asSuperuser(ctx.pool, 'UPDATE backup_register SET deleted_at = now() WHERE deleted_at IS NULL');
});
afterEach(async () => {
  await ctx?.close();
  await rm(dir, { recursive: true, force: true });
});

let seq = 0;
/** A stored backup: dump + one files archive + manifest in both destinations, and its register row. */
async function stored(daysAgo: number, o: { type?: BackupType; ok?: boolean; verified?: boolean; storedObjects?: boolean } = {}): Promise<BackupRow> {
  const taken = new Date(NOW.getTime() - daysAgo * DAY - (seq++) * 1000);
  const file = `backup_${taken.toISOString().slice(0, 19).replace('T', '_').replace(/:/g, '-')}.sql.gz`;
  const key = `demo/${file}`;
  const archive = `demo/${file.replace('.sql.gz', '')}_files_1-etc_nginx.tar.gz`;
  const manifest = { client: 'demo', key, file, files: [{ path: '/etc/nginx', key: archive, sha256: 'x', sizeBytes: 3 }] };
  if (o.storedObjects ?? true) {
    for (const name of ['r2', 'local']) {
      const s = ctx.storage(name);
      await s.put(key, Readable.from([Buffer.from(`dump ${file}`)]));
      await s.put(archive, Readable.from([Buffer.from('tar')]));
      await s.put(`${key}.manifest.json`, Readable.from([Buffer.from(JSON.stringify(manifest))]));
    }
  }
  const ok = o.ok ?? true;
  return insertBackup(ctx.pool, {
    client: 'demo', takenAt: taken, type: o.type ?? 'scheduled', file, key: ok ? key : null, format: 'plain', engine: 'postgres', sizeBytes: 10,
    verified: o.verified ?? ok, verifiedAt: ok ? taken : null, executedBy: 'schedule', result: ok ? 'OK' : 'Error', manifest: ok ? manifest : null,
    locations: [{ destination: 'r2', ok }, { destination: 'local', ok }],
  });
}

async function keysIn(name: string): Promise<string[]> {
  return (await ctx.storage(name).list('demo/')).map((o) => o.key).sort();
}

const objectsOf = (b: BackupRow) => [b.key!, `${b.key!}.manifest.json`, `demo/${b.file!.replace('.sql.gz', '')}_files_1-etc_nginx.tar.gz`].sort();

async function auditFor(b: BackupRow) {
  return (await listAudit(ctx.pool, { client: 'demo' })).filter((a) => a.target === (b.key ?? b.file));
}

describe('prune', () => {
  it('deletes expired backups (dump, manifest, files archive) from every destination, marks the register and audits each deletion', async () => {
    const newest = await stored(1);
    const second = await stored(8);
    const third = await stored(15); // beyond the newest 2 scheduled
    const old = await stored(40); // older than 30 days
    const manualOld = await stored(100, { type: 'manual' });
    const failedOld = await stored(45, { ok: false, storedObjects: false });

    const r = await prune(ctx, { client: 'demo', actor: 'U0OPER', trigger: 'slack' });

    expect(r.run.status).toBe('ok');
    expect(r.errors).toEqual([]);
    expect(r.deleted.map((b) => b.id).sort()).toEqual([third.id, old.id, manualOld.id, failedOld.id].sort());
    expect(r.kept.map((b) => b.id).sort()).toEqual([newest.id, second.id].sort());
    for (const name of ['r2', 'local']) expect(await keysIn(name)).toEqual([...objectsOf(newest), ...objectsOf(second)].sort());

    const live = await listBackups(ctx.pool, { client: 'demo' });
    expect(live.map((b) => b.id).sort()).toEqual([newest.id, second.id].sort());
    const all = await listBackups(ctx.pool, { client: 'demo', includeDeleted: true });
    expect(all.find((b) => b.id === old.id)!.deleted_at).toEqual(NOW);

    const a = await auditFor(old);
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ actor: 'U0OPER', action: 'backup.deleted', client: 'demo', target: old.key, reason: 'scheduled backup older than 30 days (40 days old)' });
    expect(a[0]!.details).toMatchObject({ backupId: old.id, deletedFrom: ['r2', 'local'], runId: r.run.id });
    expect((await auditFor(third))[0]!.reason).toBe('beyond the newest 2 scheduled backups (#3)');
    expect((await auditFor(manualOld))[0]!.reason).toBe('manual backup older than 90 days (100 days old)');
    expect((await auditFor(failedOld))[0]!.reason).toBe('failed scheduled backup older than 30 days (45 days old)');

    const run = (await getRun(ctx.pool, r.run.id))!;
    expect(run).toMatchObject({ kind: 'prune', client: 'demo', status: 'ok', actor: 'U0OPER', trigger: 'slack' });
    expect(run.details).toMatchObject({ dryRun: false, kept: 2, errors: 0 });
  });

  it('a dry run plans and changes nothing: no deletes, no register change, no audit', async () => {
    const keep1 = await stored(1);
    const keep2 = await stored(2);
    const old = await stored(50);
    const before = { r2: await keysIn('r2'), local: await keysIn('local') };
    const auditBefore = (await listAudit(ctx.pool)).length;

    const r = await prune(ctx, { client: 'demo', dryRun: true, actor: 'alice', trigger: 'cli' });

    expect(r.dryRun).toBe(true);
    expect(r.plan.delete.map((d) => d.row.id)).toEqual([old.id]);
    expect(r.plan.delete[0]!.reason).toBe('scheduled backup older than 30 days (50 days old)');
    expect(r.deleted.map((b) => b.id)).toEqual([old.id]);
    expect(r.kept.map((b) => b.id)).toEqual([keep1.id, keep2.id]);
    expect({ r2: await keysIn('r2'), local: await keysIn('local') }).toEqual(before);
    expect((await listBackups(ctx.pool, { client: 'demo' })).map((b) => b.id)).toContain(old.id);
    expect((await listAudit(ctx.pool)).length).toBe(auditBefore);
    expect(r.run.status).toBe('ok');
    expect(r.run.details).toMatchObject({ dryRun: true });
  });

  it('Object Lock: a locked copy keeps the backup (expected, not a failure), recorded and audited as blocked', async () => {
    const keep1 = await stored(1);
    const keep2 = await stored(2);
    const locked = await stored(60);
    const old = await stored(70);
    // A Storage wrapper for the one error s3rver cannot produce: S3 Object Lock refusing the delete.
    const original = ctx.storage.bind(ctx);
    ctx.storage = (name: string): Storage => {
      const s = original(name);
      if (name !== 'r2') return s;
      return Object.assign(Object.create(s) as Storage, {
        delete: async (key: string) => {
          if (key === locked.key) throw new ObjectLockedError('r2', key, `storage "r2" (s3://${BUCKET}/prod): ${key} is under Object Lock (COMPLIANCE until 2026-09-01T00:00:00.000Z)`);
          return s.delete(key);
        },
      });
    };

    const r = await prune(ctx, { client: 'demo', actor: 'schedule', trigger: 'schedule' });

    expect(r.run.status).toBe('ok');
    expect(r.errors).toEqual([]);
    expect(r.deleted.map((b) => b.id)).toEqual([old.id]);
    expect(r.locked).toHaveLength(1);
    expect(r.locked[0]).toMatchObject({ destinations: ['r2'], deletedFrom: ['local'] });
    expect(r.locked[0]!.row.id).toBe(locked.id);
    expect(r.kept.map((b) => b.id).sort()).toEqual([keep1.id, keep2.id, locked.id].sort());
    expect(await ctx.storage('r2').stat(locked.key!)).toBeDefined();
    expect((await listBackups(ctx.pool, { client: 'demo' })).map((b) => b.id)).toContain(locked.id);
    const a = await auditFor(locked);
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ action: 'backup.delete-blocked', reason: 'scheduled backup older than 30 days (60 days old)' });
    expect(a[0]!.details).toMatchObject({ deletedFrom: ['local'], lockedOn: [{ destination: 'r2' }] });
  });

  it('another storage error fails the run, names the destination, and the other backups are still pruned', async () => {
    await stored(1);
    await stored(2);
    const broken = await stored(60);
    const old = await stored(70);
    s3.setFault(({ method, path }) => (method === 'DELETE' && path.endsWith(broken.key!) ? { status: 500, code: 'InternalError', message: 'We encountered an internal error.' } : undefined));
    try {
      const r = await prune(ctx, { client: 'demo', actor: 'schedule', trigger: 'schedule' });
      expect(r.run.status).toBe('failed');
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]).toMatchObject({ destination: 'r2' });
      expect(r.errors[0]!.message).toMatch(/^storage "r2" \(s3:\/\/conitrack-backups\/prod\): deleting demo\/backup_.* failed: InternalError/);
      expect(r.run.error).toContain('1 error(s): storage "r2"');
      expect(r.deleted.map((b) => b.id)).toEqual([old.id]);
      expect((await listBackups(ctx.pool, { client: 'demo' })).map((b) => b.id)).toContain(broken.id);
      expect((await auditFor(broken))[0]).toMatchObject({ action: 'backup.delete-failed' });
      expect((await auditFor(old))[0]).toMatchObject({ action: 'backup.deleted' });
    } finally {
      s3.setFault(undefined);
    }
  });

  it('never deletes a backup an approvals row refers to', async () => {
    await stored(1);
    await stored(2);
    const restored = await stored(400, { type: 'pre-restore' });
    await seedApproval(ctx.pool, { client: 'demo', backupId: restored.id, backupKey: restored.key!, expiresAt: new Date(), status: 'completed' });
    const r = await prune(ctx, { client: 'demo', actor: 'schedule', trigger: 'schedule' });
    expect(r.deleted).toEqual([]);
    expect(r.plan.keep.find((k) => k.row.id === restored.id)!.reason).toMatch(/referenced by a production restore record/);
    expect(await ctx.storage('local').stat(restored.key!)).toBeDefined();
  });

  it('cleans stale .partial files and open multipart uploads under the client, but not while a backup of it runs', async () => {
    await mkdir(join(dir, 'demo'), { recursive: true });
    const partial = join(dir, 'demo/backup_2026-02-28_03-00-00.sql.gz.abcd1234.partial');
    await writeFile(partial, 'half');
    const old = new Date(Date.now() - 3600_000);
    await utimes(partial, old, old);
    const raw = new S3Client({ endpoint: s3.endpoint, region: 'auto', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    await raw.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'prod/demo/backup_2026-02-28_03-00-00.sql.gz' }));
    const uploadsDir = join(s3.directory, BUCKET, '._S3rver_uploads');
    for (const id of await readdir(uploadsDir)) await utimes(join(uploadsDir, id, 'key'), old, old);
    const openUploads = async () => (await raw.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'prod/demo/' }))).Uploads ?? [];

    const running = await startRun(ctx.pool, { kind: 'backup', client: 'demo', actor: 'schedule', trigger: 'schedule' });
    const skipped = await prune(ctx, { client: 'demo', actor: 'schedule', trigger: 'schedule' });
    expect(skipped.partialsRemoved).toBe(0);
    expect(existsSync(partial)).toBe(true);
    expect(await openUploads()).toHaveLength(1);
    expect((await getRun(ctx.pool, skipped.run.id))!.timeline.map((t) => t.step)).toContain('cleanup-skipped');
    await ctx.pool.query(`UPDATE runs SET status = 'ok', finished_at = now() WHERE id = $1`, [running.id]);

    const r = await prune(ctx, { client: 'demo', actor: 'schedule', trigger: 'schedule' });
    expect(r.partialsRemoved).toBe(2);
    expect(existsSync(partial)).toBe(false);
    expect(await openUploads()).toHaveLength(0);
    expect(r.run.status).toBe('ok');
  });

  it('an unknown client is refused and nothing is recorded', async () => {
    const before = (await listRuns(ctx.pool, { kind: 'prune', limit: 1000 })).length;
    await expect(prune(ctx, { client: 'nope', actor: 'x', trigger: 'cli' })).rejects.toThrow(/unknown client "nope" \(configured clients: demo\)/);
    expect((await listRuns(ctx.pool, { kind: 'prune', limit: 1000 })).length).toBe(before);
  });

  it('a damaged manifest never makes prune delete outside the client folder', async () => {
    await stored(1);
    await stored(2);
    const bad = await stored(80);
    await asSuperuser(ctx.pool, `UPDATE backup_register SET manifest = jsonb_set(manifest, '{files}', '[{"key":"other/secret.tar.gz"}]') WHERE id = $1`, [bad.id]);
    await ctx.storage('local').put('other/secret.tar.gz', Readable.from([Buffer.from('x')]));
    const r = await prune(ctx, { client: 'demo', actor: 'schedule', trigger: 'schedule' });
    expect(r.run.status).toBe('failed');
    expect(r.errors[0]!.message).toMatch(/refusing to delete other\/secret\.tar\.gz \(outside "demo\/"\)/);
    expect(await ctx.storage('local').stat('other/secret.tar.gz')).toBeDefined();
    expect(await ctx.storage('local').stat(bad.key!)).toBeDefined();
  });
});

