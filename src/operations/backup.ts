import { Readable } from 'node:stream';
import type { Context } from '../context.js';
import type { ClientConfig } from '../config/schema.js';
import { UserError, errorMessage } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { failureHint } from '../core/failure-hint.js';
import { backupKey, filesArchiveName, manifestKey, uniqueBackupBase, dumpExtension } from '../core/naming.js';
import { dumpDatabase, type DatabaseDumpResult } from '../core/dump/database.js';
import { streamToDestinations, storageFailure, type Destination } from '../core/dump/pipeline.js';
import { spawnTar, tarExitAcceptable } from '../core/dump/files.js';
import { withMaintenance } from '../core/dump/maintenance.js';
import { verifyArchiveFile, verifyBackupFile, type Check } from '../core/verify/backup-file.js';
import { startRun, runStep, finishRun, setRunMessage, getRun, runningRuns, type Run, type RunTrigger } from '../store/runs.js';
import { insertBackup, findBackupByKey, BACKUP_TYPES, type BackupLocation, type BackupRow, type BackupType } from '../store/backup-register.js';
import { audit } from '../store/audit.js';
import { withLock } from '../store/locks.js';
import { clientChannel, type MessageRef, type OutMessage } from '../slack/notifier.js';
import { renderBackupProgress, renderBackupResult, type BackupProgressDetails } from '../slack/render/backup.js';

export type BackupPhase = 'started' | 'dumping' | 'uploading' | 'verifying' | 'done' | 'failed';

export interface RunBackupInput {
  client: string;
  type?: BackupType;
  /** Slack user id, 'schedule', or OS user. */
  actor: string;
  actorName?: string;
  trigger: RunTrigger;
  /** true: wait for a running backup of this client; false (default): throw BackupBusyError. */
  wait?: boolean;
  /** default true: post + live-update one message in the client's channel. */
  notify?: boolean;
  onProgress?: (phase: BackupPhase, run: Run) => void;
}

export interface BackupOutcome {
  ok: boolean;
  verified: boolean;
  run: Run;
  backup?: BackupRow;
  error?: string;
  /** First thing to check (runbook §5 causes). */
  hint?: string;
  durationMs: number;
  locations: BackupLocation[];
  message?: MessageRef;
}

export class BackupBusyError extends UserError {
  constructor(readonly running: Run) {
    super(`a backup of "${running.client ?? '?'}" is already running (run ${running.id}, started ${running.started_at instanceof Date ? running.started_at.toISOString() : String(running.started_at)} by ${running.actor}, now ${running.step ?? 'starting'}): wait for it to finish, or ask to wait (--wait)`);
    this.name = 'BackupBusyError';
  }
}

/** The manifest stored beside each backup as `<key>.manifest.json` and in backup_register.manifest. */
export interface BackupManifest {
  client: string;
  engine: 'postgres' | 'mysql';
  format: 'plain' | 'custom';
  type: BackupType;
  file: string;
  key: string;
  sha256: string;
  sizeBytes: number;
  tables: number | null;
  serverVersion: string;
  dumpToolVersion: string;
  startedAt: string;
  finishedAt: string;
  rowCounts: Record<string, number>;
  /** How rowCounts were taken: 'snapshot' (same snapshot as the dump) or 'before-dump'. */
  rowCountsMode: 'snapshot' | 'before-dump';
  files: Array<{ path: string; key: string; sha256: string; sizeBytes: number }>;
  gzipLevel: number;
  destinations: string[];
}

/** Internal: a failure with the part that failed. */
class BackupFailure extends Error {}

/** Seconds a secondary destination may stall before it is dropped (tests lower it). */
export const backupTuning = { secondaryStallMs: 120_000 };

/**
 * Takes a backup of one client (SOP-001 sections 6, 7, 8.1, 11): lock → maintenance on → dump streamed
 * through gzip + sha256 into every destination → files archives → maintenance off (always) → read the
 * primary copy back (verify) → manifest beside the backup → register row (failures too) → audit.
 * Every front door (CLI, Slack, schedule) calls this.
 */
export async function runBackup(ctx: Context, input: RunBackupInput): Promise<BackupOutcome> {
  const cfg = ctx.client(input.client);
  const type = input.type ?? 'manual';
  if (!BACKUP_TYPES.includes(type)) throw new UserError(`unknown backup type "${String(type).slice(0, 40)}" (accepted: ${BACKUP_TYPES.join(', ')})`);
  const res = await withLock(ctx.pool, 'backup', input.client, () => execute(ctx, input, cfg, type), { wait: input.wait ?? false });
  if (res.acquired) return res.value;
  throw new BackupBusyError(await findRunning(ctx, input.client));
}

async function findRunning(ctx: Context, client: string): Promise<Run> {
  for (let i = 0; i < 20; i++) {
    const [r] = await runningRuns(ctx.pool, { client, kind: 'backup' });
    if (r) return r;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  // The holder has the lock but no run row yet (it is just starting).
  const now = ctx.clock.now();
  return { id: '?', kind: 'backup', client, status: 'running', trigger: 'system', actor: '?', step: 'starting', timeline: [], error: null, details: {}, started_at: now, finished_at: null, host: null, pid: null, instance: null, slack_channel: null, slack_ts: null };
}

async function execute(ctx: Context, input: RunBackupInput, cfg: ClientConfig, type: BackupType): Promise<BackupOutcome> {
  const t0 = Date.now();
  const startedAt = ctx.clock.now();
  const client = input.client;
  const executedBy = input.actorName ?? input.actor;
  const notify = input.notify ?? true;
  let run = await startRun(ctx.pool, { kind: 'backup', client, actor: input.actor, trigger: input.trigger, details: { type }, instance: ctx.instance, startedAt });
  const channel = clientChannel(ctx.config, client);
  const progress: BackupProgressDetails = { client, type, actorName: input.actorName, destinations: cfg.storage };
  let ref: MessageRef | undefined;
  let postTried = false;

  const safe = async (what: string, fn: () => Promise<unknown>) => {
    try { await fn(); } catch (err) { ctx.logger.warn({ err: errorMessage(err), client, run: run.id }, `backup: ${what} failed`); }
  };
  const show = async (msg: OutMessage, final = false) => {
    if (!notify) return;
    if (!ref) {
      if (postTried && !final) return; // posting failed once (after the notifier's retries): only the result is tried again
      postTried = true;
      await safe('posting the progress message', async () => {
        ref = await ctx.notifier.post(channel, msg);
        if (ref) await setRunMessage(ctx.pool, run.id, ref.channel, ref.ts);
      });
    } else {
      const r = ref;
      await safe('updating the progress message', () => ctx.notifier.update(r, msg));
    }
  };
  const phase = async (p: BackupPhase, note?: string) => {
    if (p !== 'started') await runStep(ctx.pool, run.id, p, note, ctx.clock.now());
    run = (await getRun(ctx.pool, run.id)) ?? run;
    if (p !== 'done' && p !== 'failed') await show(renderBackupProgress(run, p, progress));
    if (input.onProgress) { try { input.onProgress(p, run); } catch { /* a listener never breaks a backup */ } }
  };

  await audit(ctx.pool, { actor: input.actor, action: 'backup.started', client, target: null, details: { run: run.id, type, trigger: input.trigger, actorName: input.actorName ?? null } });
  await phase('started');

  const warnings: string[] = [];
  const locations = new Map<string, BackupLocation>();
  let file: string | undefined;
  let key: string | undefined;
  let stored = false;
  let dump: DatabaseDumpResult | undefined;
  let verifyChecks: Check[] = [];
  let verified = false;
  let tables: number | null = null;
  let manifest: BackupManifest | undefined;
  const archives: Array<{ path: string; key: string; sha256: string; sizeBytes: number }> = [];
  let error: string | undefined;
  let verifyStarted = false;
  let destinationsUsed: Destination[] = [];

  try {
    const destinations: Destination[] = cfg.storage.map((name, i) => {
      try {
        return { name, storage: ctx.storage(name), primary: i === 0 };
      } catch (err) {
        throw new BackupFailure(`storage "${name}": ${errorMessage(err)}`);
      }
    });
    destinationsUsed = destinations;
    const primary = destinations[0]!;
    const format = cfg.database.engine === 'postgres' ? cfg.database.format : 'plain';
    const base = await uniqueBackupBase(startedAt, { timeZone: ctx.config.timezone, format }, async (f) => {
      const k = backupKey(client, f);
      if (await findBackupByKey(ctx.pool, client, k)) return true;
      if (await findBackupByKey(ctx.pool, client, f)) return true;
      return (await primary.storage.stat(k).catch(() => undefined)) !== undefined;
    });
    file = base + dumpExtension(format);
    key = backupKey(client, file);
    progress.file = file;
    for (const d of destinations) locations.set(d.name, { destination: d.name, ok: false, key });

    const k = key;
    await withMaintenance(cfg.maintenance, async () => {
      await phase('dumping');
      dump = await dumpDatabase(cfg.database, { key: k, destinations, gzipLevel: cfg.gzipLevel, verifyTables: cfg.verify.tables, secondaryStallMs: backupTuning.secondaryStallMs });
      for (const d of dump.destinations) locations.set(d.destination, { destination: d.destination, ok: d.ok, key: k, ...(d.error ? { error: d.error } : {}) });
      if (!dump.ok) throw new BackupFailure(dump.error ?? 'the dump failed');
      stored = true;
      warnings.push(...dump.warnings);
      if (dump.missingTables.length) warnings.push(`verify.tables not found in the database (not counted): ${dump.missingTables.join(', ')}`);
      await phase('uploading');
      // Files archives go to the destinations that have the dump.
      for (const [i, path] of cfg.files.entries()) {
        const live = destinations.filter((d) => locations.get(d.name)?.ok);
        const akey = backupKey(client, filesArchiveName(base, i + 1, path));
        const r = await streamToDestinations({ source: spawnTar(path), key: akey, destinations: live, gzipLevel: cfg.gzipLevel, exitAcceptable: (e) => tarExitAcceptable(e.code, e.signal), secondaryStallMs: backupTuning.secondaryStallMs, contentType: 'application/gzip' });
        for (const d of r.destinations) {
          if (!d.ok) locations.set(d.destination, { destination: d.destination, ok: false, key: k, error: d.error ?? 'files archive failed' });
        }
        if (!r.ok) throw new BackupFailure(`files archive of ${path}: ${r.error ?? 'failed'}`);
        warnings.push(...r.warnings.map((w) => `files archive of ${path}: ${w}`));
        archives.push({ path, key: akey, sha256: r.sha256, sizeBytes: r.sizeBytes });
      }
    }, ({ on, off }) => {
      if (off && !off.ok) warnings.push(`maintenance off FAILED (the application may still be in maintenance mode): ${off.detail}`);
      void on;
    });

    // A secondary that failed part of the backup keeps none of it.
    for (const d of destinations) {
      if (!d.primary && !locations.get(d.name)?.ok) await removeObjects(d, [k, ...archives.map((a) => a.key)]);
    }

    verifyStarted = true;
    await phase('verifying');
    const v = await verifyBackupFile(primary.storage, k, { engine: cfg.database.engine, format, expectedSha256: dump!.sha256, minTables: cfg.verify.minTables });
    verifyChecks = v.checks;
    tables = v.tables ?? dump!.tables ?? null;
    let ok = v.ok;
    if (format === 'plain' && dump!.tables !== undefined && v.tables !== undefined && v.tables !== dump!.tables) {
      verifyChecks.push({ name: 'tables-match', ok: false, detail: `read back ${v.tables} CREATE TABLE, streamed ${dump!.tables}` });
      ok = false;
    }
    for (const a of archives) {
      const av = await verifyArchiveFile(primary.storage, a.key, a.sha256);
      for (const c of av.checks) verifyChecks.push({ name: `files ${a.path} ${c.name}`, ok: c.ok, detail: c.detail });
      ok &&= av.ok;
    }
    verified = ok;

    manifest = {
      client, engine: cfg.database.engine, format, type, file, key: k, sha256: dump!.sha256, sizeBytes: dump!.sizeBytes, tables,
      serverVersion: dump!.serverVersion, dumpToolVersion: dump!.dumpToolVersion, startedAt: startedAt.toISOString(), finishedAt: ctx.clock.now().toISOString(),
      rowCounts: dump!.rowCounts, rowCountsMode: cfg.database.engine === 'postgres' ? 'snapshot' : 'before-dump',
      files: archives, gzipLevel: cfg.gzipLevel, destinations: destinations.filter((d) => locations.get(d.name)?.ok).map((d) => d.name),
    };
    const body = JSON.stringify(manifest, null, 2);
    for (const d of destinations.filter((x) => locations.get(x.name)?.ok)) {
      try {
        await d.storage.put(manifestKey(k), Readable.from([Buffer.from(body)]), { contentType: 'application/json' });
      } catch (err) {
        const msg = `manifest not written: ${storageFailure(d, err)}`;
        if (d.primary) warnings.push(msg);
        else locations.set(d.name, { destination: d.name, ok: false, key: k, error: msg });
      }
    }
    if (!verified) {
      const failed = verifyChecks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ');
      throw new BackupFailure(`verification of the primary copy failed: ${failed}`);
    }
  } catch (err) {
    error = redactSecrets(errorMessage(err));
    if (stored && !verifyStarted && key) {
      // all or nothing: a backup whose files archive (or maintenance) failed keeps no object under a final name
      for (const d of destinationsUsed) await removeObjects(d, [key, ...archives.map((a) => a.key)]);
      for (const l of locations.values()) if (l.ok) Object.assign(l, { ok: false, error: 'removed: the backup failed' });
      stored = false;
    }
  }

  // ---- record -------------------------------------------------------------------------------------
  const locs = [...locations.values()];
  const ok = !error && verified;
  const observations = [
    ...(error ? [error] : []),
    ...locs.filter((l) => !l.ok && l.error && (!error || !error.includes(l.error))).map((l) => `destination ${l.destination} failed: ${l.error}`),
    ...warnings,
  ].map((s) => redactSecrets(s)).join('; ').slice(0, 4000);
  const backup = await insertBackup(ctx.pool, {
    runId: run.id, client, takenAt: startedAt, type, file: file ?? null, key: stored ? key ?? null : null,
    format: cfg.database.engine === 'postgres' ? cfg.database.format : 'plain', engine: cfg.database.engine,
    sizeBytes: stored ? dump?.sizeBytes ?? null : null, verified, verifiedAt: verified ? ctx.clock.now() : null, executedBy,
    result: ok ? 'OK' : 'Error', observations, sha256: stored ? dump?.sha256 ?? null : null, tablesCounted: stored ? tables ?? dump?.tables ?? null : null,
    locations: locs, manifest: (manifest as unknown as Record<string, unknown>) ?? null,
  });
  const hint = error ? failureHint(error) ?? 'Read the error above; `backup-bot list` and the run timeline show what happened before it.' : warnings.some((w) => w.startsWith('maintenance off FAILED')) ? 'Take the application out of maintenance mode by hand (maintenance.off failed).' : undefined;
  const durationMs = Date.now() - t0;
  const runDetails = { type, file, key: stored ? key : null, sizeBytes: dump?.sizeBytes ?? null, sha256: dump?.sha256 ?? null, tables, verified, checks: verifyChecks, locations: locs, warnings, backupId: backup.id, durationMs, hint: hint ?? null };
  await runStep(ctx.pool, run.id, ok ? 'done' : 'failed', error, ctx.clock.now());
  run = (await finishRun(ctx.pool, run.id, { status: ok ? 'ok' : 'failed', error: error ?? null, details: runDetails, at: ctx.clock.now() })) ?? run;
  await audit(ctx.pool, {
    actor: input.actor, action: ok ? 'backup.completed' : 'backup.failed', client, target: stored ? key ?? null : file ?? null,
    details: { run: run.id, backup: backup.id, type, sha256: dump?.sha256 ?? null, sizeBytes: dump?.sizeBytes ?? null, verified, locations: locs, ...(error ? { error } : {}) },
  });
  const outcome: BackupOutcome = { ok, verified, run, backup, error, hint, durationMs, locations: locs, message: ref };
  await show(renderBackupResult(outcome, ctx.config), true);
  outcome.message = ref;
  if (input.onProgress) { try { input.onProgress(ok ? 'done' : 'failed', run); } catch { /* ignore */ } }
  if (ok) ctx.logger.info({ client, file, sizeBytes: dump?.sizeBytes, run: run.id }, 'backup done');
  else ctx.logger.error({ client, file, error, run: run.id }, 'backup failed');
  return outcome;
}

async function removeObjects(d: Destination, keys: string[]): Promise<void> {
  for (const k of keys) {
    await d.storage.delete(k).catch(() => {});
    await d.storage.delete(manifestKey(k)).catch(() => {});
  }
}
