import type { Context } from '../context.js';
import type { BackgroundTasks } from './background-tasks.js';

/** What the Slack front doors are handed: the context and the tracker of work started after an ack. */
/** The shared work queue's door for people's requests (issue 21); a `serve` without it runs them at once. */
export interface RequestQueue {
  enqueueBackupRequest(r: { client: string; actor: string; actorName: string }): Promise<{ id: string; ahead: number }>;
  /** The work waiting in the queue, oldest first (`/backup status`). */
  figures(): Promise<{ waiting: Array<{ name: string; waitedSeconds: number }> }>;
}

export interface CommandDeps {
  ctx: Context;
  background: BackgroundTasks;
  /** The work queue when `serve` runs one (read when the command comes: it starts after the Slack app). */
  queue?: () => RequestQueue | undefined;
}
