import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { parseDbUrl, type DbTarget } from '../../src/core/db-url.js';
import { mysqldumpArgs } from '../../src/core/dump/mysql.js';
import { withMysql, rows } from '../../src/core/restore/mysql-admin.js';
import { readObjects, withoutDefiner } from '../../src/core/restore/mysql-objects.js';
import { MYSQL_HOST, MYSQL_PORT, mysqlExec } from './mariadb.js';

/** Fixtures for the MySQL production-restore tests (real MariaDB on 127.0.0.1:3306, root). */

export function uniqueDb(prefix: string): string {
  return `${prefix}_${randomBytes(3).toString('hex')}`;
}

export function target(db: string, user = 'root', password?: string): DbTarget {
  return parseDbUrl(`mysql://${encodeURIComponent(user)}${password ? `:${encodeURIComponent(password)}` : ''}@${MYSQL_HOST}:${MYSQL_PORT}/${db}`, 'mysql');
}

export async function tempDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'bb-mysql-restore-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A real backup of `db` as backup-bot makes it (mysqldump with src/core/dump/mysql.ts's flags, gzip). */
export async function dumpDatabase(db: string, file: string, extra: string[] = []): Promise<void> {
  const args = mysqldumpArgs(target(db));
  const sep = args.indexOf('--');
  const child = spawn('mysqldump', [...args.slice(0, sep), ...extra, ...args.slice(sep)], { env: { ...process.env, MYSQL_PWD: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const done = new Promise<number | null>((res) => child.on('close', res));
  await pipeline(child.stdout, createGzip(), createWriteStream(file));
  const code = await done;
  if (code !== 0) throw new Error(`mysqldump failed: ${err}`);
}

/** mysqldump with raw arguments (e.g. `--databases x`), gzip, to a file. */
export async function dumpRaw(args: string[], file: string): Promise<void> {
  const child = spawn('mysqldump', [`--host=${MYSQL_HOST}`, `--port=${MYSQL_PORT}`, '--user=root', '--protocol=TCP', ...args], { env: { ...process.env, MYSQL_PWD: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const done = new Promise<number | null>((res) => child.on('close', res));
  await pipeline(child.stdout, createGzip(), createWriteStream(file));
  if ((await done) !== 0) throw new Error('mysqldump failed');
}

/** Drops every database whose name starts with `prefix`. */
export async function dropDatabasesLike(prefix: string): Promise<void> {
  const list = (await mysqlExec(`SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '${prefix.replace(/_/g, '\\_')}%'`)).split('\n').filter(Boolean);
  for (const d of list) await mysqlExec(`SET FOREIGN_KEY_CHECKS = 0; DROP DATABASE IF EXISTS \`${d}\``);
}

export async function databasesLike(prefix: string): Promise<string[]> {
  return (await mysqlExec(`SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '${prefix.replace(/_/g, '\\_')}%' ORDER BY 1`)).split('\n').filter(Boolean);
}

/** A production-like schema: FK parent/child, latin1 table, view on view, triggers, procedure, function. */
export async function seedShop(db: string, rowsPerTable = 3): Promise<void> {
  await mysqlExec(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await mysqlExec(`
    CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, updated_by VARCHAR(20) NULL) ENGINE=InnoDB;
    CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2) NOT NULL,
      CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers(id)) ENGINE=InnoDB;
    CREATE TABLE legacy (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_swedish_ci;
    CREATE TABLE audit_log (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(100)) ENGINE=InnoDB;
    CREATE VIEW big_orders AS SELECT o.id, c.name, o.total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.total > 10;
    CREATE VIEW big_order_names AS SELECT name FROM big_orders;
    CREATE TRIGGER customers_bi BEFORE INSERT ON customers FOR EACH ROW SET NEW.updated_by = 'trigger';
    CREATE TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit_log (what) VALUES (CONCAT('order ', NEW.id));
    CREATE PROCEDURE count_orders(OUT n INT) SELECT COUNT(*) INTO n FROM orders;
    CREATE FUNCTION order_total(oid INT) RETURNS DECIMAL(10,2) READS SQL DATA RETURN (SELECT total FROM orders WHERE id = oid);
    SET NAMES latin1 COLLATE latin1_spanish_ci;
    CREATE VIEW latin_view AS SELECT id, CONCAT(note, ' ñandú') AS w FROM legacy;
  `, db);
  for (let i = 1; i <= rowsPerTable; i++) {
    await mysqlExec(`INSERT INTO customers (id, name) VALUES (${i}, 'Cliente ñ ${i}'); INSERT INTO orders (id, customer_id, total) VALUES (${i}, ${i}, ${i * 7}.50); INSERT INTO legacy VALUES (${i}, 'café ${i}');`, db);
  }
}

export interface DbSnapshot {
  charset: string;
  tables: Record<string, { create: string; checksum: string | null }>;
  objects: Record<string, string>;
}

/** What a database is: its default charset, each table's CREATE TABLE and checksum, each object's definition (modulo definer). */
export async function snapshot(db: string): Promise<DbSnapshot> {
  const t = target(db);
  return withMysql(t, async (c) => {
    const cs = await rows<{ cs: string; co: string }>(c, 'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [db]);
    const names = await rows<{ n: string }>(c, "SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1", [db]);
    const tables: DbSnapshot['tables'] = {};
    await c.query(`USE \`${db}\``);
    for (const { n } of names) {
      const create = (await rows<Record<string, string>>(c, `SHOW CREATE TABLE \`${n}\``))[0]!['Create Table']!;
      const sum = (await rows<{ Checksum: string | null }>(c, `CHECKSUM TABLE \`${n}\` EXTENDED`))[0]!.Checksum;
      tables[n] = { create: create.replace(/ AUTO_INCREMENT=\d+/, ''), checksum: sum === null ? null : String(sum) };
    }
    const objects: Record<string, string> = {};
    for (const o of await readObjects(t, db, ['procedure', 'function', 'view', 'trigger', 'event'])) {
      objects[`${o.kind} ${o.name}`] = `${withoutDefiner(o.create)} | ${o.characterSetClient} ${o.collationConnection} ${o.sqlMode ?? ''} ${o.timeZone ?? ''}`;
    }
    return { charset: `${cs[0]?.cs}/${cs[0]?.co}`, tables, objects };
  });
}
