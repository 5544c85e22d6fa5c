import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PG_ADMIN_URL } from '../../helpers/db.js';
import { parseDbUrl } from '../../../src/core/db-url.js';
import { checkPgDumpCompatible } from '../../../src/core/dump/versions.js';

/**
 * KNOWN-PITFALLS (PostgreSQL): a pg_dump older than the server refuses to run, late and unclearly; the bot refuses
 * first, before anything runs, saying which client tools to install. A pg_dump stand-in reports its version.
 */
let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'bbt-pgdump-version-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function fakePgDump(name: string, versionLine: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\necho '${versionLine}'\n`);
  chmodSync(p, 0o755);
  return p;
}

const target = () => parseDbUrl(PG_ADMIN_URL, 'postgres');

test('a pg_dump older than the server is refused, naming both versions and the client tools to install', async () => {
  const old = fakePgDump('pg_dump-9.6', 'pg_dump (PostgreSQL) 9.6.24');
  const real = await checkPgDumpCompatible(target());
  expect(real.tool.major).toBeGreaterThanOrEqual(real.server.major);
  await expect(checkPgDumpCompatible(target(), old)).rejects.toThrow(
    `pg_dump 9.6 is older than the PostgreSQL ${real.server.version} server of`);
  await expect(checkPgDumpCompatible(target(), old)).rejects.toThrow(`install the PostgreSQL ${real.server.major} client tools`);
});

test('a newer pg_dump is accepted; one whose version cannot be read, or that is missing, is refused saying so', async () => {
  const server = (await checkPgDumpCompatible(target())).server;
  const newer = fakePgDump('pg_dump-new', `pg_dump (PostgreSQL) ${server.major + 1}.0`);
  expect((await checkPgDumpCompatible(target(), newer)).tool).toEqual({ version: `${server.major + 1}.0`, major: server.major + 1 });
  await expect(checkPgDumpCompatible(target(), fakePgDump('pg_dump-mute', 'no version here'))).rejects.toThrow(/cannot read the version of .*pg_dump-mute: no version here/);
  await expect(checkPgDumpCompatible(target(), join(dir, 'absent'))).rejects.toThrow(/is not installed or not executable .*install the PostgreSQL client/);
});
