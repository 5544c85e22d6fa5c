import { createHash } from 'node:crypto';

/** Labels on every container and network the bot creates (KNOWN-PITFALLS: label, and clean leftovers at start). */
export const LABEL_MANAGED = 'backup-bot.managed';
export const LABEL_RUN = 'backup-bot.run-id';
export const LABEL_CLIENT = 'backup-bot.client';
const LABEL_ROLE = 'backup-bot.role';
/** Which bot (state database) owns it: run ids are only meaningful within one state database. */
export const LABEL_STATE = 'backup-bot.state';

/** A short, non-secret id of a state database URL (host, port and database name; never the password). */
export function stateIdOf(stateUrl: string): string {
  let basis = stateUrl;
  try {
    const u = new URL(stateUrl);
    basis = `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch { /* not a URL: hash as is */ }
  return createHash('sha256').update(basis).digest('hex').slice(0, 12);
}

export function stagingLabels(runId: string, client: string, role: 'db' | 'app' | 'network', stateId?: string): Record<string, string> {
  return { [LABEL_MANAGED]: 'true', [LABEL_RUN]: runId, [LABEL_CLIENT]: client, [LABEL_ROLE]: role, ...(stateId ? { [LABEL_STATE]: stateId } : {}) };
}
