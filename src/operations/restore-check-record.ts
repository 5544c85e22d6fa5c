import { runAppChecks, runSqlChecks, type ProductionCheck } from '../core/restore/production-checks.js';
import type { ClientConfig } from '../config/schema.js';
import type { DbTarget } from '../core/db-url.js';

/** The part of the production restore's state these checks read and write (restore-steps.ts RestoreState). */
interface RestoreState { cfg: ClientConfig; target: DbTarget; checks: Array<{ name: string; ok: boolean }> }

/** What was checked on production during one restore (verify.checks, health, app.checks), for its §12 row. */
const checked = new WeakMap<RestoreState, ProductionCheck[]>();

/**
 * What a production restore checks on production (SOP 9.2 step 11) and what its §12 row says it checked:
 * only what happened — a health URL that is not configured is "not checked", never "ok".
 */

/** verify.checks on the restored database (before it is put in place): a failing one fails the verify step. */
export async function sqlChecksOnRestored(s: RestoreState, database: string): Promise<string> {
  const checks = s.cfg.verify.checks;
  if (!checks.length) return '';
  const results = await runSqlChecks(s.target, database, checks);
  record(s, results);
  const bad = results.filter((c) => !c.ok);
  if (bad.length) throw new Error(`verify.checks failed on the restored database: ${bad.map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
  return `; ${results.length} verify.checks passed`;
}

/** app.checks once the application answers its health URL: a failing one fails start_app (and rolls back). */
export async function appChecksAfterStart(s: RestoreState): Promise<string> {
  record(s, [{ name: 'application health', ok: true, detail: s.cfg.app?.healthUrl ? 'passed' : 'not checked (no app.healthUrl configured)' }]);
  const checks = s.cfg.app?.checks ?? [];
  if (!checks.length) return '';
  const results = await runAppChecks(checks);
  record(s, results);
  const bad = results.filter((c) => !c.ok);
  if (bad.length) throw new Error(`app.checks failed: ${bad.map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
  return `; ${results.length} app.checks passed`;
}

/** The §12 row's checks: the engine's (row counts, checksums), then each check that ran; the health check says passed or "not checked". */
export function registerChecks(s: RestoreState): Array<{ name: string; ok: boolean; detail?: string }> {
  const ran = checked.get(s) ?? [];
  const health = ran.some((c) => c.name === 'application health')
    ? []
    : [{ name: 'application health', ok: true, detail: s.cfg.app ? 'not checked' : 'not checked (no application configured)' }];
  return [...s.checks, ...ran, ...health];
}

function record(s: RestoreState, results: ProductionCheck[]): void {
  checked.set(s, [...(checked.get(s) ?? []), ...results]);
}
