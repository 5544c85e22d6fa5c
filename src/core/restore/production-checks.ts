import { redactSecrets } from '../redact.js';
import { errorMessage } from '../errors.js';
import type { DbTarget } from '../db-url.js';
import { withDb } from './pg-admin.js';

export interface ProductionCheck { name: string; ok: boolean; detail: string }

const TRUE = new Set(['t', 'true', '1', 'yes', 'on']);

/**
 * verify.checks on a restored production database (SOP 9.2 step 11): each SQL runs in a READ ONLY transaction
 * with a statement timeout; the first column of the first row must be true. A check that errors is failed.
 */
export async function runSqlChecks(t: DbTarget, database: string, checks: Array<{ name: string; sql: string }>, timeoutMs = 60_000): Promise<ProductionCheck[]> {
  if (!checks.length) return [];
  return withDb(t, database, async (c) => {
    const out: ProductionCheck[] = [];
    for (const chk of checks) {
      try {
        await c.query('BEGIN READ ONLY');
        await c.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
        const r = await c.query({ text: chk.sql, rowMode: 'array' });
        await c.query('COMMIT');
        const v = (r.rows[0] as unknown[] | undefined)?.[0];
        const ok = v === true || (v !== undefined && v !== null && TRUE.has(String(v).trim().toLowerCase()));
        out.push({ name: chk.name, ok, detail: ok ? 'true' : v === undefined ? 'returned no rows (must return true)' : `returned ${JSON.stringify(String(v).slice(0, 60))} (must return true)` });
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        out.push({ name: chk.name, ok: false, detail: errorMessage(err).slice(0, 300) });
      }
    }
    return out;
  });
}

/**
 * app.checks after the application is started again: each URL must answer `status` (default 200) and its body
 * contain `expect` (a login page's title, a read-only API answer). Only the URL's origin and path are shown.
 */
export async function runAppChecks(checks: Array<{ url: string; status: number; expect?: string }>, timeoutMs = 15_000): Promise<ProductionCheck[]> {
  const out: ProductionCheck[] = [];
  for (const chk of checks) {
    const where = redactSecrets(safeUrl(chk.url));
    try {
      const res = await fetch(chk.url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
      const body = await res.text();
      const problems: string[] = [];
      if (res.status !== chk.status) problems.push(`answered HTTP ${res.status}, expected ${chk.status}`);
      if (chk.expect !== undefined && !body.includes(chk.expect)) problems.push(`the page does not contain ${JSON.stringify(chk.expect.slice(0, 80))}`);
      out.push({ name: `app ${where}`, ok: problems.length === 0, detail: problems.length ? problems.join('; ') : `HTTP ${res.status}${chk.expect !== undefined ? `, contains ${JSON.stringify(chk.expect.slice(0, 80))}` : ''}` });
    } catch (err) {
      out.push({ name: `app ${where}`, ok: false, detail: redactSecrets(errorMessage(err)).slice(0, 300) });
    }
  }
  return out;
}

function safeUrl(u: string): string {
  try {
    const x = new URL(u);
    return `${x.origin}${x.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
