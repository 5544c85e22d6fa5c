import type { Connection } from 'mysql2/promise';
import type { DbTarget } from '../db-url.js';
import { currentAccount, myIdent, rows, withMysql } from './mysql-admin.js';

/**
 * Preflight of a MySQL/MariaDB production restore: does the bot's account hold every privilege the
 * restore needs, BEFORE anything changes? Read from information_schema (USER_PRIVILEGES,
 * SCHEMA_PRIVILEGES, TABLE_PRIVILEGES) for CURRENT_USER() and its current role. When something is missing,
 * the answer lists it and the exact GRANT statements that would give it.
 *
 * Swap: `RENAME TABLE prod.t TO old.t, restore.t TO prod.t` needs ALTER and DROP on the tables it moves out
 * and CREATE and INSERT where they arrive, in each of the three databases; creating and dropping
 * `<db>__restore_<id>` / `<db>__old_<id>` needs CREATE and DROP on them (granted on the name pattern);
 * recreating views, triggers, routines (and events) needs CREATE VIEW, SHOW VIEW, TRIGGER, CREATE ROUTINE,
 * ALTER ROUTINE (EVENT) on production; the lock probe needs LOCK TABLES. Recreating objects whose DEFINER is
 * another account needs SET USER (or SUPER); reading another account's routines needs SELECT on mysql.proc.
 * Ending other accounts' sessions needs PROCESS (to see them) and CONNECTION ADMIN (or SUPER).
 */

interface MissingPrivilege {
  privilege: string;
  /** GRANT target: `*.*`, `` `prod`.* ``, `` `prod\_\_restore\_%`.* ``, `` `mysql`.`proc` ``. */
  on: string;
  why: string;
  /** Any one of these also does (SUPER for CONNECTION ADMIN …). */
  alternatives?: string[];
}

export interface PrivilegeCheck {
  ok: boolean;
  /** `'bot'@'%'` */
  account: string;
  missing: MissingPrivilege[];
  /** GRANT statements that give what is missing (run them as an administrator). */
  grants: string[];
  /** A sentence for the user (empty when ok). */
  message: string;
}

export interface PrivilegeNeeds {
  strategy: 'swap' | 'replace';
  /** The restored copy and the old database the swap will create (checked against name-pattern grants). */
  restoreDb?: string;
  oldDb?: string;
  /** Partial swap: no views/routines/events are replaced. */
  partial?: boolean;
  /** Events are replaced (the dump has an events section). */
  events?: boolean;
  /** The terminate-connections step ends other accounts' sessions. */
  endConnections?: boolean;
}

/** `prod__restore_12` → the pattern `prod\_\_restore\_%` (for a GRANT on every restore database of prod). */
export function namePattern(prodDb: string, infix: '__restore_' | '__old_'): string {
  const esc = (s: string) => s.replace(/[\\_%]/g, (m) => `\\${m}`);
  return `${esc(prodDb)}${esc(infix)}%`;
}

const SCRATCH_DB_PRIVS = [
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'ALTER', 'INDEX', 'REFERENCES', 'CREATE TEMPORARY TABLES', 'LOCK TABLES',
  'CREATE VIEW', 'SHOW VIEW', 'TRIGGER', 'CREATE ROUTINE', 'ALTER ROUTINE', 'EXECUTE', 'EVENT',
];

async function held(c: Connection, grantees: string[], db: string | null): Promise<Set<string>> {
  const inList = grantees.map(() => '?').join(',');
  const g = await rows<{ p: string }>(c, `SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES WHERE GRANTEE IN (${inList})`, grantees);
  const out = new Set(g.map((r) => r.p.toUpperCase()));
  if (db !== null) {
    const s = await rows<{ p: string }>(c, `SELECT PRIVILEGE_TYPE AS p FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE IN (${inList}) AND ? LIKE TABLE_SCHEMA`, [...grantees, db]);
    for (const r of s) out.add(r.p.toUpperCase());
  }
  return out;
}

/** Checks the privileges a restore of `t.database` needs (see the module comment). Changes nothing. */
export async function checkRestorePrivileges(t: DbTarget, needs: PrivilegeNeeds): Promise<PrivilegeCheck> {
  return withMysql(t, async (c) => {
    const acc = await currentAccount(c);
    const grantees = [acc.grantee, ...acc.roles];
    const prodDb = t.database;
    const missing: MissingPrivilege[] = [];
    const globalPrivs = await held(c, grantees, null);
    const want = (privs: Set<string>, list: string[], on: string, why: string) => {
      for (const p of list) if (!privs.has(p)) missing.push({ privilege: p, on, why });
    };

    const prodPrivs = await held(c, grantees, prodDb);
    if (needs.strategy === 'replace') {
      want(prodPrivs, SCRATCH_DB_PRIVS, `${myIdent(prodDb)}.*`, 'the replace strategy drops, creates and loads the production database');
    } else {
      const objectPrivs = needs.partial ? ['TRIGGER'] : ['CREATE VIEW', 'SHOW VIEW', 'TRIGGER', 'CREATE ROUTINE', 'ALTER ROUTINE', ...(needs.events ? ['EVENT'] : [])];
      want(prodPrivs, ['SELECT', 'INSERT', 'CREATE', 'DROP', 'ALTER', 'LOCK TABLES'], `${myIdent(prodDb)}.*`, 'RENAME TABLE moves production\'s tables out (ALTER, DROP) and the restored ones in (CREATE, INSERT); LOCK TABLES waits for them to be free');
      want(prodPrivs, objectPrivs, `${myIdent(prodDb)}.*`, 'views, triggers and routines are recreated in production');
      for (const [db, infix] of [[needs.restoreDb, '__restore_'], [needs.oldDb, '__old_']] as const) {
        const name = db ?? `${prodDb}${infix}0`;
        want(await held(c, grantees, name), SCRATCH_DB_PRIVS, `${myIdent(namePattern(prodDb, infix))}.*`, infix === '__restore_' ? 'the backup is loaded into a new database, verified, then moved in' : 'production\'s tables are kept aside there');
      }
      if (!needs.partial) {
        // SHOW CREATE PROCEDURE/FUNCTION of a routine another account defined needs SELECT on mysql.proc
        // (MariaDB < 11.3; SHOW CREATE ROUTINE after). Which routines exist cannot be seen without it.
        const proc = await rows<{ p: string }>(
          c,
          `SELECT PRIVILEGE_TYPE AS p FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE IN (${grantees.map(() => '?').join(',')}) AND TABLE_SCHEMA = 'mysql' AND TABLE_NAME = 'proc'`,
          grantees,
        );
        const mysqlPrivs = await held(c, grantees, 'mysql');
        if (!mysqlPrivs.has('SELECT') && !proc.some((r) => r.p.toUpperCase() === 'SELECT') && !globalPrivs.has('SHOW CREATE ROUTINE')) {
          missing.push({ privilege: 'SELECT', on: '`mysql`.`proc`', why: 'reading the definitions of the routines (SHOW CREATE PROCEDURE/FUNCTION)', alternatives: ['SHOW CREATE ROUTINE'] });
        }
      }
    }
    // Objects defined by other accounts can only be recreated with SET USER (or SUPER).
    const definers = await rows<{ d: string }>(
      c,
      `SELECT DEFINER AS d FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?
       UNION SELECT DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?
       UNION SELECT DEFINER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?
       UNION SELECT DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?`,
      [prodDb, prodDb, prodDb, prodDb],
    );
    const others = definers.map((r) => r.d).filter((d) => d && d !== `${acc.user}@${acc.host}`);
    // information_schema shows only the objects the account has privileges on: while those are missing, the
    // definers cannot all be seen, so SET USER is asked for too.
    const blind = missing.some((m) => ['TRIGGER', 'SHOW VIEW', 'SELECT'].includes(m.privilege) && m.on !== '*.*');
    if ((others.length || blind) && !globalPrivs.has('SET USER') && !globalPrivs.has('SUPER')) {
      missing.push({
        privilege: 'SET USER', on: '*.*', alternatives: ['SUPER'],
        why: others.length ? `views/triggers/routines are defined by ${others.slice(0, 3).join(', ')}; recreating them with that DEFINER` : 'views/triggers/routines defined by another account are recreated with their DEFINER (the account cannot see them all yet)',
      });
    }
    if (needs.endConnections) {
      if (!globalPrivs.has('PROCESS')) missing.push({ privilege: 'PROCESS', on: '*.*', why: 'seeing the other sessions on the production database' });
      if (!globalPrivs.has('CONNECTION ADMIN') && !globalPrivs.has('SUPER')) missing.push({ privilege: 'CONNECTION ADMIN', on: '*.*', why: 'ending (KILL) other accounts\' sessions on the production database', alternatives: ['SUPER'] });
    }

    const byTarget = new Map<string, string[]>();
    for (const m of missing) {
      if (!byTarget.has(m.on)) byTarget.set(m.on, []);
      const l = byTarget.get(m.on)!;
      if (!l.includes(m.privilege)) l.push(m.privilege);
    }
    const grants = [...byTarget].map(([on, privs]) => {
      const all = on.endsWith('%`.*') && SCRATCH_DB_PRIVS.every((p) => privs.includes(p));
      return `GRANT ${all ? 'ALL PRIVILEGES' : privs.join(', ')} ON ${on} TO ${acc.grantee};`;
    });
    const message = missing.length === 0 ? '' :
      `the MySQL account ${acc.grantee} lacks privileges the ${needs.strategy} restore of "${prodDb}" needs: ` +
      [...byTarget].map(([on, privs]) => `${privs.join(', ')} on ${on}`).join('; ') +
      `. Nothing was changed. An administrator can grant them with: ${grants.join(' ')}`;
    return { ok: missing.length === 0, account: acc.grantee, missing, grants, message };
  });
}
