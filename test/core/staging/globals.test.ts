/**
 * Globals applied first in the staging restore test (issue 18 item 5), against the real PostgreSQL and the
 * postgres:15 staging image: roles with a membership and an owned, granted table are created in the source,
 * the globals are backed up with dumpGlobals, loaded into a staging container with applyGlobalsInStaging,
 * and the database dump restored after them keeps its owners and grants. The staging superuser keeps its
 * own attributes and password; roles the image already has do not fail the load; other errors do.
 */
import { Readable } from 'node:stream';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import Docker from 'dockerode';
import pg from 'pg';
import { createTestDatabase, PG_ADMIN_URL, withPg, type TestDatabase } from '../../helpers/db.js';
import { createStaging, destroyStaging, waitReady, type Staging } from '../../../src/core/staging/container.js';
import { execIn } from '../../../src/core/staging/exec.js';
import { applyGlobalsInStaging } from '../../../src/core/staging/globals.js';
import { restoreIntoStaging } from '../../../src/core/staging/restore.js';
import { dumpGlobals } from '../../../src/core/dump/globals.js';
import { LocalStorage } from '../../../src/core/storage/local.js';
import { runProgram } from '../../../src/core/run-program.js';

const docker = new Docker();
const id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const R = { owner: `bbgs_${id}_owner`, reader: `bbgs_${id}_reader`, team: `bbgs_${id}_team` };
const I = (s: string) => pg.escapeIdentifier(s);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let s: Staging;
let src: TestDatabase;
const tempDirs: string[] = [];

async function sql(q: string): Promise<string> {
  const r = await execIn(s.container, ['psql', '-X', '-At', '-U', s.user, '-d', s.database, '-c', q]);
  expect(r.exitCode).toBe(0);
  return r.stdout.trim();
}

/** The globals of the source server, stored the way the backup stores them. */
async function backupGlobals(withPasswords: boolean): Promise<{ file: Buffer; sha256: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'bbgs-'));
  tempDirs.push(dir);
  const storage = new LocalStorage('local', { type: 'local', path: dir, prefix: '' });
  const key = 'demo/backup_2026-01-06_03-00-00_globals.sql.gz';
  const r = await dumpGlobals({ engine: 'postgres', url: PG_ADMIN_URL, format: 'plain', globals: true, globalsWithPasswords: withPasswords }, { key, destinations: [{ name: 'local', storage, primary: true }], gzipLevel: 6 });
  expect(r.ok).toBe(true);
  return { file: readFileSync(join(storage.root, key)), sha256: r.sha256 };
}
const source = (file: Buffer, sha256 = sha(file), what = 'backup_2026-01-06_03-00-00_globals.sql.gz') =>
  ({ open: async () => Readable.from([file]), what, expected: { sha256, sizeBytes: file.length } });

/** The staging superuser still logs in with its password over TCP (inside the container: staging has no network). */
async function tcpLogin(): Promise<string> {
  const r = await execIn(s.container, ['psql', '-h', '127.0.0.1', '-p', String(s.innerPort), '-U', s.user, '-d', s.database, '-XAtc', 'SELECT current_user'], { env: [`PGPASSWORD=${s.password}`] });
  if (r.exitCode !== 0) throw new Error(`login failed: ${r.stderr}`);
  return r.stdout.trim();
}

beforeAll(async () => {
  await withPg(PG_ADMIN_URL, async (c) => {
    await c.query(`CREATE ROLE ${I(R.team)} NOLOGIN`);
    await c.query(`CREATE ROLE ${I(R.owner)} LOGIN PASSWORD 'owner-pw' CREATEDB`);
    await c.query(`CREATE ROLE ${I(R.reader)} LOGIN PASSWORD 'reader-pw'`);
    await c.query(`GRANT ${I(R.team)} TO ${I(R.reader)}`);
  });
  src = await createTestDatabase('bbgs_src');
  await withPg(src.url, async (c) => {
    await c.query(`CREATE TABLE lotes (id int PRIMARY KEY, nota text); INSERT INTO lotes SELECT g, 'lote ' || g FROM generate_series(1, 20) g;`);
    await c.query(`ALTER TABLE lotes OWNER TO ${I(R.owner)}; GRANT SELECT ON lotes TO ${I(R.team)};`);
  });
  s = await createStaging(docker, { engine: 'postgres', image: 'postgres:15', runId: `g${id}`, client: 'globals', memoryMb: 512, cpus: 1 });
  await waitReady(s, { timeoutMs: 90_000 });
});

afterAll(async () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  if (s) await destroyStaging(s);
  await src?.drop();
  await withPg(PG_ADMIN_URL, async (c) => { for (const r of [R.reader, R.owner, R.team]) await c.query(`DROP ROLE IF EXISTS ${I(r)}`).catch(() => {}); });
});

test('the globals, applied first, create the roles and memberships; the dump restored after them keeps its owner and grants', async () => {
  const g = await backupGlobals(false);
  const r = await applyGlobalsInStaging(s, source(g.file, g.sha256));
  // (Other tests on the shared server may add roles or a tablespace to these globals meanwhile: not asserted.)
  expect(r).toMatchObject({ bytes: g.file.length, sha256: g.sha256, tolerated: [] });
  expect(r.roles).toBeGreaterThanOrEqual(3);
  expect(r.skipped).toEqual([
    "CREATE ROLE postgres (the staging server's superuser exists already)",
    "ALTER ROLE postgres (production's attributes, settings and password are not given to the staging server's superuser)",
  ]);
  expect(await sql(`SELECT rolname || ' ' || rolcanlogin || ' ' || rolcreatedb || ' ' || (rolpassword IS NULL) FROM pg_authid WHERE rolname LIKE 'bbgs\\_${id}\\_%' ORDER BY 1`))
    .toBe([`${R.owner} true true true`, `${R.reader} true false true`, `${R.team} false false true`].join('\n'));
  expect(await sql(`SELECT pg_has_role('${R.reader}', '${R.team}', 'MEMBER')`)).toBe('t');

  const dump = await runProgram('pg_dump', ['--dbname', src.url]);
  expect(dump.code).toBe(0);
  const gz = gzipSync(Buffer.from(dump.stdout));
  const restored = await restoreIntoStaging(s, { open: async () => Readable.from([gz]), what: 'x.sql.gz', format: 'plain', gzip: true, expected: { sha256: sha(gz), sizeBytes: gz.length } });
  expect(restored.warnings).toEqual([]); // no "role … does not exist" left to tolerate
  expect(await sql(`SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'lotes'`)).toBe(R.owner);
  expect(await sql(`SELECT has_table_privilege('${R.reader}', 'lotes', 'SELECT')`)).toBe('t');
  expect(await tcpLogin()).toBe('postgres');
});

test('with globalsWithPasswords the roles get their password hashes; the staging superuser keeps its own password', async () => {
  const g = await backupGlobals(true);
  await sql(`DROP ROLE IF EXISTS ${I(R.reader)}`);
  const r = await applyGlobalsInStaging(s, source(g.file, g.sha256));
  // The roles created by the first test exist already: tolerated, reported, and their attributes set again.
  expect(r.tolerated).toEqual(expect.arrayContaining([`ERROR:  role "${R.owner}" already exists`, `ERROR:  role "${R.team}" already exists`]));
  expect(r.tolerated.join('\n')).not.toContain(R.reader);
  expect(await sql(`SELECT rolname || ' ' || (rolpassword LIKE 'SCRAM-SHA-256$%' OR rolpassword LIKE 'md5%') FROM pg_authid WHERE rolname IN ('${R.owner}', '${R.reader}') ORDER BY 1`))
    .toBe(`${R.owner} true\n${R.reader} true`);
  expect(await tcpLogin()).toBe('postgres');
  // A password hash never reaches the container log, even from a statement that failed.
  const logs = (await s.container.logs({ stdout: true, stderr: true, follow: false })).toString();
  expect(logs).not.toMatch(/SCRAM-SHA-256\$|PASSWORD '/);
});

test('production attributes and a password for the staging superuser are left out; a tablespace gets its directory', async () => {
  const text = [
    'SET default_transaction_read_only = off;',
    'CREATE ROLE postgres;',
    "ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'md5aaaabbbbccccddddeeeeffff00001111';",
    'ALTER ROLE postgres SET statement_timeout TO \'1ms\';',
    `CREATE ROLE ${I(`bbgs_${id}_ts owner`)};`,
    `ALTER ROLE ${I(`bbgs_${id}_ts owner`)} WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;`,
    `CREATE TABLESPACE bbgs_fast OWNER ${I(`bbgs_${id}_ts owner`)} LOCATION '/srv/pg data/fast';`,
    '',
    '--',
    '-- PostgreSQL database cluster dump complete',
    '--',
  ].join('\n');
  const file = gzipSync(Buffer.from(text));
  const r = await applyGlobalsInStaging(s, source(file));
  expect(r).toMatchObject({ roles: 1, tolerated: [], tablespaceDirs: ['/srv/pg data/fast'] });
  expect(r.skipped).toHaveLength(2);
  expect(await sql(`SELECT spcname || ' ' || pg_get_userbyid(spcowner) || ' ' || pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'bbgs_fast'`))
    .toBe(`bbgs_fast bbgs_${id}_ts owner /srv/pg data/fast`);
  expect(await sql(`SELECT coalesce((SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting WHERE setrole = 'postgres'::regrole), 'none')`)).toBe('none');
  expect(await tcpLogin()).toBe('postgres');
  await sql('DROP TABLESPACE bbgs_fast');
});

test('a statement that fails on a fresh server fails the load with the error; a changed file is refused before anything is sent', async () => {
  const bad = gzipSync(Buffer.from(`CREATE ROLE bbgs_${id}_x;\nALTER ROLE bbgs_${id}_x WITH NOSUCHOPTION;\n`));
  await expect(applyGlobalsInStaging(s, source(bad))).rejects.toThrow(/^loading the globals \(backup_2026-01-06_03-00-00_globals\.sql\.gz\) reported 1 error\(s\): ERROR: {2}unrecognized role option "nosuchoption"/);
  const fresh = gzipSync(Buffer.from(`CREATE ROLE bbgs_${id}_y;\n`));
  await expect(applyGlobalsInStaging(s, source(fresh, 'b'.repeat(64)))).rejects.toThrow(/^sha256 mismatch: backup_2026-01-06_03-00-00_globals\.sql\.gz is corrupted/);
  expect(await sql(`SELECT count(*) FROM pg_roles WHERE rolname = 'bbgs_${id}_y'`)).toBe('0');
  await expect(applyGlobalsInStaging(s, source(fresh.subarray(0, fresh.length - 6)))).rejects.toThrow(/^gzip error in backup_2026-01-06_03-00-00_globals\.sql\.gz: .*unexpected end of file/);
});
