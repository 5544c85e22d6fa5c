import type { RespondFn } from '@slack/bolt';
import type { Context } from '../context.js';
import type { Run } from '../store/runs.js';
import { formatDateTime } from '../core/time.js';
import { errorMessage } from '../core/errors.js';
import type { BackgroundTasks } from './background-tasks.js';

export interface Ephemeral { response_type: 'ephemeral'; text: string; blocks?: unknown[] }

export function ephemeral(text: string): Ephemeral {
  return { response_type: 'ephemeral', text };
}

/** Link to a message (the archive form, which Slack resolves in any workspace the reader belongs to). */
function messageLink(channel: string, ts: string): string {
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
 * Slack waits 3 seconds for an acknowledgement, and a Web API call, a Docker call or a slow query can take
 * longer: every slash command acknowledges at once, does its work after, and answers through response_url
 * (an ephemeral message only the user sees). A failure is answered too, never lost.
 */
export async function ackThenAnswer(
  deps: { ctx: Pick<Context, 'logger'>; background: BackgroundTasks },
  args: { ack: () => Promise<void>; respond: RespondFn },
  name: string,
  work: (answer: (m: Ephemeral) => Promise<void>) => Promise<Ephemeral | void>,
): Promise<void> {
  await args.ack();
  const answer = async (m: Ephemeral) => {
    await args.respond(m).catch((err: unknown) => deps.ctx.logger.warn({ task: name, err: errorMessage(err) }, 'could not answer through response_url'));
  };
  deps.background.run(name, async () => {
    let m: Ephemeral | void;
    try {
      m = await work(answer);
    } catch (err) {
      deps.ctx.logger.error({ task: name, err: errorMessage(err) }, 'slash command failed');
      m = ephemeral(`:x: Sorry, that did not work: ${errorMessage(err).slice(0, 500)}`);
    }
    if (m) await answer(m);
  });
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
