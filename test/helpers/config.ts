import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { testSigningKeyPath } from './signing-key.js';

/** A validated config for tests: `state.url` and one client `demo` on `demoUrl` (and any `clients` given), storage in `dir`. */
export function testConfig(o: { stateUrl: string; demoUrl?: string; storageDir?: string; raw?: Record<string, unknown>; client?: Record<string, unknown>; clients?: Record<string, Record<string, unknown>> }): Config {
  const raw: Record<string, unknown> = {
    timezone: 'UTC',
    state: { url: o.stateUrl },
    storage: { local: { type: 'local', path: o.storageDir ?? '/tmp/backup-bot-test' } },
    clients: {
      demo: {
        database: { engine: 'postgres', url: o.demoUrl ?? o.stateUrl },
        schedule: '0 3 * * *',
        storage: ['local'],
        verify: { minTables: 1, tables: [] },
        roles: { systemOwners: ['U0OWNER'], itManagers: ['U0ITMGR'], qa: ['U0QA'], operators: ['U0OPER'] },
        ...(o.client ?? {}),
      },
      // More clients, as given (a storage list and a schedule are required).
      ...(o.clients ?? {}),
    },
    // Any free port: test files run in parallel (and next to a bot that may hold 9464).
    metrics: { listen: '127.0.0.1:0' },
    evidence: { signingKey: testSigningKeyPath() },
    ...(o.raw ?? {}),
  };
  return validateConfig(raw, 'test config');
}
