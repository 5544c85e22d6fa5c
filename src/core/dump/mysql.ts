import { mysqlConnArgs, mysqlEnv, type DbTarget } from '../db-url.js';
import { spawnDump, type DumpProcess } from './process.js';

/**
 * Routines, triggers and events are in the dump (a production restore recreates them exactly as they were;
 * --events needs the EVENT privilege on the database).
 */
export function mysqldumpArgs(t: DbTarget): string[] {
  return [
    ...mysqlConnArgs(t),
    '--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--default-character-set=utf8mb4',
    // no CREATE DATABASE/USE: the dump restores into any (empty) database
    '--no-tablespaces',
    '--', t.database,
  ];
}

/** `mysqldump --single-transaction --routines --triggers --events …` streaming to stdout; the password only in MYSQL_PWD. */
export function spawnMysqldump(t: DbTarget, program = 'mysqldump'): DumpProcess {
  return spawnDump(program, mysqldumpArgs(t), mysqlEnv(t));
}
