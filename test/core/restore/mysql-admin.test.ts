import mysql from 'mysql2/promise';
import {
  connectionId, createDatabaseLike, databaseProps, derivedName, endConnections, listTables, oldDatabaseName, restoreDatabaseName, withMysql,
} from '../../../src/core/restore/mysql-admin.js';
import { mysqlExec } from '../../helpers/mariadb.js';
import { dropDatabasesLike, target, uniqueDb } from '../../helpers/mysql-restore.js';

const PREFIX = uniqueDb('bbma');
afterAll(() => dropDatabasesLike(PREFIX));

test('derived names stay within 64 characters and keep their suffix', () => {
  expect(restoreDatabaseName('shop', '42')).toBe('shop__restore_42');
  expect(oldDatabaseName('shop', '42')).toBe('shop__old_42');
  const long = 'x'.repeat(70);
  expect(derivedName(long, '__restore_123')).toHaveLength(64);
  expect(derivedName(long, '__restore_123').endsWith('__restore_123')).toBe(true);
  expect([...derivedName('ñ'.repeat(64), '__old_1')]).toHaveLength(64);
});

test('createDatabaseLike copies the default character set and collation (latin1 here)', async () => {
  const prod = `${PREFIX}_latin`;
  await mysqlExec(`CREATE DATABASE \`${prod}\` CHARACTER SET latin1 COLLATE latin1_spanish_ci`);
  const t = target(prod);
  await withMysql(t, async (c) => {
    const p = await createDatabaseLike(c, `${prod}__restore_1`, prod);
    expect(p).toEqual({ charset: 'latin1', collation: 'latin1_spanish_ci' });
    expect(await databaseProps(c, `${prod}__restore_1`)).toEqual(p);
    await expect(createDatabaseLike(c, `${prod}__restore_1`, prod)).rejects.toThrow(/database exists/);
    await expect(databaseProps(c, `${PREFIX}_nope`)).rejects.toThrow(/does not exist/);
  });
});

test('endConnections ends every other session on production (not this one, not the excepted, not other databases) and counts them', async () => {
  const prod = `${PREFIX}_kill`;
  const elsewhere = `${PREFIX}_else`;
  await mysqlExec(`CREATE DATABASE \`${prod}\`; CREATE DATABASE \`${elsewhere}\`; CREATE TABLE \`${prod}\`.t (i INT)`);
  const open = async (db: string) => mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: db });
  const victims = [await open(prod), await open(prod)];
  const kept = await open(prod);
  const bystander = await open(elsewhere);
  const lost: number[] = [];
  victims.forEach((v, i) => v.on('error', () => lost.push(i)));
  // One victim is inside a transaction holding a metadata lock on t (what would block the swap).
  await victims[0]!.query('START TRANSACTION');
  await victims[0]!.query('SELECT COUNT(*) FROM t');
  try {
    const keptId = await connectionId(kept);
    const r = await withMysql(target(prod), async (c) => {
      await c.query(`USE \`${prod}\``); // the bot's own session is on production too
      return endConnections(c, prod, { exceptIds: [keptId] });
    });
    expect(r.ended).toBe(2);
    expect(r.ids).toHaveLength(2);
    expect(r.ids).not.toContain(keptId);
    expect(r.failed).toEqual([]);
    await expect(victims[0]!.query('SELECT 1')).rejects.toThrow();
    await expect(victims[1]!.query('SELECT 1')).rejects.toThrow();
    await expect(kept.query('SELECT 1')).resolves.toBeDefined();
    await expect(bystander.query('SELECT 1')).resolves.toBeDefined();
    // The metadata lock is gone with its session: DDL on t does not wait.
    await withMysql(target(prod), async (c) => {
      await c.query('SET SESSION lock_wait_timeout = 2');
      await c.query(`ALTER TABLE \`${prod}\`.t ADD COLUMN j INT`);
    });
    expect((await withMysql(target(prod), (c) => listTables(c, prod))).map((x) => x.name)).toEqual(['t']);
    // Nothing left to end: 0.
    expect((await withMysql(target(prod), (c) => endConnections(c, prod, { exceptIds: [keptId] }))).ended).toBe(0);
  } finally {
    for (const c of [...victims, kept, bystander]) c.destroy();
  }
});
