/** database.globals / globalsWithPasswords (issue 18 item 5): defaults, PostgreSQL only, passwords only with globals. */
import { testConfig } from '../helpers/config.js';
import { ConfigError } from '../../src/config/load.js';

const STATE = 'postgres://postgres@127.0.0.1:5432/backup_bot';
const withDb = (database: Record<string, unknown>) => () => testConfig({ stateUrl: STATE, client: { database } });
const message = (fn: () => unknown): string => {
  try { fn(); } catch (e) { expect(e).toBeInstanceOf(ConfigError); return (e as Error).message; }
  throw new Error('expected a configuration error');
};

test('off by default; true keeps the passwords out unless asked', () => {
  expect(withDb({ engine: 'postgres', url: STATE })().clients.demo!.database).toMatchObject({ globals: false, globalsWithPasswords: false });
  expect(withDb({ engine: 'postgres', url: STATE, globals: true })().clients.demo!.database).toMatchObject({ globals: true, globalsWithPasswords: false });
  expect(withDb({ engine: 'postgres', url: STATE, globals: true, globalsWithPasswords: true })().clients.demo!.database).toMatchObject({ globals: true, globalsWithPasswords: true });
});

test('mysql: a configuration error naming the key', () => {
  expect(message(withDb({ engine: 'mysql', url: 'mysql://root@127.0.0.1/shop', globals: true })))
    .toContain('clients.demo.database.globals: is only available for PostgreSQL (pg_dumpall --globals-only); for mysql leave it out or false');
  expect(message(withDb({ engine: 'mysql', url: 'mysql://root@127.0.0.1/shop', globalsWithPasswords: true })))
    .toContain('clients.demo.database.globalsWithPasswords: is only available for PostgreSQL');
  expect(withDb({ engine: 'mysql', url: 'mysql://root@127.0.0.1/shop', globals: false })().clients.demo!.database.globals).toBe(false);
});

test('globalsWithPasswords without globals, and a non-boolean, are refused', () => {
  expect(message(withDb({ engine: 'postgres', url: STATE, globalsWithPasswords: true })))
    .toContain('clients.demo.database.globalsWithPasswords: needs globals: true (the passwords are kept in the globals file)');
  expect(message(withDb({ engine: 'postgres', url: STATE, globals: 'yes' }))).toContain('clients.demo.database.globals');
});
