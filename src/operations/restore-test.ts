import type Docker from 'dockerode';
import type { Context } from '../context.js';
import type { ClientConfig } from '../config/schema.js';
import { parseDuration } from '../config/duration.js';
import { OperationError, UserError, errorMessage } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { formatDate } from '../core/time.js';
import { describeDockerHost, dockerFromConfig, pingDocker } from '../core/staging/docker.js';
import { ensureImage, majorOf } from '../core/staging/image.js';
import { abortable, containerLogTail, createStaging, describeContainerState, destroyStaging, waitReady, type Staging } from '../core/staging/container.js';
import { restoreIntoStaging, verifyDownload } from '../core/staging/restore.js';
import { stateIdOf } from '../core/staging/labels.js';
import { verifyStaging, type VerifyCheck, type VerifyResult } from '../core/verify/staging.js';
import { withLock } from '../store/locks.js';
import { finishRun, runStep, runningRuns, setRunMessage, startRun, type Run, type RunTrigger } from '../store/runs.js';
import { findBackupByKey, latestVerifiedBackup, listBackups, type BackupRow } from '../store/backup-register.js';
import { insertRestoreTest, type RestoreTestRow } from '../store/restore-test-register.js';
import { audit } from '../store/audit.js';
import { clientChannel, type MessageRef } from '../slack/notifier.js';
import { renderRestoreTest, renderRestoreTestAlert, type RestoreTestView } from '../slack/render/restore-test.js';

export type RestoreTestStep = 'provisioning' | 'downloading' | 'restoring' | 'verifying' | 'destroying' | 'done' | 'failed';

export interface RestoreTestInput {
  client: string;
  backupKey?: string;
  actor: string;
  actorName?: string;
  trigger: RunTrigger;
  /** Default true: one message in the client's channel, updated per step. */
  notify?: boolean;
  onProgress?: (step: RestoreTestStep, run: Run) => void;
}

export interface RestoreTestTimings { provisionMs?: number; downloadMs?: number; restoreMs?: number; verifyMs?: number; destroyMs?: number; totalMs: number }

export interface RestoreTestOutcome {
  ok: boolean;
  run: Run;
  register?: RestoreTestRow;
  error?: string;
  failedStep?: RestoreTestStep;
  checks: VerifyCheck[];
  /** Download + restore (the SOP's "Tiempo Restore"). */
  restoreMs?: number;
  timings: RestoreTestTimings;
  backup: { id: string; key: string; file: string };
  message?: MessageRef;
}

/** A restore test of this client is already running (the second one is refused). */
export class RestoreTestBusyError extends UserError {
  constructor(client: string, readonly running?: Run) {
    super(`a restore test of ${client} is already running${running ? ` (run ${running.id}, started by ${running.actor}, step ${running.step ?? '?'})` : ''}; wait for it to finish`);
    this.name = 'RestoreTestBusyError';
  }
}

/** The backup manifest (contract in the team brief); every field may be missing on old rows. */
interface Manifest {
  engine?: 'postgres' | 'mysql';
  format?: 'plain' | 'custom';
  file?: string;
  key?: string;
  sha256?: string;
  sizeBytes?: number;
  tables?: number;
  serverVersion?: string;
  rowCounts?: Record<string, number>;
}

function manifestOf(b: BackupRow): Manifest {
  const m = (b.manifest ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
  const rc = m.rowCounts && typeof m.rowCounts === 'object' ? Object.fromEntries(Object.entries(m.rowCounts as Record<string, unknown>).map(([k, v]) => [k, Number(v)]).filter(([, v]) => Number.isFinite(v))) : undefined;
  return {
    engine: (str(m.engine) ?? b.engine ?? undefined) as Manifest['engine'],
    format: (str(m.format) ?? b.format ?? undefined) as Manifest['format'],
    file: str(m.file) ?? b.file ?? undefined,
    key: str(m.key) ?? b.key ?? undefined,
    sha256: str(m.sha256) ?? b.sha256 ?? undefined,
    sizeBytes: num(m.sizeBytes) ?? num(b.size_bytes),
    tables: num(m.tables) ?? b.tables_counted ?? undefined,
    serverVersion: str(m.serverVersion),
    rowCounts: rc as Record<string, number> | undefined,
  };
}

/** The backup to test: the one named (key or file name) or the newest verified one. Bad input → UserError, nothing recorded. */
async function pickBackup(ctx: Context, client: string, key?: string): Promise<BackupRow> {
  if (key !== undefined) {
    const k = key.trim();
    const found = k ? await findBackupByKey(ctx.pool, client, k) : undefined;
    if (found && found.result === 'OK' && found.key) return found;
    const valid = (await listBackups(ctx.pool, { client, onlyOk: true, limit: 10 })).filter((b) => b.key);
    const list = valid.length ? valid.map((b) => `${b.file ?? b.key}${b.verified ? '' : ' (not verified)'}`).join(', ') : 'none yet';
    const why = found ? `backup "${k.slice(0, 120)}" of ${client} did not complete (result ${found.result})` : `unknown backup "${k.slice(0, 120)}" for ${client}`;
    throw new UserError(`${why}; valid backups (newest first): ${list}`);
  }
  const b = await latestVerifiedBackup(ctx.pool, client);
  if (!b || !b.key) throw new UserError(`${client} has no verified backup to test yet: take one first (backup-bot backup ${client}, or /backup-now ${client})`);
  return b;
}

export function stagingImageFor(ctx: Context, c: ClientConfig): string {
  return c.restoreTest.image ?? (c.database.engine === 'postgres' ? ctx.config.restoreTest.postgresImage : ctx.config.restoreTest.mysqlImage);
}

/**
 * SOP-001 8.3/9.3 and runbook section 4: restores a stored backup into a throwaway Docker container,
 * verifies it, records the section-12 register row (failures too), and destroys the container whatever
 * happens. One restore test per client at a time (advisory lock `restore_test:<client>`).
 */
export async function runRestoreTest(ctx: Context, input: RestoreTestInput): Promise<RestoreTestOutcome> {
  const cfg = ctx.client(input.client);
  const backup = await pickBackup(ctx, input.client, input.backupKey);
  const res = await withLock(ctx.pool, 'restore_test', input.client, () => execute(ctx, input, cfg, backup), { wait: false });
  if (!res.acquired) {
    const running = (await runningRuns(ctx.pool, { client: input.client, kind: 'restore_test' }))[0];
    await audit(ctx.pool, { actor: input.actor, action: 'restore_test.refused', client: input.client, reason: 'another restore test of this client is running', details: { running: running?.id ?? null } });
    throw new RestoreTestBusyError(input.client, running);
  }
  return res.value;
}

async function execute(ctx: Context, input: RestoreTestInput, cfg: ClientConfig, backup: BackupRow): Promise<RestoreTestOutcome> {
  const client = input.client;
  const m = manifestOf(backup);
  const engine = m.engine ?? cfg.database.engine;
  const format = engine === 'postgres' ? (m.format ?? cfg.database.format) : 'plain';
  const key = backup.locations.find((l) => l.destination === cfg.storage[0] && l.ok && l.key)?.key ?? backup.key!;
  const file = m.file ?? backup.file ?? key.split('/').pop()!;
  const image = stagingImageFor(ctx, cfg);
  const timeoutText = cfg.restoreTest.timeout;
  const timeoutMs = parseDuration(timeoutText) ?? 30 * 60_000;
  const rtoMs = parseDuration(cfg.rto) ?? 4 * 3600_000;
  const actorName = input.actorName ?? input.actor;
  const startedAt = ctx.clock.now();
  const t0 = performance.now();

  const run = await startRun(ctx.pool, {
    kind: 'restore_test', client, actor: input.actor, trigger: input.trigger, startedAt, instance: ctx.instance,
    details: { backup: { id: backup.id, key, file, takenAt: backup.taken_at }, image, environment: 'Test' },
  });
  await audit(ctx.pool, { actor: input.actor, action: 'restore_test.started', client, target: `run:${run.id}`, details: { backup: file, backupId: backup.id, image, trigger: input.trigger } });

  const view: RestoreTestView = { client, runId: run.id, backupFile: file, backupTakenAt: backup.taken_at, image, actorName, timezone: ctx.config.timezone, step: 'provisioning', reached: [], rtoMs };
  const notify = input.notify !== false;
  const channel = clientChannel(ctx.config, client);
  let message: MessageRef | undefined;
  const show = async () => {
    if (!notify) return;
    try {
      const msg = renderRestoreTest(view);
      if (message) await ctx.notifier.update(message, msg);
      else {
        message = await ctx.notifier.post(channel, msg);
        if (message) await setRunMessage(ctx.pool, run.id, message.channel, message.ts);
      }
    } catch (err) {
      ctx.logger.warn({ run: run.id, err: errorMessage(err) }, 'could not post/update the restore-test message');
    }
  };

  let step: RestoreTestStep = 'provisioning';
  const setStep = async (s: RestoreTestStep, note?: string) => {
    step = s;
    view.step = s;
    if (!view.reached.includes(s)) view.reached.push(s);
    await runStep(ctx.pool, run.id, s, note, ctx.clock.now());
    try { input.onProgress?.(s, { ...run, step: s }); } catch { /* a listener must not break the test */ }
    await show();
  };

  const controller = new AbortController();
  const signal = controller.signal;
  const timer = setTimeout(() => controller.abort(new OperationError(`the restore test took longer than restoreTest.timeout (${timeoutText}) and was stopped during step "${step}"`)), timeoutMs);

  const timings: RestoreTestTimings = { totalMs: 0 };
  let staging: Staging | undefined;
  let stagingPromise: Promise<Staging> | undefined;
  let docker: Docker | undefined;
  let verification: VerifyResult | undefined;
  let warnings: string[] = [];
  let error: string | undefined;
  let failedStep: RestoreTestStep | undefined;
  let evidence: string | undefined;
  let restoreMs: number | undefined;
  let destroyProblems: string[] = [];

  try {
    await setStep('provisioning');
    const tp = performance.now();
    const where = describeDockerHost(ctx.config);
    docker = dockerFromConfig(ctx.config);
    await abortable(pingDocker(docker, where), signal);
    const img = await abortable(ensureImage(docker, image, { pull: cfg.restoreTest.pull ?? ctx.config.restoreTest.pull }), signal);
    // The staging server must be at least the source server's major version (checked before anything starts).
    const srcMajor = majorOf(m.serverVersion);
    if (engine === 'postgres' && srcMajor !== undefined && img.major !== undefined && img.major < srcMajor) {
      throw new OperationError(`the staging image ${image} is PostgreSQL ${img.major}, older than the PostgreSQL ${m.serverVersion} server the backup was taken from: set restoreTest.image to a PostgreSQL ${srcMajor} (or newer) image`);
    }
    if (engine === 'postgres' && img.major === undefined) warnings.push(`cannot tell the PostgreSQL version of ${image}; the version check was skipped`);
    signal.throwIfAborted();
    stagingPromise = createStaging(docker, { engine, image, runId: run.id, client, memoryMb: cfg.restoreTest.memoryMb, cpus: cfg.restoreTest.cpus, stateId: stateIdOf(ctx.config.state.url) });
    staging = await abortable(stagingPromise, signal);
    const ready = waitReady(staging, { signal, timeoutMs: Math.min(timeoutMs, 180_000) }).then(() => { timings.provisionMs = performance.now() - tp; });
    ready.catch(() => {});

    await setStep('downloading');
    const td = performance.now();
    const storage = ctx.storage(cfg.storage[0]!);
    const open = () => storage.get(key);
    const expected = { sha256: m.sha256 ?? null, sizeBytes: m.sizeBytes ?? null };
    if (!expected.sha256) warnings.push('the backup has no sha256 in its manifest; integrity was not checked');
    await verifyDownload(open, `backup ${file}`, expected, signal);
    timings.downloadMs = performance.now() - td;
    await abortable(ready, signal);

    await setStep('restoring');
    const tr = performance.now();
    const restored = await restoreIntoStaging(staging, { open, what: `backup ${file}`, format, gzip: key.endsWith('.gz'), expected }, { signal, jobs: Math.max(1, Math.ceil(cfg.restoreTest.cpus * 2)) });
    timings.restoreMs = performance.now() - tr;
    restoreMs = timings.downloadMs + timings.restoreMs;
    warnings = [...warnings, ...restored.warnings.slice(0, 5).map((w) => `tolerated: ${w}`)];

    await setStep('verifying');
    const tv = performance.now();
    verification = await verifyStaging(staging, {
      minTables: cfg.verify.minTables, tables: cfg.verify.tables, checks: cfg.verify.checks, productionCounts: m.rowCounts, dumpTables: m.tables,
      runId: run.id, client,
      app: cfg.restoreTest.app ? { image: cfg.restoreTest.app.image, env: cfg.restoreTest.app.env, port: cfg.restoreTest.app.port, path: cfg.restoreTest.app.path, timeoutMs: parseDuration(cfg.restoreTest.app.timeout) ?? 120_000 } : undefined,
    }, { signal });
    timings.verifyMs = performance.now() - tv;
    if (!verification.ok) {
      const bad = verification.checks.filter((c) => !c.ok);
      throw new OperationError(`${bad.length} check(s) failed: ${bad.map((c) => `${c.name}${c.detail ? ` (${c.detail})` : ''}`).join('; ')}`);
    }
  } catch (err) {
    const cur = step as RestoreTestStep;
    failedStep = cur;
    const aborted = signal.aborted;
    error = redactSecrets(errorMessage(aborted ? signal.reason : err));
    if (!aborted && staging && (cur === 'restoring' || cur === 'verifying' || cur === 'downloading')) {
      // A container that died under the restore (killed, out of memory) is the reason, whatever the symptom.
      const st = await describeContainerState(staging, { checkOom: true });
      if (!st.running && !/staging container/.test(error)) error = `the staging container ${st.text} during step "${cur}": ${error}`;
      else if (st.running && st.oomKilled) error = `the staging database ran out of memory during step "${cur}" (${st.text.replace(/^running, but /, '')}): ${error}`;
      if (st.oomKilled && !/memoryMb/.test(error)) error += ` (memory limit ${cfg.restoreTest.memoryMb} MB: raise clients.${client}.restoreTest.memoryMb)`;
    }
    if (staging) evidence = redactSecrets(await containerLogTail(staging, 40));
  } finally {
    clearTimeout(timer);
    if (!staging && stagingPromise) staging = await stagingPromise.catch(() => undefined);
    if (staging) {
      await setStep('destroying').catch(() => undefined);
      const tx = performance.now();
      destroyProblems = await destroyStaging(staging);
      timings.destroyMs = performance.now() - tx;
    }
  }
  timings.totalMs = performance.now() - t0;

  const ok = error === undefined;
  if (destroyProblems.length) warnings.push(`staging leftovers could not be removed (removed at the next start): ${destroyProblems.join('; ')}`);
  const checks = verification?.checks ?? [];
  const finishedAt = ctx.clock.now();
  const observations = ok
    ? [`Prueba de restauración para ${client} completada con éxito el ${formatDate(startedAt, ctx.config.timezone)}. El backup del ${formatDate(backup.taken_at, ctx.config.timezone)} es viable.`, ...warnings].join(' ')
    : [`Falló en el paso "${failedStep}": ${error}`, ...warnings].join(' ').slice(0, 4000);

  let register: RestoreTestRow | undefined;
  try {
    register = await insertRestoreTest(ctx.pool, {
      runId: run.id, client, testedAt: startedAt, backupUsed: file, environment: 'Test',
      restoreMinutes: restoreMs !== undefined ? Math.round((restoreMs / 60_000) * 100) / 100 : null,
      recordsVerified: (verification?.counts ?? {}) as RestoreTestRow['records_verified'], checks, executedBy: actorName, result: ok ? 'OK' : 'Fail', observations,
    }, ctx.config.timezone);
  } catch (err) {
    ctx.logger.error({ run: run.id, err: errorMessage(err) }, 'could not record the restore test in the register');
  }

  view.result = { ok, error, failedStep, checks, restoreMs, totalMs: timings.totalMs, registerId: register?.id, observations };
  await runStep(ctx.pool, run.id, ok ? 'done' : 'failed', ok ? undefined : `failed at ${failedStep}`, finishedAt).catch(() => undefined);
  view.step = ok ? 'done' : 'failed';
  const finished = await finishRun(ctx.pool, run.id, {
    status: ok ? 'ok' : 'failed', error: ok ? null : `${failedStep}: ${error}`, at: finishedAt,
    details: {
      failedStep: failedStep ?? null, timings, restoreMs: restoreMs ?? null, tables: verification?.tables ?? null, counts: verification?.counts ?? {}, checks,
      warnings, registerId: register?.id ?? null, evidence: evidence ?? null, image,
      ...(ok ? {} : { alert: { severity: 'S2', step: failedStep } }),
      view: { ...view, result: { ...view.result } },
    },
  }) ?? { ...run, status: ok ? 'ok' : 'failed' } as Run;
  try { input.onProgress?.(ok ? 'done' : 'failed', finished); } catch { /* ignore */ }
  await show();
  await audit(ctx.pool, {
    actor: input.actor, action: ok ? 'restore_test.passed' : 'restore_test.failed', client, target: `run:${run.id}`,
    reason: ok ? null : `${failedStep}: ${error}`.slice(0, 1000),
    details: { backup: file, backupId: backup.id, registerId: register?.id ?? null, restoreMs: restoreMs ?? null, checks: checks.map((c) => ({ name: c.name, ok: c.ok })) },
  });
  if (!ok) {
    ctx.logger.error({ run: run.id, client, step: failedStep, err: error }, 'restore test failed (S2)');
    if (notify) {
      await ctx.notifier.post(channel, renderRestoreTestAlert({ client, backupFile: file, failedStep, error: error!, runId: run.id })).catch(() => undefined);
    }
  }
  return { ok, run: finished, register, error, failedStep, checks, restoreMs, timings, backup: { id: backup.id, key, file }, message };
}
