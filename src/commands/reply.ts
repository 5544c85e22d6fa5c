import type { RespondFn } from '@slack/bolt';
import type { Context } from '../context.js';
import type { Run } from '../store/runs.js';
import { formatDateTime } from '../core/time.js';
import { errorMessage } from '../core/errors.js';

export interface Ephemeral { response_type: 'ephemeral'; text: string; blocks?: unknown[] }

export function ephemeral(text: string): Ephemeral {
  return { response_type: 'ephemeral', text };
}

/** Link to a message (the archive form, which Slack resolves in any workspace the reader belongs to). */
export function messageLink(channel: string, ts: string): string {
  return `https://slack.com/archives/${channel}/p${ts.replace('.', '')}`;
}

/** "It is already running" with a link to the run's message (when it has one). */
export function busyText(ctx: Context, what: string, client: string, run: Run): string {
  const since = formatDateTime(new Date(run.started_at), ctx.config.timezone);
  const who = run.actor && /^[UW][A-Z0-9]+$/.test(run.actor) ? `<@${run.actor}>` : run.actor;
  const where = run.slack_channel && run.slack_ts
    ? `Follow it here: ${messageLink(run.slack_channel, run.slack_ts)}`
    : 'Its progress message has not been posted yet; it will appear in the client\'s channel.';
  return `:hourglass_flowing_sand: A ${what} of *${client}* is already running (run ${run.id}, started ${since} by ${who}, step "${run.step ?? 'started'}"). Nothing new was started. ${where}`;
}

/**
 * Answers within Slack's 3 seconds: when `work` is done within `budgetMs` its answer is the ack;
 * otherwise the ack says it is on its way and the answer goes through response_url (one use).
 */
export async function ackOrRespond(ack: (m: Ephemeral) => Promise<void>, respond: RespondFn, work: () => Promise<Ephemeral>, budgetMs = 2000): Promise<void> {
  const p = work().catch((err: unknown) => ephemeral(`:x: Sorry, that did not work: ${errorMessage(err).slice(0, 500)}`));
  const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), budgetMs).unref());
  const first = await Promise.race([p, timer]);
  if (first !== 'late') { await ack(first); return; }
  await ack(ephemeral(':hourglass: Working on it…'));
  await respond(await p);
}

/** The person's display name from Slack (users.info real_name), or the ID when Slack does not answer quickly. */
export async function userName(client: { users: { info(a: { user: string }): Promise<{ user?: { real_name?: string; name?: string; profile?: { real_name?: string } } }> } }, userId: string, fallback?: string): Promise<string> {
  try {
    const r = await Promise.race([client.users.info({ user: userId }), new Promise<undefined>((res) => setTimeout(() => res(undefined), 3000).unref())]);
    return r?.user?.real_name || r?.user?.profile?.real_name || r?.user?.name || fallback || userId;
  } catch {
    return fallback || userId;
  }
}
