/**
 * doctor, for a MySQL/MariaDB client: whether the bot's account could run a production restore (issue 22);
 * a warning naming the GRANTs when it could not (real MariaDB on 127.0.0.1:3306).
 */
import { doctor } from '../../src/operations/doctor.js';
import { testConfig } from '../helpers/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { mysqlExec } from '../helpers/mariadb.js';
import { uniqueDb } from '../helpers/mysql-restore.js';

const prod = uniqueDb('bbmd');
const user = `${prod.slice(-6)}_doc`;
let state: TestDatabase;
beforeAll(async () => {
  state = await createTestDatabase('bbdoctor');
  await mysqlExec(`CREATE DATABASE \`${prod}\`; CREATE TABLE \`${prod}\`.t (i INT)`);
  await mysqlExec(`DROP USER IF EXISTS '${user}'@'%'; CREATE USER '${user}'@'%' IDENTIFIED BY 'Doc-pw-9'; GRANT SELECT, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT ON \`${prod}\`.* TO '${user}'@'%'`);
});
afterAll(async () => {
  await mysqlExec(`DROP USER IF EXISTS '${user}'@'%'; DROP DATABASE IF EXISTS \`${prod}\``);
  await state?.drop();
});

it('an account that can back up but not restore: a warning (not a failure) with the GRANTs; root: ok', async () => {
  const client = (url: string) => ({ client: { database: { engine: 'mysql', url } } });
  const limited = await doctor(testConfig({ stateUrl: state.url, ...client(`mysql://${user}:Doc-pw-9@127.0.0.1:3306/${prod}`) }), 'test config');
  const line = limited.find((c) => c.name === 'client demo: production restore')!;
  expect(line).toMatchObject({ ok: true, warn: true });
  expect(line.detail).toMatch(new RegExp(`^the MySQL account '${user}'@'%' lacks privileges the swap restore of "${prod}" needs: .*INSERT, CREATE, DROP, ALTER.* An administrator can grant them with: GRANT .* ON \`${prod}\`\\.\\* TO '${user}'@'%';.*GRANT (SET USER, )?PROCESS, CONNECTION ADMIN ON \\*\\.\\*`));
  expect(line.detail).not.toContain('Doc-pw-9');
  expect(limited.find((c) => c.name === 'client demo: database')).toMatchObject({ ok: true });
  const root = await doctor(testConfig({ stateUrl: state.url, ...client(`mysql://root@127.0.0.1:3306/${prod}`) }), 'test config');
  expect(root.find((c) => c.name === 'client demo: production restore')).toMatchObject({ ok: true, detail: expect.stringMatching(/holds the privileges of a swap restore/) });
  expect(root.find((c) => c.name === 'client demo: production restore')!.warn).toBeUndefined();
});
