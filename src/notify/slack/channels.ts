import type { Config } from '../../config/schema.js';

/** The Slack channel of a client: its own, else the default one ('console' when Slack is not configured). */
export function clientChannel(config: Pick<Config, 'clients' | 'slack'>, client: string): string {
  const c = Object.prototype.hasOwnProperty.call(config.clients, client) ? config.clients[client] : undefined;
  return c?.channel ?? config.slack?.channel ?? 'console';
}
