import type { ClientConfig } from '../config/schema.js';

/** Slack mention of a user (`<@U…>`) or a user group (`<!subteam^S…>`). */
export function mention(id: string): string {
  return id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`;
}

/** Who is paged about a client's backups: its operators, else its IT managers. */
export function mentionsFor(client: Pick<ClientConfig, 'roles'>): string {
  const ids = client.roles.operators.length > 0 ? client.roles.operators : client.roles.itManagers;
  return ids.map(mention).join(' ');
}
