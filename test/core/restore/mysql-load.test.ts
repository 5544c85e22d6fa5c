/** @needs slow */
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { loadMysqlDump, replaceDatabase, restoreToNewDatabase } from '../../../src/core/restore/mysql-load.js';
import { restoreDatabaseName, withMysql, rows } from '../../../src/core/restore/mysql-admin.js';
import { mysqlExec } from '../../helpers/mariadb.js';
import { databasesLike, dropDatabasesLike, dumpDatabase, dumpRaw, seedShop, snapshot, target, tempDir, uniqueDb } from '../../helpers/mysql-restore.js';

const PREFIX = uniqueDb('bbml');
let tmp: Awaited<ReturnType<typeof tempDir>>;
const prod = `${PREFIX}_prod`;
let dumpFile: string;

beforeAll(async () => {
  tmp = await tempDir();
  await seedShop(prod);
  dumpFile = join(tmp.dir, 'backup.sql.gz');
  await dumpDatabase(prod, dumpFile);
});

afterAll(async () => {
  await dropDatabasesLike(PREFIX);
  await tmp.cleanup();
});

describe('restoreToNewDatabase', () => {
  test('loads the backup into <db>__restore_<id> with production\'s character set and collation; production untouched', async () => {
    const before = await snapshot(prod);
    const restoreDb = restoreDatabaseName(prod, '1');
    const r = await restoreToNewDatabase(dumpFile, target(prod), restoreDb);
    expect(r.database).toBe(`${prod}__restore_1`);
    expect(r.props).toEqual({ charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' });
    expect(r.tables).toBe(4);
    expect(r.load.filter.hasRoutinesSection).toBe(true);
    expect(r.load.filter.hasEventsSection).toBe(true); // backup-bot's dumps have --events
    const copy = await snapshot(restoreDb);
    expect(copy.charset).toBe('utf8mb4/utf8mb4_unicode_ci');
    expect(copy.tables).toEqual(before.tables);
    expect(copy.tables.legacy!.create).toMatch(/CHARSET=latin1 COLLATE=latin1_swedish_ci/);
    expect(copy.objects).toEqual(before.objects);
    expect(await snapshot(prod)).toEqual(before);
    await mysqlExec(`DROP DATABASE \`${restoreDb}\``);
  });

  test('a dump with CREATE DATABASE / DROP DATABASE / USE prod (mysqldump --databases --add-drop-database) cannot write into production', async () => {
    const file = join(tmp.dir, 'databases.sql.gz');
    await dumpRaw(['--single-transaction', '--routines', '--triggers', '--add-drop-database', '--databases', prod], file);
    const text = gunzipSync(await readFile(file)).toString('utf8');
    expect(text).toMatch(/DROP DATABASE IF EXISTS `/);
    expect(text).toMatch(/^USE `/m);
    // Make production differ from the dump, so that a load into production would show.
    await mysqlExec('INSERT INTO customers (id, name) VALUES (100, \'after the backup\'); CREATE TABLE only_in_prod (i INT)', prod);
    const before = await snapshot(prod);
    const restoreDb = restoreDatabaseName(prod, '2');
    const r = await restoreToNewDatabase(file, target(prod), restoreDb);
    expect(r.load.filter.databasesNamed).toEqual([prod]);
    expect(r.load.filter.droppedLines).toBeGreaterThanOrEqual(3);
    expect(await snapshot(prod)).toEqual(before);
    const n = await mysqlExec('SELECT COUNT(*) FROM customers', restoreDb);
    expect(n.trim()).toBe('3');
    await mysqlExec(`DROP DATABASE \`${restoreDb}\`; DELETE FROM \`${prod}\`.customers WHERE id = 100; DROP TABLE \`${prod}\`.only_in_prod`);
  });

  test('a trigger created with a qualified name (CREATE TRIGGER prod.t … ON prod.x) is created in the restore database, not in production', async () => {
    const src = `${PREFIX}_qual`;
    await mysqlExec(`CREATE DATABASE \`${src}\`; CREATE TABLE \`${src}\`.x (i INT); CREATE TRIGGER \`${src}\`.x_bi BEFORE INSERT ON \`${src}\`.x FOR EACH ROW SET NEW.i = NEW.i + 1`);
    const file = join(tmp.dir, 'qual.sql.gz');
    await dumpDatabase(src, file);
    expect(gunzipSync(await readFile(file)).toString()).toContain(`TRIGGER \`${src}\`.x_bi`);
    await mysqlExec(`DROP TRIGGER \`${src}\`.x_bi`); // production without the trigger: a load into it would recreate it
    const restoreDb = restoreDatabaseName(src, '3');
    const r = await restoreToNewDatabase(file, target(src), restoreDb);
    expect(r.load.filter.triggersUnqualified).toBe(1);
    expect((await mysqlExec(`SELECT TRIGGER_SCHEMA FROM information_schema.TRIGGERS WHERE TRIGGER_NAME = 'x_bi'`)).trim()).toBe(restoreDb);
  });

  test('a dump that names another database\'s table is refused before it writes there; nothing left', async () => {
    const file = join(tmp.dir, 'qualified-insert.sql.gz');
    const sql = `CREATE TABLE t (i INT);\nINSERT INTO \`${prod}\`.\`customers\` (id, name) VALUES (555, 'x');\n-- Dump completed on 2026-01-01\n`;
    await writeFile(file, gzipSync(sql));
    const before = await snapshot(prod);
    await expect(restoreToNewDatabase(file, target(prod), restoreDatabaseName(prod, '4'))).rejects.toThrow(/addresses a table in database .* by a qualified name.*production .* was not touched; .* was dropped/);
    expect(await snapshot(prod)).toEqual(before);
    expect(await databasesLike(`${prod}__restore_`)).toEqual([]);
  });

  test('a truncated backup (gzip cut in the middle) fails; production untouched; no __restore_ database left', async () => {
    const whole = await readFile(dumpFile);
    const file = join(tmp.dir, 'truncated.sql.gz');
    await writeFile(file, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const before = await snapshot(prod);
    await expect(restoreToNewDatabase(file, target(prod), restoreDatabaseName(prod, '5'))).rejects.toThrow(/gzip error: .*truncated or damaged.*was dropped/);
    expect(await snapshot(prod)).toEqual(before);
    expect(await databasesLike(`${prod}__restore_`)).toEqual([]);
  });

  test('a backup cut at a statement boundary (valid gzip, no "-- Dump completed") fails; nothing left', async () => {
    const text = gunzipSync(await readFile(dumpFile)).toString('utf8');
    const cut = text.slice(0, text.indexOf('-- Dumping data for table `orders`'));
    const file = join(tmp.dir, 'cut.sql.gz');
    await writeFile(file, gzipSync(cut));
    await expect(restoreToNewDatabase(file, target(prod), restoreDatabaseName(prod, '6'))).rejects.toThrow(/no "-- Dump completed" trailer.*truncated/);
    expect(await databasesLike(`${prod}__restore_`)).toEqual([]);
  });

  test('a corrupted backup (SQL damaged in the middle) fails with the server\'s error; nothing left', async () => {
    const text = gunzipSync(await readFile(dumpFile)).toString('utf8');
    const i = text.indexOf('INSERT INTO `orders`');
    const file = join(tmp.dir, 'corrupt.sql.gz');
    await writeFile(file, gzipSync(text.slice(0, i + 25) + '\u0000garbage((' + text.slice(i + 40)));
    const before = await snapshot(prod);
    await expect(restoreToNewDatabase(file, target(prod), restoreDatabaseName(prod, '7'))).rejects.toThrow(/loading the backup into .* failed \(exit code 1\): .*ERROR/);
    expect(await snapshot(prod)).toEqual(before);
    expect(await databasesLike(`${prod}__restore_`)).toEqual([]);
  });

  test('the loading connection killed mid-load (server gone for it): fails, production untouched, cleanup done', async () => {
    // A large dump: 300 000 rows in many INSERT statements, so the load lasts long enough to be killed.
    const file = join(tmp.dir, 'large.sql.gz');
    const out = createWriteStream(file);
    const { createGzip } = await import('node:zlib');
    const gz = createGzip({ level: 1 });
    gz.pipe(out);
    gz.write('CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(200));\n');
    for (let s = 0; s < 600; s++) {
      const vals: string[] = [];
      for (let i = 0; i < 500; i++) vals.push(`(${s * 500 + i},'${'x'.repeat(150)}')`);
      gz.write(`INSERT INTO big VALUES ${vals.join(',')};\n`);
    }
    gz.end('-- Dump completed on 2026-01-01\n');
    await new Promise<void>((r) => out.on('close', () => r()));
    const restoreDb = restoreDatabaseName(prod, '8');
    const before = await snapshot(prod);
    const killer = (async () => {
      for (let i = 0; i < 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const ids = await withMysql(target(prod), (c) => rows<{ id: string }>(c, 'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND = \'Query\'', [restoreDb]));
        if (ids.length) {
          await mysqlExec(`KILL CONNECTION ${ids[0]!.id}`);
          return true;
        }
      }
      return false;
    })();
    const err = await restoreToNewDatabase(file, target(prod), restoreDb).then(() => null, (e: Error) => e);
    // Killed during a statement: 2013 lost connection; between two: 2006 gone away / 1927 connection was killed.
    expect(err?.message).toMatch(/loading the backup into .* failed \(exit code 1\): ERROR (2013|2006|1927) \([0-9A-Z]+\) at line \d+: (Lost connection|.*gone away|Connection was killed).*; production .* was not touched; .* was dropped/);
    expect(err?.message).not.toMatch(/xxxxxxxx/); // the client echoes the failing statement: row data never reaches the message
    expect(await killer).toBe(true);
    expect(await snapshot(prod)).toEqual(before);
    expect(await databasesLike(`${prod}__restore_`)).toEqual([]);
  });
});

describe('loadMysqlDump', () => {
  test('refuses a dump that holds two databases (mysqldump --all-databases style)', async () => {
    const db = `${PREFIX}_two`;
    await mysqlExec(`CREATE DATABASE \`${db}\``);
    const file = join(tmp.dir, 'two.sql.gz');
    await writeFile(file, gzipSync('CREATE DATABASE a;\nUSE `a`;\nCREATE TABLE x (i INT);\nUSE `b`;\nCREATE TABLE y (i INT);\n-- Dump completed\n'));
    await expect(loadMysqlDump(file, target(db), db)).rejects.toThrow(/more than one database \(a, b\)/);
  });

  test('client shell/file commands in a dump (\\! / system / source) are not run', async () => {
    const db = `${PREFIX}_sandbox`;
    await mysqlExec(`CREATE DATABASE \`${db}\``);
    const marker = join(tmp.dir, 'pwned');
    for (const cmd of [`\\! touch ${marker}`, `system touch ${marker}`, `\\. /etc/hostname`]) {
      const file = join(tmp.dir, 'shell.sql.gz');
      await writeFile(file, gzipSync(`CREATE TABLE IF NOT EXISTS t (i INT);\n${cmd}\n-- Dump completed\n`));
      await expect(loadMysqlDump(file, target(db), db)).rejects.toThrow(/failed \(exit code 1\)/);
      await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
    }
  });

  test('loads an uncompressed .sql too', async () => {
    const db = `${PREFIX}_plain`;
    await mysqlExec(`CREATE DATABASE \`${db}\``);
    const file = join(tmp.dir, 'plain.sql');
    await writeFile(file, gunzipSync(await readFile(dumpFile)));
    const r = await loadMysqlDump(file, target(db), db);
    expect(r.sqlBytes).toBe(r.bytes);
    expect((await mysqlExec('SELECT COUNT(*) FROM orders', db)).trim()).toBe('3');
  });
});

describe('replaceDatabase (strategy replace)', () => {
  test('drops production, creates it with the same character set and collation, loads the backup', async () => {
    const db = `${PREFIX}_repl`;
    await seedShop(db);
    const file = join(tmp.dir, 'repl.sql.gz');
    await dumpDatabase(db, file);
    const before = await snapshot(db);
    await mysqlExec('DELETE FROM orders WHERE id = 3; CREATE TABLE later (i INT); DROP VIEW big_order_names', db);
    let dropped = false;
    const r = await replaceDatabase(file, target(db), { onDropped: () => { dropped = true; } });
    expect(dropped).toBe(true);
    expect(r.props).toEqual({ charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' });
    expect(await snapshot(db)).toEqual(before);
  });

  test('a table locked by another session: DROP DATABASE waits lockWaitTimeout and fails before dropping anything', async () => {
    const db = `${PREFIX}_repllock`;
    await seedShop(db);
    const file = join(tmp.dir, 'repllock.sql.gz');
    await dumpDatabase(db, file);
    await mysqlExec('DELETE FROM orders WHERE id = 3', db);
    const before = await snapshot(db);
    const { default: mysql } = await import('mysql2/promise');
    const holder = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: db });
    let dropped = false;
    try {
      await holder.query('START TRANSACTION');
      await holder.query('SELECT COUNT(*) FROM orders');
      await expect(replaceDatabase(file, target(db), { lockWaitTimeout: 1, onDropped: () => { dropped = true; } })).rejects.toThrow(/dropping .* failed, production is as it was: Lock wait timeout exceeded/);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
    expect(dropped).toBe(false);
    expect(await snapshot(db)).toEqual(before);
  });
});
