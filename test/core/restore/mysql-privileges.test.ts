import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { endConnections, oldDatabaseName, restoreDatabaseName, withMysql } from '../../../src/core/restore/mysql-admin.js';
import { restoreToNewDatabase } from '../../../src/core/restore/mysql-load.js';
import { checkRestorePrivileges, namePattern } from '../../../src/core/restore/mysql-privileges.js';
import { swapBack, swapIn } from '../../../src/core/restore/mysql-swap.js';
import { mysqlExec } from '../../helpers/mariadb.js';
import { databasesLike, dropDatabasesLike, dumpDatabase, seedShop, snapshot, target, tempDir, uniqueDb } from '../../helpers/mysql-restore.js';

const PREFIX = uniqueDb('bbmp');
const prod = `${PREFIX}_prod`;
const user = `bbl_${randomBytes(3).toString('hex')}`;
const password = `pw-${randomBytes(6).toString('hex')}`;
const account = `'${user}'@'127.0.0.1'`;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let file: string;

beforeAll(async () => {
  tmp = await tempDir();
  await seedShop(prod); // views, triggers and routines defined by root
  file = join(tmp.dir, 'b.sql.gz');
  await dumpDatabase(prod, file);
  await mysqlExec(`CREATE USER ${account} IDENTIFIED BY '${password}'; GRANT SELECT, INSERT, UPDATE, DELETE ON \`${prod}\`.* TO ${account}`);
});
afterAll(async () => {
  await mysqlExec(`DROP USER IF EXISTS ${account}`);
  await dropDatabasesLike(PREFIX);
  await tmp.cleanup();
});

test('namePattern escapes the wildcards of the database name', () => {
  expect(namePattern('shop_db', '__restore_')).toBe('shop\\_db\\_\\_restore\\_%');
  expect(namePattern('50%', '__old_')).toBe('50\\%\\_\\_old\\_%');
});

test('an account with only SELECT/INSERT/UPDATE/DELETE is refused before anything changes, with the exact GRANTs; after them, the swap runs as that account', async () => {
  const limited = target(prod, user, password);
  const restoreDb = restoreDatabaseName(prod, '1');
  const oldDb = oldDatabaseName(prod, '1');
  const before = await snapshot(prod);
  const check = await checkRestorePrivileges(limited, { strategy: 'swap', restoreDb, oldDb, endConnections: true });
  expect(check.ok).toBe(false);
  expect(check.account).toBe(account);
  const p = (s: string) => `\`${namePattern(prod, s as '__restore_')}\`.*`;
  expect(check.grants).toEqual([
    `GRANT CREATE, DROP, ALTER, LOCK TABLES, CREATE VIEW, SHOW VIEW, TRIGGER, CREATE ROUTINE, ALTER ROUTINE ON \`${prod}\`.* TO ${account};`,
    `GRANT ALL PRIVILEGES ON ${p('__restore_')} TO ${account};`,
    `GRANT ALL PRIVILEGES ON ${p('__old_')} TO ${account};`,
    `GRANT SELECT ON \`mysql\`.\`proc\` TO ${account};`,
    `GRANT SET USER, PROCESS, CONNECTION ADMIN ON *.* TO ${account};`,
  ]);
  expect(check.message).toMatch(new RegExp(`^the MySQL account ${account} lacks privileges the swap restore of "${prod}" needs: CREATE, DROP, ALTER, LOCK TABLES, .* on \`${prod}\`\\.\\*; .*\\. Nothing was changed\\. An administrator can grant them with: GRANT `));
  expect(check.missing.find((m) => m.privilege === 'CONNECTION ADMIN')).toEqual({ privilege: 'CONNECTION ADMIN', on: '*.*', why: expect.stringMatching(/KILL/), alternatives: ['SUPER'] });
  // Nothing changed: production as it was, no database created.
  expect(await snapshot(prod)).toEqual(before);
  expect(await databasesLike(`${prod}__`)).toEqual([]);
  // Without the preflight the account would indeed fail (CREATE DATABASE denied): the check is right to refuse.
  await expect(restoreToNewDatabase(file, limited, restoreDb)).rejects.toThrow(/Access denied for user/);

  // The replace strategy needs everything on production.
  const replace = await checkRestorePrivileges(limited, { strategy: 'replace' });
  expect(replace.grants[0]).toBe(`GRANT CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE TEMPORARY TABLES, LOCK TABLES, CREATE VIEW, SHOW VIEW, TRIGGER, CREATE ROUTINE, ALTER ROUTINE, EXECUTE, EVENT ON \`${prod}\`.* TO ${account};`);

  // An administrator runs exactly the GRANTs the message gave: the check passes and the restore works as that account.
  for (const g of check.grants) await mysqlExec(g);
  const again = await checkRestorePrivileges(limited, { strategy: 'swap', restoreDb, oldDb, endConnections: true });
  expect(again).toEqual({ ok: true, account, missing: [], grants: [], message: '' });

  const other = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: prod });
  try {
    const ended = await withMysql(limited, (c) => endConnections(c, prod));
    expect(ended.ended).toBe(1);
    expect(ended.failed).toEqual([]);
  } finally {
    other.destroy();
  }
  await restoreToNewDatabase(file, limited, restoreDb);
  await mysqlExec("UPDATE orders SET total = 1 WHERE id = 1", prod);
  const changed = await snapshot(prod);
  const r = await swapIn(limited, { restoreDb, oldDb });
  expect(r.tablesIn).toEqual(['audit_log', 'customers', 'legacy', 'orders']);
  expect(await snapshot(prod)).toEqual(before);
  await swapBack(limited, { oldDb });
  expect(await snapshot(prod)).toEqual(changed);
});
