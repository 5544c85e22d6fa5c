import { mysqlConnArgs, mysqlEnv, type DbTarget } from '../db-url.js';
import { spawnDump, type DumpProcess } from './process.js';

export function mysqldumpArgs(t: DbTarget): string[] {
  return [
    ...mysqlConnArgs(t),
    '--single-transaction', '--routines', '--triggers', '--hex-blob', '--default-character-set=utf8mb4',
    // no CREATE DATABASE/USE: the dump restores into any (empty) database
    '--no-tablespaces',
    '--', t.database,
  ];
}

/** `mysqldump --single-transaction --routines --triggers …` streaming to stdout; the password only in MYSQL_PWD. */
export function spawnMysqldump(t: DbTarget, program = 'mysqldump'): DumpProcess {
  return spawnDump(program, mysqldumpArgs(t), mysqlEnv(t));
}
