import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { z } from 'zod';
import { errorMessage } from '../core/errors.js';
import { messageModal } from '../notify/slack/render/restore.js';
import type { CommandDeps } from '../commands/deps.js';
import { userName } from '../commands/reply.js';

/**
 * The frame every modal submission of this bot shares: read the form (its private_metadata against the form's
 * schema, its inputs), refuse inline what the payload alone shows is wrong, otherwise acknowledge at once with a
 * "working" modal (Slack's 3 s) and, after the ack, let the operation decide from the state database (role,
 * state) and show its outcome in the modal. What is decided and what the user reads stays with each handler.
 */

export type SubmissionArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** The modal's inputs as Slack sends them: block id → action id → what was typed, chosen or ticked. */
export type SubmittedValues = Record<string, Record<string, {
  value?: string | null;
  selected_option?: { value: string } | null;
  selected_options?: Array<{ value: string }>;
  selected_date_time?: number | null;
}>>;

/** The form's private_metadata checked against its schema; undefined when it is not JSON or not this form's. */
export function readFormMetadata<S extends z.ZodTypeAny>(schema: S, raw: string | undefined): z.infer<S> | undefined {
  try {
    const r = schema.safeParse(JSON.parse(raw || '{}'));
    return r.success ? (r.data as z.infer<S>) : undefined;
  } catch {
    return undefined;
  }
}

export function submittedValues(args: SubmissionArgs): SubmittedValues {
  return args.view.state.values as unknown as SubmittedValues;
}

/** Refused inline: the modal stays open with each message under its input; nothing is done. */
export async function refuse(args: SubmissionArgs, errors: Record<string, string>): Promise<void> {
  await args.ack({ response_action: 'errors', errors });
}

/** The submitter's name for the records (Slack's users.info, at most 3 s; else the name in the payload, else the ID). */
export function submitterName(args: SubmissionArgs): Promise<string> {
  return userName(args.client, args.body.user.id, args.body.user.name);
}

export interface Accepted {
  /** The modal's title, kept while working and with the outcome. */
  title: string;
  /** What the modal says until the outcome is known. */
  working: string;
  /** The background task's name (logged if it fails). */
  task: string;
  /** Logged (warn) when the outcome cannot be shown in the modal. */
  showFailed: string;
  /** The work after the ack; returns what the modal then says. */
  outcome: () => Promise<string>;
}

/** Accepted: acknowledged with the "working" modal, then the outcome, computed in the background, replaces it. */
export async function acceptThenShow(deps: CommandDeps, args: SubmissionArgs, a: Accepted): Promise<void> {
  const { ack, view, client } = args;
  await ack({ response_action: 'update', view: messageModal(a.title, a.working) as never });
  deps.background.run(a.task, async () => {
    const text = await a.outcome();
    await client.views.update({ view_id: view.id, view: messageModal(a.title, text) as never })
      .catch((err: unknown) => deps.ctx.logger.warn({ err: errorMessage(err) }, a.showFailed));
  });
}
