import { Readable } from 'node:stream';
import { DumpFilter, unqualifyTrigger } from '../../../src/core/restore/mysql-dump-filter.js';

/** Feeds `text` in chunks of `size` bytes (lines split across chunks) and returns the output. */
async function run(text: string, size = 7): Promise<{ out: string; f: DumpFilter }> {
  const buf = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) chunks.push(buf.subarray(i, i + size));
  const f = new DumpFilter();
  const parts: Buffer[] = [];
  f.on('data', (c: Buffer) => parts.push(c));
  await new Promise<void>((resolve, reject) => {
    f.on('end', resolve);
    f.on('error', reject);
    Readable.from(chunks).pipe(f);
  });
  return { out: Buffer.concat(parts).toString(), f };
}

test('drops CREATE/DROP DATABASE and USE lines, records the database, keeps everything else byte for byte', async () => {
  const dump = [
    '-- MariaDB dump',
    '/*!40000 DROP DATABASE IF EXISTS `shop`*/;',
    'CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;',
    'USE `shop`;',
    'CREATE TABLE `t` (`i` int);',
    "INSERT INTO `t` VALUES (1),(2);",
    "INSERT INTO `t` VALUES ('USE `shop`; -- not a statement');",
    '-- Dump completed on 2026-01-01',
    '',
  ].join('\n');
  for (const size of [1, 7, 4096]) {
    const { out, f } = await run(dump, size);
    expect(out).toBe(['-- MariaDB dump', 'CREATE TABLE `t` (`i` int);', "INSERT INTO `t` VALUES (1),(2);", "INSERT INTO `t` VALUES ('USE `shop`; -- not a statement');", '-- Dump completed on 2026-01-01', ''].join('\n'));
    expect(f.info.databasesNamed).toEqual(['shop']);
    expect(f.info.droppedLines).toBe(3);
    expect(f.tailText()).toMatch(/-- Dump completed/);
  }
});

test('a long row line passes untouched (decided on its first bytes)', async () => {
  const row = `INSERT INTO \`t\` VALUES ${Array.from({ length: 5000 }, (_, i) => `(${i},'USE x')`).join(',')};\n`;
  const { out } = await run(`${row}USE \`a\`;\n${row}`, 1000);
  expect(out).toBe(row + row);
});

test('refuses statements that address another database, and a dump with two databases', async () => {
  await expect(run('INSERT INTO `prod`.`t` VALUES (1);\n')).rejects.toThrow(/addresses a table in database "prod"/);
  await expect(run('/*!40000 ALTER TABLE `prod`.`t` DISABLE KEYS */;\n')).rejects.toThrow(/database "prod"/);
  await expect(run('LOCK TABLES prod.t WRITE;\n')).rejects.toThrow(/database "prod"/);
  await expect(run('USE a;\nCREATE TABLE x (i int);\nUSE `b`;\n')).rejects.toThrow(/more than one database \(a, b\)/);
  // A dotted name inside a value or a column list is not a statement head.
  await expect(run("INSERT INTO `t` VALUES ('prod.t');\n")).resolves.toBeDefined();
});

test('inside DELIMITER blocks: a trigger\'s qualified name and table become unqualified; routine bodies are untouched', async () => {
  const dump = [
    'DELIMITER ;;',
    '/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER `shop`.`t_bi` BEFORE INSERT ON `shop`.`t` FOR EACH ROW',
    'INSERT INTO other.audit VALUES (NEW.i) */;;',
    'CREATE DEFINER=`root`@`%` PROCEDURE `p`()',
    'BEGIN',
    '  INSERT INTO other.audit VALUES (1);',
    'END ;;',
    'DELIMITER ;',
    'CREATE TABLE `u` (`i` int);',
    '',
  ].join('\n');
  const { out, f } = await run(dump, 5);
  expect(out).toContain('TRIGGER `t_bi` BEFORE INSERT ON `t` FOR EACH ROW\nINSERT INTO other.audit VALUES (NEW.i) */;;');
  expect(out).toContain('CREATE DEFINER=`root`@`%` PROCEDURE `p`()\nBEGIN\n  INSERT INTO other.audit VALUES (1);\nEND ;;\nDELIMITER ;\nCREATE TABLE `u`');
  expect(f.info.triggersUnqualified).toBe(1);
});

test('unqualifyTrigger handles bare, quoted and IF NOT EXISTS forms, and leaves other text alone', () => {
  expect(unqualifyTrigger('CREATE DEFINER=`a`@`%` TRIGGER shop.tr AFTER UPDATE ON shop.t FOR EACH ROW SET @x = 1'))
    .toBe('CREATE DEFINER=`a`@`%` TRIGGER `tr` AFTER UPDATE ON `t` FOR EACH ROW SET @x = 1');
  expect(unqualifyTrigger('CREATE TRIGGER IF NOT EXISTS `s``x`.`tr` BEFORE DELETE ON `t` FOR EACH ROW FOLLOWS other SET @x = 1'))
    .toBe('CREATE TRIGGER IF NOT EXISTS `tr` BEFORE DELETE ON `t` FOR EACH ROW FOLLOWS other SET @x = 1');
  expect(unqualifyTrigger('CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x = 1')).toBe('CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x = 1');
  expect(unqualifyTrigger('SELECT 1')).toBe('SELECT 1');
});

test('notes the events and routines sections (mysqldump --events / --routines)', async () => {
  const { f } = await run("--\n-- Dumping routines for database 'shop'\n--\n");
  expect(f.info.hasRoutinesSection).toBe(true);
  expect(f.info.hasEventsSection).toBe(false);
});
