import type { Context } from '../context.js';
import type { Run, RunTrigger } from '../store/runs.js';
import type { runBackup } from './backup.js';
import type { prune } from './prune.js';
import type { verifyBackup } from './verify-backup.js';
import type { runRestoreTest } from './restore-test.js';

/**
 * The operations the scheduled jobs call, by their contract: runBackup, prune, verifyBackup and
 * runRestoreTest. Tests hand a job a partial set (`ops`) to exercise its fallbacks.
 */
export interface BackupOutcomeLike { ok: boolean; verified: boolean; run: Run; error?: string; hint?: string; durationMs?: number }
export type RunBackupFn = (ctx: Context, input: { client: string; type?: 'scheduled' | 'manual' | 'pre-change' | 'pre-restore'; actor: string; actorName?: string; trigger: RunTrigger; wait?: boolean; notify?: boolean; signal?: AbortSignal }) => Promise<BackupOutcomeLike>;
export type PruneFn = (ctx: Context, input: { client: string; dryRun?: boolean; actor: string; trigger: RunTrigger; signal?: AbortSignal }) => Promise<{ run: Run; deleted: unknown[]; kept: unknown[]; errors: unknown[] }>;
export type VerifyBackupFn = (ctx: Context, input: { client: string; backupKey?: string; actor: string; trigger: RunTrigger; notify?: boolean; signal?: AbortSignal }) => Promise<{ ok: boolean; run: Run; error?: string }>;
export type RunRestoreTestFn = (ctx: Context, input: { client: string; backupKey?: string; actor: string; actorName?: string; trigger: RunTrigger; notify?: boolean; signal?: AbortSignal }) => Promise<{ ok: boolean; run: Run; error?: string; failedStep?: string }>;

export interface PeerOperations {
  runBackup?: RunBackupFn;
  prune?: PruneFn;
  verifyBackup?: VerifyBackupFn;
  runRestoreTest?: RunRestoreTestFn;
}

let cached: PeerOperations | undefined;

/**
 * The landed operations, imported when a job first needs them (keeps a job worker's start-up light).
 * An import that fails is an error of the build, reported as the job's failure, never a silent fallback.
 */
export async function peerOperations(): Promise<PeerOperations> {
  if (!cached) {
    // One after the other: jest's ES-module loader races on concurrent imports sharing dependencies.
    const { runBackup } = await import('./backup.js');
    const { prune } = await import('./prune.js');
    const { verifyBackup } = await import('./verify-backup.js');
    const { runRestoreTest } = await import('./restore-test.js');
    cached = { runBackup, prune, verifyBackup, runRestoreTest };
  }
  return cached;
}

/** True for the contract's BackupBusyError / RestoreTestBusyError (a run of that client is in progress). */
export function isBusyError(err: unknown): err is Error & { running?: Run } {
  const name = (err as { name?: string; constructor?: { name?: string } })?.name ?? '';
  const ctor = (err as { constructor?: { name?: string } })?.constructor?.name ?? '';
  return /Busy/.test(name) || /Busy/.test(ctor);
}

// Compile-time guard: the landed operations still fit the contracts the jobs call them with.
type Fits<A, B> = [A] extends [B] ? true : false;
export const contractsFit: [
  Fits<typeof runBackup, RunBackupFn>, Fits<typeof prune, PruneFn>, Fits<typeof verifyBackup, VerifyBackupFn>, Fits<typeof runRestoreTest, RunRestoreTestFn>,
] = [true, true, true, true];
