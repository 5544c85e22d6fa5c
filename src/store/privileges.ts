import pg from 'pg';
import { SCHEMA } from './db.js';
import type { Queryable } from './queryable.js';
import { QUEUE_SCHEMA, workQueueGrants } from './work-queue.js';

/**
 * Least privilege in the state database: an owner role runs the migrations; the runtime role the bot connects
 * with may only INSERT and SELECT on the evidence (the audit log, the registers, the signatures and the signed
 * chain heads) and change the state tables. Neither a superuser nor an evidence table's owner could be held to
 * that (`SET session_replication_role`, `ALTER TABLE … DISABLE TRIGGER`), so `doctor` warns about both.
 */
const EVIDENCE_TABLES = ['audit_log', 'backup_register', 'backup_register_events', 'restore_test_register', 'restore_incidents', 'approvals', 'signatures', 'chain_heads'];
const STATE_TABLES = ['runs', 'alerts', 'job_state', 'approval_state', 'slack_deliveries'];
const READ_ONLY = ['schema_migrations', 'approval_rows', 'restore_test_rows', 'backup_rows', 'incident_rows'];

const ROLE_RE = /^[a-z_][a-z0-9_$]{0,62}$/;

/** The statements `backup-bot db grant <role>` runs (as the owner), in order. */
function grantStatements(role: string): string[] {
  if (!ROLE_RE.test(role)) throw new Error(`"${role.slice(0, 64)}" is not a role name (accepted: lowercase letters, digits and _, starting with a letter or _)`);
  const r = pg.escapeIdentifier(role);
  const s = pg.escapeIdentifier(SCHEMA);
  const list = (ts: string[]) => ts.map((t) => `${s}.${pg.escapeIdentifier(t)}`).join(', ');
  return [
    `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
    `REVOKE ALL ON ${list(EVIDENCE_TABLES)} FROM ${r}`,
    `GRANT SELECT, INSERT ON ${list(EVIDENCE_TABLES)} TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ${list(STATE_TABLES)} TO ${r}`,
    `GRANT SELECT ON ${list(READ_ONLY)} TO ${r}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`,
  ];
}

export async function grantRuntimeRole(db: Queryable, role: string): Promise<string[]> {
  const statements = grantStatements(role);
  // The shared work queue's schema (pg-boss), when installed: the runtime role works the queue, the owner installs and upgrades it.
  const queue = await db.query<{ ok: boolean }>('SELECT to_regnamespace($1) IS NOT NULL AS ok', [QUEUE_SCHEMA]);
  if (queue.rows[0]?.ok) statements.push(...workQueueGrants(role));
  for (const q of statements) await db.query(q);
  return statements;
}

export interface RuntimeRoleCheck { role: string; superuser: boolean; ownsEvidence: string[]; canUpdateEvidence: string[] }

/** What the connected role could do to the evidence beyond appending. */
export async function checkRuntimeRole(db: Queryable): Promise<RuntimeRoleCheck> {
  const who = (await db.query<{ role: string; superuser: boolean }>('SELECT current_user AS role, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user')).rows[0]!;
  const owned = await db.query<{ t: string }>(
    `SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2) AND pg_has_role(current_user, c.relowner, 'MEMBER')`,
    [SCHEMA, EVIDENCE_TABLES],
  );
  const upd = await db.query<{ t: string }>(
    `SELECT t FROM unnest($2::text[]) t WHERE to_regclass($1 || '.' || t) IS NOT NULL
        AND (has_table_privilege(current_user, $1 || '.' || t, 'UPDATE') OR has_table_privilege(current_user, $1 || '.' || t, 'DELETE') OR has_table_privilege(current_user, $1 || '.' || t, 'TRUNCATE'))`,
    [SCHEMA, EVIDENCE_TABLES],
  );
  return { role: who.role, superuser: who.superuser, ownsEvidence: owned.rows.map((x) => x.t), canUpdateEvidence: upd.rows.map((x) => x.t) };
}
