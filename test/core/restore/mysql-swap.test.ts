/** @needs slow */
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { oldDatabaseName, restoreDatabaseName } from '../../../src/core/restore/mysql-admin.js';
import { restoreToNewDatabase } from '../../../src/core/restore/mysql-load.js';
import { SWAP_TABLE, SwapError, checkSwap, discardRestoredCopy, dropOldDatabase, swapBack, swapIn } from '../../../src/core/restore/mysql-swap.js';
import { mysqlExec } from '../../helpers/mariadb.js';
import { databasesLike, dropDatabasesLike, dumpDatabase, seedShop, snapshot, target, tempDir, uniqueDb, type DbSnapshot } from '../../helpers/mysql-restore.js';

const PREFIX = uniqueDb('bbms');
let tmp: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => { tmp = await tempDir(); });
afterAll(async () => {
  await dropDatabasesLike(PREFIX);
  await tmp.cleanup();
});

/** A production database, its backup (as a snapshot and a file), then production changed after the backup. */
async function prepare(name: string): Promise<{ prod: string; file: string; backup: DbSnapshot; changed: DbSnapshot }> {
  const prod = `${PREFIX}_${name}`;
  await seedShop(prod);
  const file = join(tmp.dir, `${name}.sql.gz`);
  await dumpDatabase(prod, file);
  const backup = await snapshot(prod);
  // After the backup: rows changed, a table added, a view and a trigger changed, a procedure dropped.
  await mysqlExec(`
    INSERT INTO customers (id, name) VALUES (50, 'nuevo'); UPDATE orders SET total = 999 WHERE id = 1;
    CREATE TABLE added_later (i INT); INSERT INTO added_later VALUES (1);
    CREATE OR REPLACE VIEW big_orders AS SELECT o.id, c.name, o.total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.total > 100;
    DROP TRIGGER customers_bi; CREATE TRIGGER customers_bi BEFORE INSERT ON customers FOR EACH ROW SET NEW.updated_by = 'changed';
    DROP PROCEDURE count_orders;`, prod);
  return { prod, file, backup, changed: await snapshot(prod) };
}

describe('swapIn (full)', () => {
  test('one RENAME moves production aside and the restored tables in; views, triggers, routines as in the backup; swapBack restores production exactly', async () => {
    const { prod, file, backup, changed } = await prepare('full');
    const restoreDb = restoreDatabaseName(prod, '11');
    const oldDb = oldDatabaseName(prod, '11');
    await restoreToNewDatabase(file, target(prod), restoreDb);
    const r = await swapIn(target(prod), { restoreDb, oldDb });
    expect(r.scope).toBe('full');
    expect(r.tablesIn).toEqual(['audit_log', 'customers', 'legacy', 'orders']);
    expect(r.tablesOut).toEqual(['added_later', 'audit_log', 'customers', 'legacy', 'orders']);
    expect(r.created.map((o) => `${o.kind} ${o.name}`).sort()).toEqual(['function order_total', 'procedure count_orders', 'trigger customers_bi', 'trigger orders_ai', 'view big_order_names', 'view big_orders', 'view latin_view']);
    expect(r.kept).toEqual(['event']);

    // Production is the backup: tables (charset/collation of each), rows (checksums), views/triggers/routines.
    expect(await snapshot(prod)).toEqual(backup);
    // The database keeps its own character set and collation.
    expect((await snapshot(prod)).charset).toBe('utf8mb4/utf8mb4_unicode_ci');
    // Views and triggers work against production's new tables; the FK follows the tables.
    expect((await mysqlExec('SELECT COUNT(*) FROM big_orders', prod)).trim()).toBe('2');
    expect(backup.objects['view latin_view']).toMatch(/ \| latin1 latin1_spanish_ci/);
    await mysqlExec('INSERT INTO customers (id, name) VALUES (70, \'t\'); INSERT INTO orders VALUES (70, 70, 1)', prod);
    expect((await mysqlExec('SELECT updated_by FROM customers WHERE id = 70', prod)).trim()).toBe('trigger');
    expect((await mysqlExec('SELECT what FROM audit_log ORDER BY id DESC LIMIT 1', prod)).trim()).toBe('order 70');
    await expect(mysqlExec('INSERT INTO orders VALUES (71, 9999, 1)', prod)).rejects.toThrow(/foreign key constraint fails \(`[^`]+`\.`orders`/);
    expect((await mysqlExec("SELECT UNIQUE_CONSTRAINT_SCHEMA FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '" + prod + "'")).trim()).toBe(prod);
    await mysqlExec('DELETE FROM orders WHERE id = 70; DELETE FROM customers WHERE id = 70; DELETE FROM audit_log WHERE what = \'order 70\'', prod);
    // The old database has production's previous tables (and the saved definitions), no __restore_ left.
    expect((await mysqlExec('SELECT COUNT(*) FROM added_later', oldDb)).trim()).toBe('1');
    expect((await mysqlExec('SELECT total FROM orders WHERE id = 1', oldDb)).trim()).toBe('999.00');
    expect(await databasesLike(`${prod}__`)).toEqual([oldDb]);

    // Undo: production exactly as before the restore.
    const back = await swapBack(target(prod), { oldDb });
    expect(back.tablesBack.sort()).toEqual(['added_later', 'audit_log', 'customers', 'legacy', 'orders']);
    const after = await snapshot(prod);
    expect(after).toEqual(changed);
    expect(await databasesLike(`${prod}__`)).toEqual([]);
  });

  test('a table locked by a long transaction when the swap starts: waits lock_wait_timeout, fails cleanly, production untouched', async () => {
    const { prod, file, changed } = await prepare('locked');
    const restoreDb = restoreDatabaseName(prod, '12');
    const oldDb = oldDatabaseName(prod, '12');
    await restoreToNewDatabase(file, target(prod), restoreDb);
    const holder = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: prod });
    try {
      await holder.query('START TRANSACTION');
      await holder.query('SELECT COUNT(*) FROM orders'); // metadata lock held until the transaction ends
      const t0 = Date.now();
      const err = await swapIn(target(prod), { restoreDb, oldDb, lockWaitTimeout: 2 }).then(() => null, (e: unknown) => e);
      const waited = Date.now() - t0;
      expect(err).toBeInstanceOf(SwapError);
      expect((err as SwapError).changed).toBe(false);
      expect((err as Error).message).toMatch(/waited 2 s \(lock_wait_timeout\) for a table locked by another session .* production .* is as it was/);
      expect(waited).toBeGreaterThanOrEqual(1900);
      expect(waited).toBeLessThan(15_000);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
    expect(await snapshot(prod)).toEqual(changed);
    expect(await databasesLike(`${prod}__`)).toEqual([restoreDb]);
    // The runbook's undo of its restore step: no __restore_ database left.
    await discardRestoredCopy(target(prod), restoreDb);
    expect(await databasesLike(`${prod}__`)).toEqual([]);
  });

  test.each([
    ['orders (a table with a trigger): DROP TRIGGER waits', 'orders'],
    ['legacy (no trigger): the triggers are dropped, the RENAME waits; the triggers are recreated', 'legacy'],
  ])('a lock taken after the probe on %s, fails, production untouched', async (_what, table) => {
    const { prod, file, backup, changed } = await prepare(`late_${table}`);
    const restoreDb = restoreDatabaseName(prod, '13');
    const oldDb = oldDatabaseName(prod, '13');
    await restoreToNewDatabase(file, target(prod), restoreDb);
    const holder = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: prod });
    try {
      const err = await swapIn(target(prod), {
        restoreDb, oldDb, lockWaitTimeout: 1,
        afterProbe: async () => { await holder.query('START TRANSACTION'); await holder.query(`SELECT COUNT(*) FROM ${table}`); },
      }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(SwapError);
      expect((err as SwapError).changed).toBe(false);
      expect((err as Error).message).toMatch(/the switch waited 1 s \(lock_wait_timeout\)/);
      expect((err as Error).message).not.toMatch(/NOT RECREATED/);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
    expect(await snapshot(prod)).toEqual(changed);
    expect(await snapshot(restoreDb)).toEqual(backup); // the restored copy's triggers are back too
    expect(await databasesLike(`${prod}__old`)).toEqual([]);
  });

  test('a failure after the RENAME (a view cannot be recreated) swaps back by itself: production as it was', async () => {
    const { prod, file, changed } = await prepare('after');
    const other = `${PREFIX}_other`;
    await mysqlExec(`CREATE DATABASE IF NOT EXISTS \`${other}\`; CREATE TABLE \`${other}\`.ref (i INT)`);
    const restoreDb = restoreDatabaseName(prod, '14');
    const oldDb = oldDatabaseName(prod, '14');
    await restoreToNewDatabase(file, target(prod), restoreDb);
    await mysqlExec(`CREATE VIEW uses_other AS SELECT i FROM \`${other}\`.ref`, restoreDb);
    await mysqlExec(`DROP TABLE \`${other}\`.ref`); // the restored copy's view now cannot be created in production
    const err = await swapIn(target(prod), { restoreDb, oldDb }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SwapError);
    expect((err as SwapError).changed).toBe(true);
    expect((err as SwapError).swappedBack).toBe(true);
    expect((err as Error).message).toMatch(/recreating views\/triggers\/routines failed: creating view .*uses_other failed: Table .*ref' doesn't exist; swapped back: production .* is as it was/);
    expect(await snapshot(prod)).toEqual(changed);
    // The restored tables are back in the restored copy (the runbook's undo of "restore" drops it); no old database.
    expect(await databasesLike(`${prod}__`)).toEqual([restoreDb]);
    expect((await mysqlExec('SELECT COUNT(*) FROM customers', restoreDb)).trim()).toBe('3');
  });

  test('swapBack goes on when a saved view cannot be recreated, and lists it', async () => {
    const { prod, file } = await prepare('backfail');
    const other = `${PREFIX}_other2`;
    await mysqlExec(`CREATE DATABASE IF NOT EXISTS \`${other}\`; CREATE TABLE \`${other}\`.ref (i INT)`);
    await mysqlExec(`CREATE VIEW uses_other AS SELECT i FROM \`${other}\`.ref`, prod);
    const changed = await snapshot(prod);
    const restoreDb = restoreDatabaseName(prod, '16');
    const oldDb = oldDatabaseName(prod, '16');
    await restoreToNewDatabase(file, target(prod), restoreDb);
    await swapIn(target(prod), { restoreDb, oldDb });
    await mysqlExec(`DROP TABLE \`${other}\`.ref`);
    const back = await swapBack(target(prod), { oldDb });
    expect(back.notRecreated).toEqual([{ kind: 'view', name: 'uses_other', error: expect.stringMatching(/ref' doesn't exist/) }]);
    const now = await snapshot(prod);
    expect(now.tables).toEqual(changed.tables);
    const { ['view uses_other']: _gone, ...rest } = changed.objects;
    expect(now.objects).toEqual(rest);
  });

  test('refused before anything changes: a foreign key from another database into production', async () => {
    const { prod, file, changed } = await prepare('xdbfk');
    const other = `${PREFIX}_fkother`;
    await mysqlExec(`CREATE DATABASE \`${other}\`; CREATE TABLE \`${other}\`.child (id INT PRIMARY KEY, c INT, CONSTRAINT fk_x FOREIGN KEY (c) REFERENCES \`${prod}\`.customers(id)) ENGINE=InnoDB`);
    const restoreDb = restoreDatabaseName(prod, '15');
    await restoreToNewDatabase(file, target(prod), restoreDb);
    await expect(swapIn(target(prod), { restoreDb, oldDb: oldDatabaseName(prod, '15') })).rejects.toThrow(/foreign keys from other databases reference production's tables .*child → .*customers \(fk_x\)/);
    expect(await snapshot(prod)).toEqual(changed);
    expect(await databasesLike(`${prod}__old`)).toEqual([]);
  });
});

describe('swapIn (events)', () => {
  test('a dump with --events: production\'s events replaced by the backup\'s (and back with swapBack); without an events section they are kept', async () => {
    const prod = `${PREFIX}_events`;
    await seedShop(prod);
    await mysqlExec("SET time_zone = '+03:00'; CREATE EVENT ev_cleanup ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM audit_log WHERE id < 0", prod);
    const withEvents = join(tmp.dir, 'events.sql.gz');
    await dumpDatabase(prod, withEvents); // backup-bot's dumps have --events
    const plain = join(tmp.dir, 'noevents.sql.gz');
    await dumpDatabase(prod, plain, ['--skip-events']); // an older or imported dump without an events section
    const backup = await snapshot(prod);
    expect(backup.objects['event ev_cleanup']).toMatch(/EVERY 1 DAY STARTS '2030-01-01 00:00:00' ON COMPLETION NOT PRESERVE DISABLE.* \+03:00$/);
    await mysqlExec("ALTER EVENT ev_cleanup ON SCHEDULE EVERY 2 DAY STARTS '2031-01-01 00:00:00'; CREATE EVENT ev_new ON SCHEDULE EVERY 1 HOUR STARTS '2030-01-01 00:00:00' DISABLE DO SELECT 1", prod);
    const changed = await snapshot(prod);

    const r1 = await restoreToNewDatabase(withEvents, target(prod), restoreDatabaseName(prod, '41'));
    expect(r1.load.filter.hasEventsSection).toBe(true);
    const s1 = await swapIn(target(prod), { restoreDb: r1.database, oldDb: oldDatabaseName(prod, '41'), events: r1.load.filter.hasEventsSection });
    expect(s1.kept).toEqual([]);
    expect(await snapshot(prod)).toEqual(backup);
    await swapBack(target(prod), { oldDb: oldDatabaseName(prod, '41') });
    expect(await snapshot(prod)).toEqual(changed);

    const r2 = await restoreToNewDatabase(plain, target(prod), restoreDatabaseName(prod, '42'));
    expect(r2.load.filter.hasEventsSection).toBe(false);
    const s2 = await swapIn(target(prod), { restoreDb: r2.database, oldDb: oldDatabaseName(prod, '42'), events: r2.load.filter.hasEventsSection });
    expect(s2.kept).toEqual(['event']);
    const now = await snapshot(prod);
    expect(now.tables).toEqual(backup.tables);
    expect(Object.keys(now.objects).filter((k) => k.startsWith('event'))).toEqual(['event ev_cleanup', 'event ev_new']);
    expect(now.objects['event ev_cleanup']).toEqual(changed.objects['event ev_cleanup']);
  });
});

describe('swapIn (partial)', () => {
  test('only the chosen tables (and their triggers) are swapped; the rest of production stays', async () => {
    const { prod, file, backup, changed } = await prepare('part');
    const restoreDb = restoreDatabaseName(prod, '21');
    const oldDb = oldDatabaseName(prod, '21');
    await restoreToNewDatabase(file, target(prod), restoreDb);
    const r = await swapIn(target(prod), { restoreDb, oldDb, tables: ['legacy', 'audit_log'] });
    expect(r.scope).toBe('partial');
    expect(r.tablesIn).toEqual(['audit_log', 'legacy']);
    expect(r.tablesOut).toEqual(['audit_log', 'legacy']);
    const now = await snapshot(prod);
    expect(now.tables.legacy).toEqual(backup.tables.legacy);
    expect(now.tables.customers).toEqual(changed.tables.customers);
    expect(now.tables.added_later).toEqual(changed.tables.added_later);
    expect(now.objects).toEqual(changed.objects);
    expect(await databasesLike(`${prod}__`)).toEqual([oldDb]);
    await swapBack(target(prod), { oldDb });
    expect(await snapshot(prod)).toEqual(changed);
    expect(await databasesLike(`${prod}__`)).toEqual([]);
  });

  test('a partial swap whose tables carry their triggers: orders with its trigger', async () => {
    const prod = `${PREFIX}_parttrg`;
    await seedShop(prod);
    await mysqlExec('ALTER TABLE orders DROP FOREIGN KEY fk_orders_customer', prod);
    const file = join(tmp.dir, 'parttrg.sql.gz');
    await dumpDatabase(prod, file);
    const backup = await snapshot(prod);
    await mysqlExec("DROP TRIGGER orders_ai; UPDATE orders SET total = 1", prod);
    const restoreDb = restoreDatabaseName(prod, '22');
    await restoreToNewDatabase(file, target(prod), restoreDb);
    await swapIn(target(prod), { restoreDb, oldDb: oldDatabaseName(prod, '22'), tables: ['orders'] });
    const now = await snapshot(prod);
    expect(now.tables.orders).toEqual(backup.tables.orders);
    expect(now.objects['trigger orders_ai']).toEqual(backup.objects['trigger orders_ai']);
  });

  test('refused when a foreign key crosses the chosen tables (orders → customers, only orders chosen)', async () => {
    const { prod, file, changed } = await prepare('partfk');
    const restoreDb = restoreDatabaseName(prod, '23');
    await restoreToNewDatabase(file, target(prod), restoreDb);
    const c1 = await checkSwap(target(prod), { restoreDb, tables: ['orders'] });
    expect(c1).toEqual({ ok: false, reason: expect.stringMatching(/foreign keys cross the chosen tables: .*__restore_23\.orders → .*__restore_23\.customers \(fk_orders_customer\)/) });
    const c2 = await checkSwap(target(prod), { restoreDb, tables: ['customers'] });
    expect(c2).toEqual({ ok: false, reason: expect.stringMatching(/\.orders → .*\.customers \(fk_orders_customer\)/) });
    await expect(swapIn(target(prod), { restoreDb, oldDb: oldDatabaseName(prod, '23'), tables: ['orders'] })).rejects.toThrow(/foreign keys cross/);
    expect(await checkSwap(target(prod), { restoreDb, tables: ['orders', 'customers'] })).toEqual({ ok: true });
    await expect(swapIn(target(prod), { restoreDb, oldDb: oldDatabaseName(prod, '23'), tables: ['nope'] })).rejects.toThrow(/nope are not in the backup/);
    expect(await snapshot(prod)).toEqual(changed);
  });
});

describe('dropOldDatabase', () => {
  test('drops <db>__old_<id> after keepOldFor; refuses production and databases that are not a swap\'s', async () => {
    const { prod, file } = await prepare('drop');
    const restoreDb = restoreDatabaseName(prod, '31');
    const oldDb = oldDatabaseName(prod, '31');
    await restoreToNewDatabase(file, target(prod), restoreDb);
    await swapIn(target(prod), { restoreDb, oldDb });
    await expect(dropOldDatabase(target(prod), prod)).rejects.toThrow(/refusing to drop the production database/);
    const stranger = `${PREFIX}_stranger`;
    await mysqlExec(`CREATE DATABASE \`${stranger}\`; CREATE TABLE \`${stranger}\`.t (i INT)`);
    await expect(dropOldDatabase(target(prod), stranger)).rejects.toThrow(new RegExp(`not a database kept aside by a swap restore \\(no ${SWAP_TABLE}\\)`));
    expect(await dropOldDatabase(target(prod), oldDb)).toEqual({ dropped: true, tables: 5 });
    expect(await dropOldDatabase(target(prod), oldDb)).toEqual({ dropped: false, tables: 0 });
    expect(await databasesLike(`${prod}__`)).toEqual([]);
  });
});
