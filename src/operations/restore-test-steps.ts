import type Docker from 'dockerode';
import type { Context } from '../context.js';
import type { ClientConfig } from '../config/schema.js';
import { parseDuration } from '../config/duration.js';
import { OperationError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { ensureImage, majorOf } from '../core/staging/image.js';
import { abortable, containerLogTail, createStaging, describeContainerState, destroyStaging, waitReady, type Staging } from '../core/staging/container.js';
import { restoreIntoStaging, verifyDownload } from '../core/staging/restore.js';
import { applyGlobalsInStaging } from '../core/staging/globals.js';
import { checkDecryptable, type DecryptSource } from '../core/crypto/keys.js';
import { isGzipName } from '../core/naming.js';
import { stateIdOf } from '../core/staging/labels.js';
import { verifyStaging, type VerifyResult } from '../core/verify/staging.js';
import type { BackupRow } from '../store/backup-register.js';
import { manifestOf, type BackupFacts } from './manifest.js';
import type { Step } from './runbook.js';
import { noEngineError, type EngineChoice } from './staging-engine.js';

export interface RestoreTestTimings { provisionMs?: number; downloadMs?: number; restoreMs?: number; verifyMs?: number; destroyMs?: number; totalMs: number }

/** What the restore-test runbook's steps share. */
export interface RestoreTestState {
  ctx: Context;
  cfg: ClientConfig;
  client: string;
  backup: BackupRow;
  facts: BackupFacts;
  engine: 'postgres' | 'mysql';
  format: 'plain' | 'custom';
  key: string;
  file: string;
  image: string;
  timeoutMs: number;
  runId?: string;
  /** The staging engine's client (withStagingEngine holds one of its slots); undefined: no engine could be used. */
  docker?: Docker;
  /** The engines skipped before it (unreachable, refused), for the provisioning error when none is left. */
  enginesSkipped: EngineChoice['skipped'];
  staging?: Staging;
  stagingPromise?: Promise<Staging>;
  ready?: Promise<void>;
  verification?: VerifyResult;
  warnings: string[];
  timings: RestoreTestTimings;
  /** Download + restore: the SOP's "Tiempo Restore". */
  restoreMs?: number;
  /** Set by the teardown after a failure: what the container said, and why it stopped. */
  evidence?: string;
  containerProblem?: { running: boolean; oomKilled: boolean; text: string };
  destroyed: boolean;
  destroyProblems: string[];
  /** An encrypted backup: the identities that open it (checked before provisioning). */
  decrypt?: DecryptSource;
  /** Roles created from the backup's globals file (undefined: the backup has none). */
  globalsRoles?: number;
}

function stagingImageFor(ctx: Context, c: ClientConfig): string {
  return c.restoreTest.image ?? (c.database.engine === 'postgres' ? ctx.config.restoreTest.postgresImage : ctx.config.restoreTest.mysqlImage);
}

export function restoreTestState(ctx: Context, client: string, backup: BackupRow, choice: EngineChoice): RestoreTestState {
  const cfg = ctx.client(client);
  const facts = manifestOf(backup);
  const engine = facts.engine ?? cfg.database.engine;
  const key = backup.locations.find((l) => l.destination === cfg.storage[0] && l.ok && l.key)?.key ?? backup.key!;
  return {
    ctx, cfg, client, backup, facts, engine, key,
    format: engine === 'postgres' ? facts.format : 'plain',
    file: facts.file ?? backup.file ?? key.split('/').pop()!,
    image: stagingImageFor(ctx, cfg),
    timeoutMs: parseDuration(cfg.restoreTest.timeout) ?? 30 * 60_000,
    warnings: [], timings: { totalMs: 0 }, destroyed: false, destroyProblems: [],
    docker: choice.chosen?.docker, enginesSkipped: choice.skipped,
  };
}

async function destroy(s: RestoreTestState): Promise<void> {
  if (!s.staging && s.stagingPromise) s.staging = await s.stagingPromise.catch(() => undefined);
  if (!s.staging || s.destroyed) return;
  s.destroyed = true;
  const t = performance.now();
  s.destroyProblems = await destroyStaging(s.staging);
  s.timings.destroyMs = performance.now() - t;
}

/**
 * The restore-test runbook (SOP-001 8.3/9.3, runbook section 4): a throwaway container from the staging image,
 * the backup downloaded and checked against its sha256, restored, verified, and the container destroyed —
 * also when a step fails (the undo of provisioning), after keeping its last log lines as evidence.
 */
export const RESTORE_TEST_STEPS: Array<Step<RestoreTestState>> = [
  {
    name: 'provisioning',
    label: 'provisioning the staging container',
    async run(s, signal) {
      const t = performance.now();
      const config = s.ctx.config;
      // An encrypted backup needs an identity that opens it: checked (header only) before any container exists.
      const storage = s.ctx.storage(s.cfg.storage[0]!);
      s.decrypt = await checkDecryptable({ client: s.client, encryption: s.cfg.encryption, manifest: s.backup.manifest, what: `backup ${s.file}`, open: () => storage.get(s.key) });
      // The engine was chosen and pinged by withStagingEngine (restore-test.ts); none left: every engine tried, and why.
      if (!s.docker) throw new OperationError(noEngineError(s.enginesSkipped));
      const img = await abortable(ensureImage(s.docker, s.image, { pull: s.cfg.restoreTest.pull ?? config.restoreTest.pull }), signal);
      // The staging server must be at least the source server's major version (checked before anything starts).
      const srcMajor = majorOf(s.facts.serverVersion);
      if (s.engine === 'postgres' && srcMajor !== undefined && img.major !== undefined && img.major < srcMajor) {
        throw new OperationError(`the staging image ${s.image} is PostgreSQL ${img.major}, older than the PostgreSQL ${s.facts.serverVersion} server the backup was taken from: set restoreTest.image to a PostgreSQL ${srcMajor} (or newer) image`);
      }
      if (s.engine === 'postgres' && img.major === undefined) s.warnings.push(`cannot tell the PostgreSQL version of ${s.image}; the version check was skipped`);
      signal.throwIfAborted();
      s.stagingPromise = createStaging(s.docker, { engine: s.engine, image: s.image, runId: s.runId!, client: s.client, memoryMb: s.cfg.restoreTest.memoryMb, cpus: s.cfg.restoreTest.cpus, stateId: stateIdOf(config.state.url) });
      s.staging = await abortable(s.stagingPromise, signal);
      s.ready = waitReady(s.staging, { signal, timeoutMs: Math.min(s.timeoutMs, 180_000) }).then(() => { s.timings.provisionMs = performance.now() - t; });
      s.ready.catch(() => {});
    },
    undo: {
      name: 'destroying',
      needed: (s) => (s.staging !== undefined || s.stagingPromise !== undefined) && !s.destroyed,
      async run(s) {
        if (!s.staging && s.stagingPromise) s.staging = await s.stagingPromise.catch(() => undefined);
        if (s.staging) {
          s.containerProblem = await describeContainerState(s.staging, { checkOom: true }).catch(() => undefined);
          s.evidence = redactSecrets(await containerLogTail(s.staging, 40));
        }
        await destroy(s);
        return s.destroyProblems.length ? `leftovers: ${s.destroyProblems.join('; ')}` : 'staging container and network removed';
      },
    },
  },
  {
    name: 'downloading',
    label: 'downloading the backup and checking its sha256',
    async run(s, signal) {
      const t = performance.now();
      const storage = s.ctx.storage(s.cfg.storage[0]!);
      const expected = { sha256: s.facts.sha256 ?? null, sizeBytes: s.facts.sizeBytes ?? null };
      if (!expected.sha256) s.warnings.push('the backup has no sha256 in its manifest; integrity was not checked');
      await verifyDownload(() => storage.get(s.key), `backup ${s.file}`, expected, signal, s.decrypt);
      s.timings.downloadMs = performance.now() - t;
      await abortable(s.ready!, signal);
    },
  },
  {
    name: 'restoring',
    label: 'restoring into staging (the globals file first, when the backup has one)',
    async run(s, signal) {
      const t = performance.now();
      const storage = s.ctx.storage(s.cfg.storage[0]!);
      const expected = { sha256: s.facts.sha256 ?? null, sizeBytes: s.facts.sizeBytes ?? null };
      await applyGlobals(s, signal);
      const restored = await restoreIntoStaging(s.staging!, { open: () => storage.get(s.key), what: `backup ${s.file}`, format: s.format, gzip: isGzipName(s.key), expected, decrypt: s.decrypt }, { signal, jobs: Math.max(1, Math.ceil(s.cfg.restoreTest.cpus * 2)) });
      s.timings.restoreMs = performance.now() - t;
      s.restoreMs = (s.timings.downloadMs ?? 0) + s.timings.restoreMs;
      s.warnings.push(...restored.warnings.slice(0, 5).map((w) => `tolerated: ${w}`));
    },
  },
  {
    name: 'verifying',
    label: 'verifying tables, row counts and checks',
    async run(s, signal) {
      const t = performance.now();
      const app = s.cfg.restoreTest.app;
      s.verification = await verifyStaging(s.staging!, {
        minTables: s.cfg.verify.minTables, tables: s.cfg.verify.tables, checks: s.cfg.verify.checks, productionCounts: s.facts.rowCounts, dumpTables: s.facts.tables,
        runId: s.runId!, client: s.client,
        app: app ? { image: app.image, env: app.env, port: app.port, path: app.path, timeoutMs: parseDuration(app.timeout) ?? 120_000 } : undefined,
      }, { signal });
      s.timings.verifyMs = performance.now() - t;
      if (!s.verification.ok) {
        const bad = s.verification.checks.filter((c) => !c.ok);
        throw new OperationError(`${bad.length} check(s) failed: ${bad.map((c) => `${c.name}${c.detail ? ` (${c.detail})` : ''}`).join('; ')}`);
      }
    },
  },
  {
    name: 'destroying',
    label: 'destroying the staging container',
    async run(s) { await destroy(s); },
  },
];

/** The error as people should read it: a container that died under the restore is the reason, whatever the symptom. */
/**
 * The backup's globals file (`database.globals`), loaded before the dump so that its owners and grants find
 * their roles, as on a fresh production server (issue 18 item 5). Decrypted with the dump's identities.
 */
async function applyGlobals(s: RestoreTestState, signal: AbortSignal): Promise<void> {
  const g = s.facts.globals;
  if (!g || s.engine !== 'postgres') return;
  const storage = s.ctx.storage(s.cfg.storage[0]!);
  const what = `globals file ${g.key.split('/').pop()}`;
  const r = await applyGlobalsInStaging(s.staging!, {
    open: () => storage.get(g.key), what, expected: { sha256: g.sha256 || null, sizeBytes: g.sizeBytes || null },
    ...(s.decrypt ? { decrypt: { ...s.decrypt, ...(g.plaintextSha256 ? { plaintextSha256: g.plaintextSha256 } : {}) } } : {}),
  }, { signal });
  s.globalsRoles = r.roles;
  s.warnings.push(...r.tolerated.slice(0, 3).map((t) => `globals tolerated: ${t}`));
}

export function explainFailure(s: RestoreTestState, step: string, error: string, aborted: boolean): string {
  const st = s.containerProblem;
  if (aborted || !st || !['restoring', 'verifying', 'downloading'].includes(step)) return error;
  let e = error;
  if (!st.running && !/staging container/.test(e)) e = `the staging container ${st.text} during step "${step}": ${e}`;
  else if (st.running && st.oomKilled) e = `the staging database ran out of memory during step "${step}" (${st.text.replace(/^running, but /, '')}): ${e}`;
  if (st.oomKilled && !/memoryMb/.test(e)) e += ` (memory limit ${s.cfg.restoreTest.memoryMb} MB: raise clients.${s.client}.restoreTest.memoryMb)`;
  return e;
}
