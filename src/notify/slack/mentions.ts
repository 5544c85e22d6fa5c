import type { ClientConfig, Role } from '../../config/schema.js';
import { literal } from './literal.js';

/**
 * Slack mention of a user (`<@U…>`) or a user group (`<!subteam^S…>`). Anything that is not such an ID (a CLI
 * user's name, an edited row) is shown as text, never spliced into `<…>`.
 */
export function mention(id: string): string {
  if (!/^[UWS][A-Z0-9]{2,20}$/.test(id)) return literal(id);
  return id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`;
}

/**
 * The people of a client with any of `roles`, as mentions. A client with no operators configured pages its
 * IT managers instead when operators are asked for (someone must hear about a failed backup).
 */
export function mentionsOf(client: Pick<ClientConfig, 'roles'>, roles: Role[]): string {
  const ids = new Set(roles.flatMap((r) => client.roles[r]));
  if (roles.includes('operators') && client.roles.operators.length === 0) for (const id of client.roles.itManagers) ids.add(id);
  return [...ids].map(mention).join(' ');
}
