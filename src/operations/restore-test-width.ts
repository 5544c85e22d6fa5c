import type { Config } from '../config/schema.js';

/**
 * Restore tests the scheduled restore-test job runs at once: every staging engine's slots (docker.hosts ×
 * restoreTest.maxConcurrent; 1 by default). Kept apart (types only) so the job worker sizes its pool without
 * loading the restore test's modules.
 */
export function restoreTestWidth(config: Pick<Config, 'docker' | 'restoreTest'>): number {
  return Math.max(1, (config.docker.hosts?.length ?? 1) * config.restoreTest.maxConcurrent);
}

/** Dedicated state-database connections one running restore test holds: the job's, client's and backup's locks, the engine slot. */
export const RESTORE_TEST_CONNECTIONS = 4;
