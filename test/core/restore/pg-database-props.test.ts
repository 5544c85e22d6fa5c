/**
 * Production keeps its settings (issue 15 item 4), against the real PostgreSQL: a database with a non-default
 * owner, CONNECT revoked from PUBLIC and granted to a role, `ALTER DATABASE … SET`, a per-role setting, a
 * comment, CONNECTION LIMIT 7 and default privileges is captured, restored the way the runbook does it (swap:
 * createDatabaseLike + load + apply + rename; replace: drop + createDatabase + load + apply), and compared.
 * Roles, databases and the tablespace are unique to this run and removed at the end.
 *
 * @needs slow
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PG_ADMIN_URL, withPg } from '../../helpers/db.js';
import { parseDbUrl, type DbTarget } from '../../../src/core/db-url.js';
import { loadBackupInto } from '../../../src/core/restore/load-backup.js';
import { countRows, createDatabase, createDatabaseLike, databaseProps, dropDatabase, renameDatabases, withAdmin } from '../../../src/core/restore/pg-admin.js';
import {
  applyDatabaseSettings, captureDatabaseSettings, compareDatabaseSettings, settingValueSql, splitGucList, type DatabaseSettings,
} from '../../../src/core/restore/pg-database-props.js';

const id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const R = { owner: `bbp_${id}_owner`, app: `bbp_${id}_app`, reader: `bbp_${id}_reader`, outsider: `bbp_${id}_outsider`, gone: `bbp_${id}_gone` };
const T: DbTarget = parseDbUrl(PG_ADMIN_URL, 'postgres');
const at = (db: string): DbTarget => ({ ...T, database: db });
const urlOf = (db: string, user = T.user) => { const u = new URL(PG_ADMIN_URL); u.pathname = `/${db}`; u.username = user; return u.toString(); };
const created: string[] = [];
const I = (s: string) => pg.escapeIdentifier(s);
const COMMENT = `Producción: it's "prod" \\ ñandú`;
let dir: string;
let tablespace: string;
let tablespaceDir: string | undefined;

const admin = <X>(fn: (c: pg.Client) => Promise<X>) => withAdmin(T, fn);

/** A production database with every property of the issue, and data in schema app. */
async function makeProd(name: string, opts: { create?: string } = {}): Promise<string> {
  const db = `bbp_${id}_${name}`;
  created.push(db);
  await admin(async (c) => {
    await c.query(`CREATE DATABASE ${I(db)} OWNER ${I(R.owner)} CONNECTION LIMIT 7 ${opts.create ?? ''}`);
    await c.query(`REVOKE CONNECT ON DATABASE ${I(db)} FROM PUBLIC`);
    await c.query(`GRANT CONNECT ON DATABASE ${I(db)} TO ${I(R.app)}`);
    await c.query(`GRANT CREATE ON DATABASE ${I(db)} TO ${I(R.reader)} WITH GRANT OPTION`);
    await c.query(`ALTER DATABASE ${I(db)} SET statement_timeout = '5s'`);
    await c.query(`ALTER DATABASE ${I(db)} SET search_path = app, "$user", public`);
    await c.query(`ALTER DATABASE ${I(db)} SET backupbot.tenant = 'O''Brien, "x"'`);
    await c.query(`ALTER ROLE ${I(R.app)} IN DATABASE ${I(db)} SET work_mem = '8MB'`);
    await c.query(`COMMENT ON DATABASE ${I(db)} IS ${pg.escapeLiteral(COMMENT)}`);
  });
  await withPg(urlOf(db), async (c) => {
    await c.query(`CREATE SCHEMA app; CREATE TABLE app.lotes (id int PRIMARY KEY, nota text); INSERT INTO app.lotes SELECT g, 'lote ' || g FROM generate_series(1, 50) g;`);
    await c.query(`ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO ${I(R.reader)}`);
    await c.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT INSERT ON TABLES TO ${I(R.app)}`);
    await c.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${I(R.owner)} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC`);
  });
  return db;
}

/** pg_dump of `db` in a temp file, as the backup would store it (plain → .sql.gz, custom → .dump). */
function dumpOf(db: string, format: 'plain' | 'custom'): string {
  const file = join(dir, `${db}.${format === 'plain' ? 'sql.gz' : 'dump'}`);
  if (format === 'plain') execFileSync('bash', ['-o', 'pipefail', '-c', 'pg_dump --dbname "$1" | gzip > "$2"', '_', urlOf(db), file]);
  else execFileSync('pg_dump', ['--dbname', urlOf(db), '--format=custom', '--file', file]);
  return file;
}

async function canConnect(db: string, user: string): Promise<string> {
  try {
    return await withPg(urlOf(db, user), async (c) => {
      const r = await c.query<{ st: string; wm: string; sp: string }>(`SELECT current_setting('statement_timeout') AS st, current_setting('work_mem') AS wm, current_setting('search_path') AS sp`);
      return `ok ${r.rows[0]!.st} ${r.rows[0]!.wm} ${r.rows[0]!.sp}`;
    });
  } catch (err) {
    return (err as Error).message;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bbprops-'));
  await admin(async (c) => {
    await c.query(`CREATE ROLE ${I(R.owner)} NOLOGIN`);
    await c.query(`CREATE ROLE ${I(R.app)} LOGIN`);
    await c.query(`CREATE ROLE ${I(R.reader)} NOLOGIN`);
    await c.query(`CREATE ROLE ${I(R.outsider)} LOGIN`);
  });
});

afterAll(async () => {
  await admin(async (c) => {
    for (const db of created) await dropDatabase(c, db).catch(() => {});
    if (tablespace) await c.query(`DROP TABLESPACE IF EXISTS ${I(tablespace)}`).catch(() => {});
    for (const r of Object.values(R)) await c.query(`DROP ROLE IF EXISTS ${I(r)}`).catch(() => {});
  });
  rmSync(dir, { recursive: true, force: true });
  if (tablespaceDir) rmSync(tablespaceDir, { recursive: true, force: true });
});

test('capture reads owner, grants, settings, per-role settings, comment, connection limit and default privileges', async () => {
  const db = await makeProd('cap');
  const s = await captureDatabaseSettings(T, db);
  expect(s).toMatchObject({
    database: db, owner: R.owner, connectionLimit: 7, allowConnections: true, isTemplate: false, comment: COMMENT,
    settings: { statement_timeout: '5s', search_path: 'app, "$user", public', 'backupbot.tenant': 'O\'Brien, "x"' },
    roleSettings: { [R.app]: { work_mem: '8MB' } },
  });
  expect(s.create).toMatchObject({ owner: R.owner, encoding: 'UTF8', tablespace: 'pg_default', localeProvider: 'libc' });
  expect(s.grants).toEqual([
    { grantee: null, privileges: ['TEMPORARY'] },
    { grantee: R.app, privileges: ['CONNECT'] },
    { grantee: R.owner, privileges: ['CONNECT', 'CREATE', 'TEMPORARY'] },
    { grantee: R.reader, privileges: ['CREATE WITH GRANT OPTION'] },
  ].sort((a, b) => ((a.grantee ?? '') < (b.grantee ?? '') ? -1 : 1)));
  expect(s.defaultPrivileges).toEqual(expect.arrayContaining([
    { role: T.user, schema: null, objects: 'tables', grants: expect.arrayContaining([{ grantee: R.reader, privileges: ['SELECT'] }]) },
    { role: T.user, schema: 'app', objects: 'tables', grants: [{ grantee: R.app, privileges: ['INSERT'] }] },
    { role: R.owner, schema: null, objects: 'functions', grants: [{ grantee: R.owner, privileges: ['EXECUTE'] }] },
  ]));
  expect(s.schemas).toEqual(['app', 'public']);
  // Plain data: the lead can keep it in the run's details.
  expect(JSON.parse(JSON.stringify(s))).toEqual(s);
});

test.each(['plain', 'custom'] as const)('a %s pg_dump loaded into a new database carries the default privileges but none of the database\'s own settings', async (format) => {
  const db = await makeProd(`carry_${format}`);
  const file = dumpOf(db, format);
  const copy = `bbp_${id}_carry_${format}_copy`;
  created.push(copy);
  await admin((c) => createDatabaseLike(c, copy, db));
  await loadBackupInto(file, format, at(copy));
  const cmp = compareDatabaseSettings(await captureDatabaseSettings(T, db), await captureDatabaseSettings(T, copy));
  expect(cmp.differences.filter((d) => d.startsWith('default privileges'))).toEqual([]);
  // What the issue saw: CONNECT back for PUBLIC, no statement_timeout, no comment, no limit.
  expect(cmp.differences).toEqual(expect.arrayContaining([
    `grants on the database to PUBLIC: expected TEMPORARY, found CONNECT, TEMPORARY`,
    `grants on the database to ${R.app}: expected CONNECT, found nothing`,
    `database setting statement_timeout: expected "5s", found not set`,
    `setting work_mem of role ${R.app} in the database: expected "8MB", found not set`,
    `comment: expected ${JSON.stringify(COMMENT)}, found none`,
    `connection limit: expected 7, found no limit`,
  ]));
  expect(await canConnect(copy, R.outsider)).toMatch(/^ok/);
});

test('swap: createDatabaseLike + load + apply gives the copy every setting; after the renames production has them, and default privileges changed since the backup are production\'s', async () => {
  const db = await makeProd('swap');
  const file = dumpOf(db, 'plain');
  // Changed on production after the backup: production's default privileges are the ones to keep.
  await withPg(urlOf(db), (c) => c.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT UPDATE ON TABLES TO ${I(R.app)}; ALTER DEFAULT PRIVILEGES GRANT USAGE ON SEQUENCES TO ${I(R.reader)}`));
  const captured = await captureDatabaseSettings(T, db);
  const copy = `bbp_${id}_swap_new`;
  const old = `bbp_${id}_swap_old`;
  created.push(copy, old);
  await admin((c) => createDatabaseLike(c, copy, db));
  await loadBackupInto(file, 'plain', at(copy));

  const before = compareDatabaseSettings(captured, await captureDatabaseSettings(T, copy));
  expect(before.differences).toEqual(expect.arrayContaining([
    `default privileges of role ${T.user} on tables in schema app to ${R.app}: expected INSERT, UPDATE, found INSERT`,
    `default privileges of role ${T.user} on sequences (all schemas): expected ${R.reader}: USAGE; ${T.user}: SELECT, UPDATE, USAGE, found the built-in defaults`,
  ]));

  const applied = await applyDatabaseSettings(T, copy, captured);
  expect(applied.problems).toEqual([]);
  expect(applied.changes).toEqual(expect.arrayContaining(['comment set', `connection limit -1 → 7`, 'database setting statement_timeout = 5s']));
  const after = compareDatabaseSettings(captured, await captureDatabaseSettings(T, copy));
  expect(after).toEqual({ same: true, differences: [], notes: [] });
  // Idempotent: a second apply finds nothing to change.
  expect(await applyDatabaseSettings(T, copy, captured)).toEqual({ changes: [], problems: [], skipped: [] });

  await admin((c) => renameDatabases(c, [{ from: db, to: old }, { from: copy, to: db }]));
  created.push(db);
  expect(compareDatabaseSettings(captured, await captureDatabaseSettings(T, db)).differences).toEqual([]);
  // What users see: PUBLIC cannot connect, the app role can, with the database's and its own settings.
  expect(await canConnect(db, R.outsider)).toMatch(/permission denied for database/);
  expect(await canConnect(db, R.app)).toBe('ok 5s 8MB app, "$user", public');
  // A table created by the owner role after the restore gets production's default privileges.
  const acl = await withPg(urlOf(db), async (c) => {
    await c.query('CREATE TABLE app.nueva (id int)');
    return (await c.query<{ acl: string[] }>(`SELECT relacl::text[] AS acl FROM pg_class WHERE oid = 'app.nueva'::regclass`)).rows[0]!.acl;
  });
  expect(acl).toEqual(expect.arrayContaining([`${R.app}=aw/${T.user}`, `${R.reader}=r/${T.user}`]));
  expect(await withPg(urlOf(db), (c) => countRows(c, ['app.lotes']))).toEqual({ 'app.lotes': 50 });
});

test('replace: drop + createDatabase with the captured properties + load (custom) + apply restores every setting in place', async () => {
  const db = await makeProd('replace');
  const file = dumpOf(db, 'custom');
  const captured = await captureDatabaseSettings(T, db);
  await admin(async (c) => { await dropDatabase(c, db); await createDatabase(c, db, captured.create); });
  await loadBackupInto(file, 'custom', at(db));
  const mid = compareDatabaseSettings(captured, await captureDatabaseSettings(T, db));
  expect(mid.same).toBe(false);
  const applied = await applyDatabaseSettings(T, db, captured);
  expect(applied.problems).toEqual([]);
  expect(compareDatabaseSettings(captured, await captureDatabaseSettings(T, db))).toEqual({ same: true, differences: [], notes: [] });
  expect(await canConnect(db, R.outsider)).toMatch(/permission denied for database/);
  expect(await canConnect(db, R.app)).toBe('ok 5s 8MB app, "$user", public');
});

test('apply takes away what production does not have (settings, grants, default privileges) and leaves schemas only in the backup alone', async () => {
  const prod = await makeProd('strip');
  const captured = await captureDatabaseSettings(T, prod);
  const other = await makeProd('strip_other');
  await admin(async (c) => {
    await c.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${I(other)} TO ${I(R.outsider)}`);
    await c.query(`ALTER DATABASE ${I(other)} SET lock_timeout = '1s'`);
    await c.query(`ALTER ROLE ${I(R.reader)} IN DATABASE ${I(other)} SET work_mem = '4MB'`);
  });
  await withPg(urlOf(other), (c) => c.query(`CREATE SCHEMA solo_backup; ALTER DEFAULT PRIVILEGES IN SCHEMA solo_backup GRANT SELECT ON TABLES TO ${I(R.outsider)};
    ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT DELETE ON TABLES TO ${I(R.outsider)}; ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO ${I(R.outsider)};
    DROP SCHEMA app CASCADE; CREATE SCHEMA app; ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT DELETE ON TABLES TO ${I(R.outsider)}`));
  const applied = await applyDatabaseSettings(T, other, captured);
  expect(applied.problems).toEqual([]);
  expect(applied.changes).toEqual(expect.arrayContaining(['database setting lock_timeout reset', `setting of role ${R.reader} work_mem reset`]));
  const now = await captureDatabaseSettings(T, other);
  expect(compareDatabaseSettings(captured, now)).toEqual({ same: true, differences: [], notes: [] });
  // The schema that only the restored copy has keeps the default privileges it came with.
  expect(now.defaultPrivileges).toEqual(expect.arrayContaining([{ role: T.user, schema: 'solo_backup', objects: 'tables', grants: [{ grantee: R.outsider, privileges: ['SELECT'] }] }]));
});

test('a role that no longer exists is reported by apply (the rest is applied) and by compare', async () => {
  const db = await makeProd('gone');
  const captured = await captureDatabaseSettings(T, db);
  const copy = `bbp_${id}_gone_copy`;
  created.push(copy);
  await admin((c) => createDatabaseLike(c, copy, db));
  const want: DatabaseSettings = structuredClone(captured);
  want.grants.push({ grantee: R.gone, privileges: ['CONNECT'] });
  want.roleSettings[R.gone] = { work_mem: '1MB' };
  const applied = await applyDatabaseSettings(T, copy, want);
  expect(applied.problems).toEqual([
    `GRANT CONNECT ON DATABASE TO ${R.gone}: role "${R.gone}" no longer exists`,
    `setting of role ${R.gone} work_mem = 1MB: role "${R.gone}" no longer exists`,
  ]);
  const cmp = compareDatabaseSettings(want, await captureDatabaseSettings(T, copy));
  expect(cmp.differences).toEqual([
    `grants on the database to ${R.gone}: expected CONNECT, found nothing`,
    `setting work_mem of role ${R.gone} in the database: expected "1MB", found not set`,
  ]);
  // Everything else was applied (the schema app is not in this empty copy: its default privileges are skipped).
  expect(applied.skipped).toEqual([`default privileges of role ${T.user} on tables in schema app: the schema is not in this database`]);
  expect(compareDatabaseSettings(captured, await captureDatabaseSettings(T, copy)).notes).toEqual([`default privileges of role ${T.user} on tables in schema app not compared: the schema is not in the restored database`]);
});

test('createDatabaseLike and createDatabase keep the locale provider, ICU locale and tablespace; ALLOW_CONNECTIONS and IS_TEMPLATE are applied and such a database can still be dropped', async () => {
  const loc = mkdtempSync(join(tmpdir(), 'bbprops-ts-'));
  tablespaceDir = loc;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(loc, uid, gid);
  tablespace = `bbp_${id}_ts`;
  await admin((c) => c.query(`CREATE TABLESPACE ${I(tablespace)} LOCATION ${pg.escapeLiteral(loc)}`));
  const db = await makeProd('icu', { create: `TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'es-AR' LOCALE 'C.UTF-8' TABLESPACE ${I(tablespace)}` });
  await admin((c) => c.query(`ALTER DATABASE ${I(db)} WITH IS_TEMPLATE true`));
  const captured = await captureDatabaseSettings(T, db);
  expect(captured.create).toMatchObject({ localeProvider: 'icu', locale: 'es-AR', tablespace, collate: 'C.UTF-8' });
  captured.allowConnections = false; // as if production had it (one cannot capture through a connection it refuses)

  const like = `bbp_${id}_icu_like`;
  const direct = `bbp_${id}_icu_direct`;
  created.push(like, direct);
  await admin(async (c) => { await createDatabaseLike(c, like, db); await createDatabase(c, direct, captured.create); });
  for (const name of [like, direct]) {
    expect(await admin((c) => databaseProps(c, name))).toEqual(captured.create);
    await applyDatabaseSettings(T, name, captured);
    const row = await admin(async (c) => (await c.query<{ a: boolean; t: boolean }>('SELECT datallowconn AS a, datistemplate AS t FROM pg_database WHERE datname = $1', [name])).rows[0]);
    expect(row).toEqual({ a: false, t: true });
    await admin((c) => dropDatabase(c, name));
    expect(await admin(async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount)).toBe(0);
  }
  await admin((c) => dropDatabase(c, db));
  await admin((c) => c.query(`DROP TABLESPACE ${I(tablespace)}`));
});

test('countRows is not cut short by the database\'s own statement_timeout', async () => {
  const db = `bbp_${id}_timeout`;
  created.push(db);
  await admin((c) => c.query(`CREATE DATABASE ${I(db)}`));
  // Counting takes 0.6 s, well over the database's 200 ms (and nothing else comes near it).
  await withPg(urlOf(db), (c) => c.query('CREATE VIEW slow AS SELECT g FROM generate_series(1, 3) g, LATERAL (SELECT pg_sleep(0.2)) s'));
  await admin((c) => c.query(`ALTER DATABASE ${I(db)} SET statement_timeout = '200ms'`));
  await expect(withPg(urlOf(db), (c) => c.query('SELECT count(*) FROM slow'))).rejects.toThrow('canceling statement due to statement timeout');
  expect(await withPg(urlOf(db), (c) => countRows(c, ['slow']))).toEqual({ slow: 3 });
});

test('compare reports each kind of difference in words', () => {
  const base: DatabaseSettings = {
    database: 'prod',
    create: { owner: 'app_owner', encoding: 'UTF8', collate: 'C.UTF-8', ctype: 'C.UTF-8', localeProvider: 'libc', locale: null, tablespace: 'pg_default' },
    owner: 'app_owner', connectionLimit: 7, allowConnections: true, isTemplate: false, comment: 'Producción',
    grants: [{ grantee: null, privileges: ['TEMPORARY'] }, { grantee: 'app', privileges: ['CONNECT'] }, { grantee: 'app_owner', privileges: ['CONNECT', 'CREATE', 'TEMPORARY'] }],
    settings: { statement_timeout: '5s' },
    roleSettings: { app: { work_mem: '8MB' } },
    defaultPrivileges: [
      { role: 'app_owner', schema: null, objects: 'tables', grants: [{ grantee: 'app_owner', privileges: ['SELECT'] }, { grantee: 'reader', privileges: ['SELECT'] }] },
      { role: 'app_owner', schema: 'app', objects: 'tables', grants: [{ grantee: 'app', privileges: ['INSERT'] }] },
      { role: 'app_owner', schema: 'gone', objects: 'sequences', grants: [{ grantee: 'app', privileges: ['USAGE'] }] },
    ],
    schemas: ['app', 'gone', 'public'],
  };
  expect(compareDatabaseSettings(base, { ...structuredClone(base), database: 'prod_restore_7' })).toEqual({ same: true, differences: [], notes: [] });
  const other: DatabaseSettings = {
    database: 'prod_restore_7',
    create: { owner: 'postgres', encoding: 'SQL_ASCII', collate: 'C', ctype: 'C', localeProvider: 'icu', locale: 'es-AR', tablespace: 'fast' },
    owner: 'postgres', connectionLimit: -1, allowConnections: false, isTemplate: true, comment: null,
    grants: [{ grantee: null, privileges: ['CONNECT', 'TEMPORARY'] }, { grantee: 'app_owner', privileges: ['CONNECT', 'CREATE WITH GRANT OPTION', 'TEMPORARY'] }],
    settings: { statement_timeout: '0', lock_timeout: '1s' },
    roleSettings: {},
    defaultPrivileges: [{ role: 'app_owner', schema: 'app', objects: 'tables', grants: [{ grantee: 'app', privileges: ['INSERT', 'UPDATE'] }] }],
    schemas: ['app', 'public'],
  };
  const cmp = compareDatabaseSettings(base, other);
  expect(cmp.same).toBe(false);
  expect(cmp.differences).toEqual([
    'owner: expected "app_owner", found "postgres"',
    'encoding: expected "UTF8", found "SQL_ASCII"',
    'LC_COLLATE: expected "C.UTF-8", found "C"',
    'LC_CTYPE: expected "C.UTF-8", found "C"',
    'locale provider: expected "libc", found "icu"',
    'locale: expected none, found "es-AR"',
    'tablespace: expected "pg_default", found "fast"',
    'connection limit: expected 7, found no limit',
    'ALLOW_CONNECTIONS: expected true, found false',
    'IS_TEMPLATE: expected false, found true',
    'comment: expected "Producción", found none',
    'grants on the database to PUBLIC: expected TEMPORARY, found CONNECT, TEMPORARY',
    'grants on the database to app: expected CONNECT, found nothing',
    'grants on the database to app_owner: expected CONNECT, CREATE, TEMPORARY, found CONNECT, CREATE (with grant option), TEMPORARY',
    'database setting lock_timeout: expected not set, found "1s"',
    'database setting statement_timeout: expected "5s", found "0"',
    'setting work_mem of role app in the database: expected "8MB", found not set',
    'default privileges of role app_owner on tables (all schemas): expected app_owner: SELECT; reader: SELECT, found the built-in defaults',
    'default privileges of role app_owner on tables in schema app to app: expected INSERT, found INSERT, UPDATE',
  ]);
  expect(cmp.notes).toEqual(['default privileges of role app_owner on sequences in schema gone not compared: the schema is not in the restored database']);
});

test('stored list settings are written back the way pg_dump writes them', () => {
  expect(splitGucList('app, "$user", public')).toEqual(['app', '$user', 'public']);
  expect(splitGucList('"a ""q"" b",c')).toEqual(['a "q" b', 'c']);
  expect(splitGucList('""')).toEqual(['']);
  expect(splitGucList('')).toEqual([]);
  expect(settingValueSql('search_path', 'app, "$user", public')).toBe(`'app', '$user', 'public'`);
  expect(settingValueSql('search_path', '')).toBe(`''`);
  expect(settingValueSql('statement_timeout', "5s'; DROP TABLE x; --")).toBe(`'5s''; DROP TABLE x; --'`);
  expect(() => splitGucList('"open')).toThrow(/unterminated/);
});
