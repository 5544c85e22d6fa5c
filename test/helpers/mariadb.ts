import { randomBytes } from 'node:crypto';
import { runProgram } from '../../src/core/run-program.js';

export const MYSQL_HOST = '127.0.0.1';
export const MYSQL_PORT = 3306;

/** Runs SQL on the local MariaDB as root over TCP (no shell). */
export async function mysqlExec(sql: string, database?: string): Promise<string> {
  const args = [`--host=${MYSQL_HOST}`, `--port=${MYSQL_PORT}`, '--user=root', '--protocol=TCP', '--batch', '--skip-column-names', '-e', sql];
  if (database) args.push(database);
  const r = await runProgram('mariadb', args, { env: { ...process.env, MYSQL_PWD: '' } });
  if (r.code !== 0) throw new Error(`mariadb: ${r.stderr.trim()}`);
  return r.stdout;
}

export interface TestMysqlDatabase { name: string; url: string; drop(): Promise<void> }

export async function createTestMysqlDatabase(prefix = 'bbt'): Promise<TestMysqlDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await mysqlExec(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  return { name, url: `mysql://root@${MYSQL_HOST}:${MYSQL_PORT}/${name}`, drop: async () => { await mysqlExec(`DROP DATABASE IF EXISTS \`${name}\``); } };
}
