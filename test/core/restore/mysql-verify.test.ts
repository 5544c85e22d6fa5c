import { join } from 'node:path';
import { mysqlRowCounts } from '../../../src/core/dump/row-counts.js';
import { oldDatabaseName, restoreDatabaseName } from '../../../src/core/restore/mysql-admin.js';
import { restoreToNewDatabase } from '../../../src/core/restore/mysql-load.js';
import { swapIn } from '../../../src/core/restore/mysql-swap.js';
import { checksumTables, compareChecksums, runChecks, verifyCopy, type DatabaseChecksums } from '../../../src/core/restore/mysql-verify.js';
import { mysqlExec } from '../../helpers/mariadb.js';
import { dropDatabasesLike, dumpDatabase, seedShop, target, tempDir, uniqueDb } from '../../helpers/mysql-restore.js';

const PREFIX = uniqueDb('bbmv');
const prod = `${PREFIX}_prod`;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let file: string;
let manifestCounts: Record<string, number>;

beforeAll(async () => {
  tmp = await tempDir();
  await seedShop(prod, 5);
  // As the backup does: row counts of verify.tables just before mysqldump, into the manifest.
  manifestCounts = (await mysqlRowCounts(target(prod), ['customers', 'orders', 'legacy'], 'mariadb')).counts;
  file = join(tmp.dir, 'b.sql.gz');
  await dumpDatabase(prod, file);
});
afterAll(async () => {
  await dropDatabasesLike(PREFIX);
  await tmp.cleanup();
});

describe('verifyCopy', () => {
  test('row counts of verify.tables equal the manifest; table count against the dump', async () => {
    const restoreDb = restoreDatabaseName(prod, '1');
    await restoreToNewDatabase(file, target(prod), restoreDb);
    const ok = await verifyCopy(target(prod), restoreDb, { tables: ['customers', 'orders', 'legacy'], expected: manifestCounts, dumpTables: 4 });
    expect(ok).toEqual({
      ok: true, tables: 4, problems: [],
      counts: [
        { table: 'customers', expected: 5, got: 5, ok: true },
        { table: 'orders', expected: 5, got: 5, ok: true },
        { table: 'legacy', expected: 5, got: 5, ok: true },
      ],
    });
    await mysqlExec('DELETE FROM orders WHERE id = 5', restoreDb);
    const bad = await verifyCopy(target(prod), restoreDb, { tables: ['orders', 'missing_one'], expected: manifestCounts, dumpTables: 6 });
    expect(bad.ok).toBe(false);
    expect(bad.problems).toEqual(['orders: 4 rows, the backup\'s manifest says 5', 'table missing_one is missing', '4 tables restored, the backup has 6 CREATE TABLE']);
    await mysqlExec(`DROP DATABASE \`${restoreDb}\``);
  });
});

describe('checksumTables / compareChecksums', () => {
  test('production after the swap has the checksums of the verified restored copy; a changed row differs', async () => {
    const restoreDb = restoreDatabaseName(prod, '2');
    await restoreToNewDatabase(file, target(prod), restoreDb);
    const reference = await checksumTables(target(prod), restoreDb);
    expect(Object.keys(reference.tables).sort()).toEqual(['audit_log', 'customers', 'legacy', 'orders']);
    expect(reference.tables.orders).toEqual({ checksum: expect.stringMatching(/^\d+$/), engine: 'InnoDB', rowFormat: 'Dynamic' });
    await mysqlExec('UPDATE orders SET total = total + 1 WHERE id = 2', prod); // production drifted after the backup
    expect(compareChecksums(reference, await checksumTables(target(prod), prod)).problems).toEqual([expect.stringMatching(/^orders: checksum \d+, expected \d+$/)]);

    await swapIn(target(prod), { restoreDb, oldDb: oldDatabaseName(prod, '2') });
    const after = await checksumTables(target(prod), prod);
    const cmp = compareChecksums(reference, after);
    expect(cmp.ok).toBe(true);
    expect(cmp.tables.map((x) => x.status)).toEqual(['match', 'match', 'match', 'match']);

    await mysqlExec('UPDATE customers SET name = \'x\' WHERE id = 1; CREATE TABLE extra (i INT)', prod);
    const drift = compareChecksums(reference, await checksumTables(target(prod), prod));
    expect(drift.ok).toBe(false);
    expect(drift.tables.filter((x) => x.status !== 'match')).toEqual([
      { table: 'customers', status: 'differs', reference: reference.tables.customers!.checksum, actual: expect.any(String) },
      { table: 'extra', status: 'extra', reference: null, actual: expect.any(String) },
    ]);
  });

  test('tables of another row format or another server version are not comparable (not a failure)', () => {
    const ref: DatabaseChecksums = { server: '10.11.6-MariaDB', database: 'a', at: '', tables: { t: { checksum: '1', engine: 'InnoDB', rowFormat: 'Dynamic' }, u: { checksum: '2', engine: 'InnoDB', rowFormat: 'Dynamic' } } };
    const other: DatabaseChecksums = { server: '10.11.19-MariaDB', database: 'b', at: '', tables: { t: { checksum: '9', engine: 'InnoDB', rowFormat: 'Compact' }, u: { checksum: '2', engine: 'InnoDB', rowFormat: 'Dynamic' } } };
    const r = compareChecksums(ref, other);
    expect(r.ok).toBe(true);
    expect(r.tables).toEqual([
      { table: 't', status: 'not-comparable', reference: '1', actual: '9', detail: 'InnoDB/Dynamic vs InnoDB/Compact' },
      { table: 'u', status: 'match', reference: '2', actual: '2' },
    ]);
    expect(compareChecksums(ref, { ...other, server: '11.4.2-MariaDB' }).tables.every((x) => x.status === 'not-comparable')).toBe(true);
    expect(compareChecksums(ref, { ...other, tables: {} }).problems).toEqual(['t is missing', 'u is missing']);
  });
});

describe('runChecks (verify.checks on production after the swap)', () => {
  test('true passes; false, no rows, an error and a write fail (read-only), each with what it returned', async () => {
    const r = await runChecks(target(prod), prod, [
      { name: 'has customers', sql: 'SELECT COUNT(*) > 0 FROM customers' },
      { name: 'string true', sql: "SELECT 'true'" },
      { name: 'no negative totals', sql: 'SELECT COUNT(*) = 99 FROM orders' },
      { name: 'no rows', sql: 'SELECT 1 FROM orders WHERE id < 0' },
      { name: 'bad sql', sql: 'SELECT nope FROM orders' },
      { name: 'writes', sql: 'DELETE FROM orders' },
    ]);
    expect(r.ok).toBe(false);
    expect(r.checks).toEqual([
      { name: 'has customers', ok: true, detail: 'true' },
      { name: 'string true', ok: true, detail: 'true' },
      { name: 'no negative totals', ok: false, detail: 'returned "0" (must return true)' },
      { name: 'no rows', ok: false, detail: 'returned no rows (must return true)' },
      { name: 'bad sql', ok: false, detail: expect.stringMatching(/Unknown column 'nope'/) },
      { name: 'writes', ok: false, detail: expect.stringMatching(/READ ONLY transaction/i) },
    ]);
    expect((await mysqlExec('SELECT COUNT(*) FROM orders', prod)).trim()).not.toBe('0');
    expect(await runChecks(target(prod), prod, [])).toEqual({ ok: true, checks: [] });
  });
});
