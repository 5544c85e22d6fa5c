import type { Context } from '../context.js';
import type { Role } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';

export type { Role };

const ROLES: Role[] = ['operators', 'qa', 'itManagers', 'systemOwners'];

/** How a role is named to people. */
export const ROLE_LABEL: Record<Role, string> = { systemOwners: 'System Owner', itManagers: 'IT Manager', qa: 'QA', operators: 'operator' };

/** Resolves the members of a Slack user group (S…); `usergroups.users.list` in production. */
export interface UsergroupDirectory { members(groupId: string, o?: { fresh?: boolean }): Promise<string[]> }

const directories = new WeakMap<object, UsergroupDirectory>();
const GROUP_TTL_MS = 60_000;

/** Lets hasRole resolve user groups through Slack for this context (set by the Slack app). */
export function setUsergroupDirectory(ctx: Context, dir: UsergroupDirectory | undefined): void {
  if (dir) directories.set(ctx, dir); else directories.delete(ctx);
}

/** A directory over `usergroups.users.list`, caching each group's members briefly (60 s). */
export function cachedUsergroupDirectory(list: (groupId: string) => Promise<string[]>, ttlMs = GROUP_TTL_MS, now: () => number = Date.now): UsergroupDirectory {
  const cache = new Map<string, { at: number; members: string[] }>();
  return {
    async members(groupId, o = {}) {
      const hit = cache.get(groupId);
      if (hit && !o.fresh && now() - hit.at < ttlMs) return hit.members;
      const members = await list(groupId);
      cache.set(groupId, { at: now(), members });
      return members;
    },
  };
}

function roleMembers(ctx: Context, client: string, role: Role): string[] {
  const c = Object.prototype.hasOwnProperty.call(ctx.config.clients, client) ? ctx.config.clients[client] : undefined;
  return c ? c.roles[role] : [];
}

/**
 * True when `userId` holds `role` for `client`: listed by user ID (U…/W…) or a member of a listed user
 * group (S…), resolved through Slack (cached a minute; `fresh` asks Slack again, as the restore start gate
 * does). An unknown client, or a group that cannot be resolved, grants nothing.
 */
export async function hasRole(ctx: Context, client: string, userId: string, role: Role, o: { fresh?: boolean } = {}): Promise<boolean> {
  const members = roleMembers(ctx, client, role);
  if (members.includes(userId)) return true;
  const groups = members.filter((m) => m.startsWith('S'));
  if (groups.length === 0) return false;
  const dir = directories.get(ctx);
  if (!dir) {
    ctx.logger.warn({ client, role, groups }, 'role lists user groups but no Slack directory is available to resolve them');
    return false;
  }
  for (const g of groups) {
    try {
      if ((await dir.members(g, o)).includes(userId)) return true;
    } catch (err) {
      ctx.logger.warn({ client, role, group: g, err: errorMessage(err) }, 'could not resolve user group members');
    }
  }
  return false;
}

/** The roles `userId` holds for `client`. */
export async function rolesOf(ctx: Context, client: string, userId: string): Promise<Role[]> {
  const out: Role[] = [];
  for (const r of ROLES) if (await hasRole(ctx, client, userId, r)) out.push(r);
  return out;
}

/** The clients on which `userId` holds at least one role (optionally a given one). */
export async function clientsOf(ctx: Context, userId: string, role?: Role): Promise<string[]> {
  const out: string[] = [];
  for (const name of Object.keys(ctx.config.clients)) {
    if (role ? await hasRole(ctx, name, userId, role) : (await rolesOf(ctx, name, userId)).length > 0) out.push(name);
  }
  return out;
}

export interface AuthorizeInput {
  client: string;
  userId: string;
  /** The role needed; `'any'` accepts any role of the client (read-only commands). */
  role: Role | 'any';
  /** What was attempted, for the message and the audit log (e.g. "run a backup", "backup.now"). */
  action: string;
}

/**
 * Checks a role from the config (never from anything the request carried). A refusal is a polite message and an
 * audit entry `authz.refused`. Need to know: to someone without any role on it, a client that exists and one
 * that does not read the same, so nobody learns the names of other teams' clients.
 */
export async function authorize(ctx: Context, input: AuthorizeInput): Promise<{ ok: true } | { ok: false; message: string }> {
  const { client, userId, role, action } = input;
  const known = Object.prototype.hasOwnProperty.call(ctx.config.clients, client);
  const held = known ? await rolesOf(ctx, client, userId) : [];
  if (role === 'any' ? held.length > 0 : held.includes(role)) return { ok: true };
  const shown = client.slice(0, 63);
  const message = held.length === 0
    ? `Sorry, there is no client "${shown}" on which you hold a role, so you cannot ${action.replace(shown, 'it')}. Nothing was done. ${await yourClients(ctx, userId)}`
    : `Sorry, to ${action} you need the *${ROLE_LABEL[role as Role]}* role on *${client}*. Nothing was done. Ask an administrator to add your Slack user ID (${userId}) or one of your user groups to \`clients.${client}.roles.${role}\`.`;
  await ctx.store.audit.append({
    actor: userId, action: 'authz.refused', client: shown, target: action,
    reason: held.length === 0 ? (known ? 'no role on this client' : 'unknown client') : `missing role ${role}`,
    details: { role, action },
  });
  return { ok: false, message };
}

/** The clients a person may act on, with their roles (never the others). */
export async function yourClients(ctx: Context, userId: string): Promise<string> {
  const lines: string[] = [];
  for (const name of Object.keys(ctx.config.clients)) {
    const roles = await rolesOf(ctx, name, userId);
    if (roles.length) lines.push(`*${name}* (${roles.map((r) => ROLE_LABEL[r]).join(', ')})`);
  }
  return lines.length
    ? `Your clients: ${lines.join(', ')}.`
    : `You hold no role on any client yet: ask an administrator to add your Slack user ID (${userId}) to \`clients.<name>.roles\`.`;
}
