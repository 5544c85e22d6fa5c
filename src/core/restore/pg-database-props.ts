import pg from 'pg';
import type { DbTarget } from '../db-url.js';
import { OperationError, errorMessage } from '../errors.js';
import { databaseProps, withAdmin, withDb, type DatabaseProps } from './pg-admin.js';

/**
 * What a PostgreSQL database carries outside its dump, captured before a production restore and put back on
 * the restored database (issue 15 item 4, SOP-001 9.2 "verify").
 *
 * CREATE DATABASE (also `… TEMPLATE`) and a plain or custom `pg_dump` loaded into it do not carry the
 * database's grants, its `ALTER DATABASE … SET` and `ALTER ROLE … IN DATABASE … SET` settings, its comment,
 * connection limit, ALLOW_CONNECTIONS or IS_TEMPLATE: they live in shared catalogs (pg_database,
 * pg_db_role_setting, pg_shdescription) keyed by the database's oid, so a swap (new oid under the old name) and
 * a replace (DROP removes them) both lose them. Default privileges (pg_default_acl) live inside the database
 * and are in the dump, but as they were when the backup was taken: they are set back to production's.
 *
 * - captureDatabaseSettings: reads all of it (one connection to the database itself, which also sees the
 *   shared catalogs).
 * - applyDatabaseSettings: makes a database match (idempotent: a second call changes nothing). Call it after
 *   the data is loaded (a statement_timeout or default_transaction_read_only setting would apply to the load).
 * - compareDatabaseSettings: the differences in words, for the runbook's verify step.
 */

/** One grantee's privileges; `grantee` null is PUBLIC. A privilege held with grant option reads `CREATE WITH GRANT OPTION`. */
interface Grant { grantee: string | null; privileges: string[] }

type DefaultPrivilegeObjects = 'tables' | 'sequences' | 'functions' | 'types' | 'schemas';

/** `ALTER DEFAULT PRIVILEGES FOR ROLE <role> [IN SCHEMA <schema>] GRANT … ON <objects>`: one pg_default_acl row. */
interface DefaultPrivileges { role: string; schema: string | null; objects: DefaultPrivilegeObjects; grants: Grant[] }

export interface DatabaseSettings {
  /** The database read (for messages; never compared: a swap compares a copy under another name). */
  database: string;
  /** Fixed by CREATE DATABASE: owner, encoding, locale, tablespace (createDatabase takes these). */
  create: DatabaseProps;
  owner: string;
  /** -1: no limit. */
  connectionLimit: number;
  allowConnections: boolean;
  isTemplate: boolean;
  comment: string | null;
  /** Effective grants on the database (the built-in ones when datacl is NULL); the grantor is not kept. */
  grants: Grant[];
  /** `ALTER DATABASE … SET`: name → value as PostgreSQL stores it. */
  settings: Record<string, string>;
  /** `ALTER ROLE r IN DATABASE … SET`: role → name → value. */
  roleSettings: Record<string, Record<string, string>>;
  defaultPrivileges: DefaultPrivileges[];
  /** The database's schemas (system schemas excluded): per-schema default privileges are kept where both sides have the schema. */
  schemas: string[];
}

export interface ApplyResult {
  /** What was changed, one line each (empty when the database already matched). */
  changes: string[];
  /** What could not be applied (a role that no longer exists, a refused statement): compareDatabaseSettings will report it too. */
  problems: string[];
  /** Default privileges of schemas that are not in this database (not in the backup): nothing to apply them to. */
  skipped: string[];
}

export interface SettingsComparison { same: boolean; differences: string[]; notes: string[] }

const OBJTYPES: Record<string, { objects: DefaultPrivilegeObjects; acldefault: string }> = {
  r: { objects: 'tables', acldefault: 'r' },
  S: { objects: 'sequences', acldefault: 's' },
  f: { objects: 'functions', acldefault: 'f' },
  T: { objects: 'types', acldefault: 'T' },
  n: { objects: 'schemas', acldefault: 'n' },
};
const OBJCHAR: Record<DefaultPrivilegeObjects, string> = { tables: 'r', sequences: 'S', functions: 'f', types: 'T', schemas: 'n' };

const GRANT_OPTION = ' WITH GRANT OPTION';
/** GUCs whose stored value is a list of quoted elements (pg_dump's variable_is_guc_list_quote). */
const LIST_GUCS = new Set(['local_preload_libraries', 'search_path', 'session_preload_libraries', 'shared_preload_libraries', 'temp_tablespaces', 'unix_socket_directories']);

/** Code-point order (not the locale's): the same on every machine. */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const I = (s: string) => pg.escapeIdentifier(s);
const L = (s: string) => pg.escapeLiteral(s);

interface AclRow { grantee_oid: number | null; grantee: string | null; privilege: string | null; grantable: boolean | null }

function grantsOf(rows: AclRow[]): Grant[] {
  const by = new Map<string, Grant>();
  for (const r of rows) {
    if (r.privilege === null) continue;
    const grantee = Number(r.grantee_oid) === 0 ? null : r.grantee;
    const k = grantee ?? '';
    if (!by.has(k)) by.set(k, { grantee, privileges: [] });
    by.get(k)!.privileges.push(r.privilege + (r.grantable ? GRANT_OPTION : ''));
  }
  return [...by.values()].map((g) => ({ ...g, privileges: g.privileges.sort() })).sort((a, b) => byText(a.grantee ?? '', b.grantee ?? ''));
}

function configOf(setconfig: string[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of setconfig ?? []) {
    const i = item.indexOf('=');
    if (i > 0) out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

const ACL_COLUMNS = `e.grantee::int AS grantee_oid, CASE WHEN e.grantee = 0 THEN NULL ELSE pg_get_userbyid(e.grantee) END AS grantee,
       e.privilege_type AS privilege, e.is_grantable AS grantable`;

async function readDefaultPrivileges(c: pg.Client): Promise<DefaultPrivileges[]> {
  const r = await c.query<AclRow & { role: string; schema: string | null; objtype: string }>(
    `SELECT pg_get_userbyid(a.defaclrole) AS role, n.nspname AS schema, a.defaclobjtype::text AS objtype, ${ACL_COLUMNS}
       FROM pg_default_acl a LEFT JOIN pg_namespace n ON n.oid = a.defaclnamespace
       LEFT JOIN LATERAL aclexplode(a.defaclacl) e ON true`,
  );
  const by = new Map<string, { d: DefaultPrivileges; rows: AclRow[] }>();
  for (const row of r.rows) {
    const objects = OBJTYPES[row.objtype]?.objects;
    if (!objects) continue; // a kind this code does not know (a future PostgreSQL): not touched
    const k = dpKey({ role: row.role, schema: row.schema, objects });
    if (!by.has(k)) by.set(k, { d: { role: row.role, schema: row.schema, objects, grants: [] }, rows: [] });
    by.get(k)!.rows.push(row);
  }
  return [...by.values()].map(({ d, rows }) => ({ ...d, grants: grantsOf(rows) })).sort((a, b) => byText(dpKey(a), dpKey(b)));
}

function dpKey(d: Pick<DefaultPrivileges, 'role' | 'schema' | 'objects'>): string {
  return `${d.role}\u0000${d.schema ?? ''}\u0000${d.objects}`;
}

/** Reads the settings of `db` through a client connected to `db` itself (default privileges live inside it). */
async function readDatabaseSettings(c: pg.Client, db: string): Promise<DatabaseSettings> {
  const cur = (await c.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db;
  if (cur !== db) throw new OperationError(`reading the settings of database "${db}" needs a connection to it (connected to "${cur}")`);
  const create = await databaseProps(c, db);
  const d = (await c.query<{ oid: number; owner: string; connlimit: number; allowconn: boolean; istemplate: boolean; comment: string | null }>(
    `SELECT d.oid::int AS oid, pg_get_userbyid(d.datdba) AS owner, d.datconnlimit AS connlimit, d.datallowconn AS allowconn,
            d.datistemplate AS istemplate, shobj_description(d.oid, 'pg_database') AS comment
       FROM pg_database d WHERE d.datname = $1`, [db])).rows[0]!;
  const acl = await c.query<AclRow>(`SELECT ${ACL_COLUMNS} FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) e WHERE d.oid = $1`, [d.oid]);
  const set = await c.query<{ setrole: number; role: string | null; setconfig: string[] | null }>(
    `SELECT s.setrole::int AS setrole, CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END AS role, s.setconfig
       FROM pg_db_role_setting s WHERE s.setdatabase = $1`, [d.oid]);
  const settings: Record<string, string> = {};
  const roleSettings: Record<string, Record<string, string>> = {};
  for (const s of set.rows) {
    if (Number(s.setrole) === 0) Object.assign(settings, configOf(s.setconfig));
    else if (s.role) roleSettings[s.role] = configOf(s.setconfig);
  }
  const schemas = (await c.query<{ n: string }>(
    `SELECT nspname AS n FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1`)).rows.map((r) => r.n);
  return {
    database: db, create, owner: d.owner, connectionLimit: d.connlimit, allowConnections: d.allowconn, isTemplate: d.istemplate, comment: d.comment,
    grants: grantsOf(acl.rows), settings, roleSettings, defaultPrivileges: await readDefaultPrivileges(c), schemas,
  };
}

/** Captures what `db` carries outside its dump (see the top of this file). */
export function captureDatabaseSettings(t: DbTarget, db: string): Promise<DatabaseSettings> {
  return withDb(t, db, (c) => readDatabaseSettings(c, db));
}

/**
 * Splits a stored list value (`app, "$user", public`) into its elements, as PostgreSQL's SplitGUCList does:
 * comma-separated, whitespace around elements ignored, double quotes around an element ("" inside = ").
 */
export function splitGucList(raw: string): string[] {
  const out: string[] = [];
  let i = 0;
  const ws = () => { while (i < raw.length && /\s/.test(raw[i]!)) i++; };
  ws();
  if (i >= raw.length) return out;
  for (;;) {
    let el = '';
    if (raw[i] === '"') {
      i++;
      for (;;) {
        if (i >= raw.length) throw new OperationError(`unterminated quoted element in the list value ${JSON.stringify(raw)}`);
        if (raw[i] === '"') {
          if (raw[i + 1] === '"') { el += '"'; i += 2; continue; }
          i++;
          break;
        }
        el += raw[i++];
      }
    } else {
      const start = i;
      while (i < raw.length && raw[i] !== ',' && !/\s/.test(raw[i]!)) i++;
      el = raw.slice(start, i);
    }
    out.push(el);
    ws();
    if (i >= raw.length) return out;
    if (raw[i] !== ',') throw new OperationError(`cannot read the list value ${JSON.stringify(raw)}`);
    i++;
    ws();
  }
}

/** `TO '5s'` / `TO 'app', '$user', 'public'`: a stored setting value as SQL (as pg_dump writes it). */
export function settingValueSql(name: string, value: string): string {
  if (!LIST_GUCS.has(name.toLowerCase())) return L(value);
  const items = splitGucList(value);
  return items.length ? items.map(L).join(', ') : "''";
}

function privilegeList(grant: Grant): { plain: string[]; withOption: string[] } {
  const plain: string[] = [];
  const withOption: string[] = [];
  for (const p of grant.privileges) (p.endsWith(GRANT_OPTION) ? withOption : plain).push(p.replace(GRANT_OPTION, ''));
  return { plain, withOption };
}

const granteeSql = (g: string | null) => (g === null ? 'PUBLIC' : I(g));
const granteeWords = (g: string | null) => (g === null ? 'PUBLIC' : g);
const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Grantees whose privileges differ between two grant lists. */
function grantDiff(want: Grant[], have: Grant[]): Array<{ grantee: string | null; want: string[]; have: string[] }> {
  const keys = new Set([...want, ...have].map((g) => g.grantee ?? ''));
  const find = (list: Grant[], k: string) => list.find((g) => (g.grantee ?? '') === k)?.privileges ?? [];
  const out: Array<{ grantee: string | null; want: string[]; have: string[] }> = [];
  for (const k of [...keys].sort()) {
    const w = find(want, k);
    const h = find(have, k);
    if (!sameList(w, h)) out.push({ grantee: k === '' ? null : k, want: w, have: h });
  }
  return out;
}

/**
 * Makes `db` carry `settings` (captured from the production database): owner, comment, grants,
 * `ALTER DATABASE … SET` and per-role settings, default privileges (of the schemas both have), then
 * CONNECTION LIMIT, IS_TEMPLATE and ALLOW_CONNECTIONS last. Only what differs is changed, so a second call
 * changes nothing. A statement that fails (a role that no longer exists) is reported in `problems` and the
 * rest is still applied; the verify step's compareDatabaseSettings then reports the difference.
 * Never sets encoding, locale or tablespace (fixed by CREATE DATABASE: see createDatabase).
 */
export async function applyDatabaseSettings(t: DbTarget, db: string, want: DatabaseSettings): Promise<ApplyResult> {
  const result: ApplyResult = { changes: [], problems: [], skipped: [] };
  const D = I(db);
  const run = async (c: pg.Client, sql: string, what: string) => {
    try {
      await c.query(sql);
      result.changes.push(what);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const m = /^role "(.*)" does not exist$/.exec(e.message ?? '');
      result.problems.push(m ? `${what}: role "${m[1]}" no longer exists` : `${what}: ${errorMessage(err)}`);
    }
  };

  await withAdmin(t, async (admin) => {
    await withDb(t, db, async (c) => {
      let have = await readDatabaseSettings(c, db);
      if (have.owner !== want.owner) {
        await run(admin, `ALTER DATABASE ${D} OWNER TO ${I(want.owner)}`, `owner ${have.owner} → ${want.owner}`);
        have = await readDatabaseSettings(c, db); // a new owner rewrites the grants that name the old one
      }
      if (have.comment !== want.comment) {
        await run(admin, `COMMENT ON DATABASE ${D} IS ${want.comment === null ? 'NULL' : L(want.comment)}`, want.comment === null ? 'comment removed' : 'comment set');
      }
      const dbGrants = grantDiff(want.grants, have.grants);
      for (const g of dbGrants) {
        if (g.have.length) await run(admin, `REVOKE ALL ON DATABASE ${D} FROM ${granteeSql(g.grantee)} CASCADE`, `grants of ${granteeWords(g.grantee)} on the database revoked`);
      }
      for (const g of dbGrants) {
        const p = privilegeList({ grantee: g.grantee, privileges: g.want });
        if (p.plain.length) await run(admin, `GRANT ${p.plain.join(', ')} ON DATABASE ${D} TO ${granteeSql(g.grantee)}`, `GRANT ${p.plain.join(', ')} ON DATABASE TO ${granteeWords(g.grantee)}`);
        if (p.withOption.length) await run(admin, `GRANT ${p.withOption.join(', ')} ON DATABASE ${D} TO ${granteeSql(g.grantee)} WITH GRANT OPTION`, `GRANT ${p.withOption.join(', ')} ON DATABASE TO ${granteeWords(g.grantee)} WITH GRANT OPTION`);
      }
      await applyConfig(admin, `ALTER DATABASE ${D}`, 'database setting', want.settings, have.settings, run);
      for (const role of new Set([...Object.keys(want.roleSettings), ...Object.keys(have.roleSettings)])) {
        await applyConfig(admin, `ALTER ROLE ${I(role)} IN DATABASE ${D}`, `setting of role ${role}`, want.roleSettings[role] ?? {}, have.roleSettings[role] ?? {}, run);
      }
      await applyDefaultPrivileges(c, want, have, run, result);
      if (have.connectionLimit !== want.connectionLimit) {
        await run(admin, `ALTER DATABASE ${D} WITH CONNECTION LIMIT ${Math.trunc(want.connectionLimit)}`, `connection limit ${have.connectionLimit} → ${want.connectionLimit}`);
      }
      if (have.isTemplate !== want.isTemplate) await run(admin, `ALTER DATABASE ${D} WITH IS_TEMPLATE ${want.isTemplate}`, `IS_TEMPLATE ${want.isTemplate}`);
    });
    // From the maintenance database: PostgreSQL refuses to disallow connections to the database one is in.
    const allow = (await admin.query<{ a: boolean }>('SELECT datallowconn AS a FROM pg_database WHERE datname = $1', [db])).rows[0]?.a;
    if (allow !== undefined && allow !== want.allowConnections) await run(admin, `ALTER DATABASE ${D} WITH ALLOW_CONNECTIONS ${want.allowConnections}`, `ALLOW_CONNECTIONS ${want.allowConnections}`);
  });
  return result;
}

async function applyConfig(
  c: pg.Client, prefix: string, what: string, want: Record<string, string>, have: Record<string, string>,
  run: (c: pg.Client, sql: string, what: string) => Promise<void>,
): Promise<void> {
  for (const name of [...new Set([...Object.keys(want), ...Object.keys(have)])].sort()) {
    const w = want[name];
    if (w === have[name]) continue;
    if (w === undefined) await run(c, `${prefix} RESET ${I(name)}`, `${what} ${name} reset`);
    else await run(c, `${prefix} SET ${I(name)} TO ${settingValueSql(name, w)}`, `${what} ${name} = ${w}`);
  }
}

function dpWhere(d: Pick<DefaultPrivileges, 'role' | 'schema' | 'objects'>): string {
  return `default privileges of role ${d.role} on ${d.objects} ${d.schema === null ? '(all schemas)' : `in schema ${d.schema}`}`;
}

/** The built-in default privileges of a role for one kind of object (pg_default_acl rows without a schema start from these). */
async function builtinDefault(c: pg.Client, d: Pick<DefaultPrivileges, 'role' | 'objects'>): Promise<Grant[]> {
  const r = await c.query<AclRow>(
    `SELECT ${ACL_COLUMNS} FROM aclexplode(acldefault($1::"char", (SELECT oid FROM pg_roles WHERE rolname = $2))) e`,
    [OBJTYPES[OBJCHAR[d.objects]]!.acldefault, d.role],
  );
  return grantsOf(r.rows);
}

async function applyDefaultPrivileges(
  c: pg.Client, want: DatabaseSettings, have: DatabaseSettings,
  run: (c: pg.Client, sql: string, what: string) => Promise<void>, result: ApplyResult,
): Promise<void> {
  const inScope = (d: DefaultPrivileges) => d.schema === null || (want.schemas.includes(d.schema) && have.schemas.includes(d.schema));
  for (const d of want.defaultPrivileges) {
    if (d.schema !== null && !have.schemas.includes(d.schema)) result.skipped.push(`${dpWhere(d)}: the schema is not in this database`);
  }
  const keys = new Map<string, DefaultPrivileges>();
  for (const d of [...want.defaultPrivileges, ...have.defaultPrivileges]) if (inScope(d)) keys.set(dpKey(d), d);
  for (const [k, d] of [...keys].sort(([a], [b]) => byText(a, b))) {
    const w = want.defaultPrivileges.find((x) => dpKey(x) === k);
    const h = have.defaultPrivileges.find((x) => dpKey(x) === k);
    const start = d.schema === null && (!w || !h) ? await builtinDefault(c, d) : [];
    const diff = grantDiff(w ? w.grants : start, h ? h.grants : start);
    const head = `ALTER DEFAULT PRIVILEGES FOR ROLE ${I(d.role)}${d.schema === null ? '' : ` IN SCHEMA ${I(d.schema)}`}`;
    const objects = d.objects.toUpperCase();
    for (const g of diff) {
      if (g.have.length) await run(c, `${head} REVOKE ALL ON ${objects} FROM ${granteeSql(g.grantee)}`, `${dpWhere(d)}: revoked from ${granteeWords(g.grantee)}`);
      const p = privilegeList({ grantee: g.grantee, privileges: g.want });
      if (p.plain.length) await run(c, `${head} GRANT ${p.plain.join(', ')} ON ${objects} TO ${granteeSql(g.grantee)}`, `${dpWhere(d)}: GRANT ${p.plain.join(', ')} TO ${granteeWords(g.grantee)}`);
      if (p.withOption.length) await run(c, `${head} GRANT ${p.withOption.join(', ')} ON ${objects} TO ${granteeSql(g.grantee)} WITH GRANT OPTION`, `${dpWhere(d)}: GRANT ${p.withOption.join(', ')} TO ${granteeWords(g.grantee)} WITH GRANT OPTION`);
    }
  }
}

// ---- compare ---------------------------------------------------------------------------------------

const words = (v: unknown) => (v === null || v === undefined ? 'none' : typeof v === 'string' ? JSON.stringify(v) : String(v));
const limitWords = (n: number) => (n < 0 ? 'no limit' : String(n));
const privWords = (p: string[]) => (p.length ? p.map((x) => x.replace(GRANT_OPTION, ' (with grant option)')).join(', ') : 'nothing');
const grantsWords = (gs: Grant[]) => (gs.length ? gs.map((g) => `${granteeWords(g.grantee)}: ${privWords(g.privileges)}`).join('; ') : 'no grants');

/**
 * The differences between the settings a database should carry (captured from production before the restore)
 * and those it carries, one sentence each; `same` when there are none. The database name is not compared.
 * Per-schema default privileges are compared for the schemas both have; those of a schema missing from the
 * restored database are listed in `notes` (the backup predates the schema: there is nothing to apply them to).
 */
export function compareDatabaseSettings(expected: DatabaseSettings, actual: DatabaseSettings): SettingsComparison {
  const differences: string[] = [];
  const notes: string[] = [];
  const diff = (what: string, e: unknown, a: unknown, fmt: (v: never) => string = words as (v: never) => string) => {
    if (e !== a) differences.push(`${what}: expected ${fmt(e as never)}, found ${fmt(a as never)}`);
  };
  diff('owner', expected.owner, actual.owner);
  diff('encoding', expected.create.encoding, actual.create.encoding);
  diff('LC_COLLATE', expected.create.collate, actual.create.collate);
  diff('LC_CTYPE', expected.create.ctype, actual.create.ctype);
  if (expected.create.localeProvider !== undefined) diff('locale provider', expected.create.localeProvider, actual.create.localeProvider);
  if (expected.create.locale !== undefined) diff('locale', expected.create.locale, actual.create.locale ?? null);
  if (expected.create.icuRules !== undefined) diff('ICU rules', expected.create.icuRules, actual.create.icuRules ?? null);
  if (expected.create.tablespace !== undefined) diff('tablespace', expected.create.tablespace, actual.create.tablespace);
  diff('connection limit', expected.connectionLimit, actual.connectionLimit, limitWords as (v: never) => string);
  diff('ALLOW_CONNECTIONS', expected.allowConnections, actual.allowConnections);
  diff('IS_TEMPLATE', expected.isTemplate, actual.isTemplate);
  diff('comment', expected.comment, actual.comment);
  for (const g of grantDiff(expected.grants, actual.grants)) {
    differences.push(`grants on the database to ${granteeWords(g.grantee)}: expected ${privWords(g.want)}, found ${privWords(g.have)}`);
  }
  const settingDiffs = (label: (name: string) => string, e: Record<string, string>, a: Record<string, string>) => {
    for (const name of [...new Set([...Object.keys(e), ...Object.keys(a)])].sort()) {
      if (e[name] !== a[name]) differences.push(`${label(name)}: expected ${e[name] === undefined ? 'not set' : JSON.stringify(e[name])}, found ${a[name] === undefined ? 'not set' : JSON.stringify(a[name])}`);
    }
  };
  settingDiffs((n) => `database setting ${n}`, expected.settings, actual.settings);
  for (const role of [...new Set([...Object.keys(expected.roleSettings), ...Object.keys(actual.roleSettings)])].sort()) {
    settingDiffs((n) => `setting ${n} of role ${role} in the database`, expected.roleSettings[role] ?? {}, actual.roleSettings[role] ?? {});
  }
  const keys = new Map<string, DefaultPrivileges>();
  for (const d of [...expected.defaultPrivileges, ...actual.defaultPrivileges]) {
    if (d.schema !== null && !(expected.schemas.includes(d.schema) && actual.schemas.includes(d.schema))) {
      if (expected.defaultPrivileges.includes(d) && !actual.schemas.includes(d.schema)) notes.push(`${dpWhere(d)} not compared: the schema is not in the restored database`);
      continue;
    }
    keys.set(dpKey(d), d);
  }
  for (const [k, d] of [...keys].sort(([a], [b]) => byText(a, b))) {
    const e = expected.defaultPrivileges.find((x) => dpKey(x) === k);
    const a = actual.defaultPrivileges.find((x) => dpKey(x) === k);
    if (!e || !a) {
      const none = d.schema === null ? 'the built-in defaults' : 'no grants';
      differences.push(`${dpWhere(d)}: expected ${e ? grantsWords(e.grants) : none}, found ${a ? grantsWords(a.grants) : none}`);
      continue;
    }
    for (const g of grantDiff(e.grants, a.grants)) {
      differences.push(`${dpWhere(d)} to ${granteeWords(g.grantee)}: expected ${privWords(g.want)}, found ${privWords(g.have)}`);
    }
  }
  return { same: differences.length === 0, differences, notes };
}
