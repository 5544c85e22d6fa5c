import type { Context } from '../context.js';
import type { BackgroundTasks } from './background-tasks.js';

/** What the Slack front doors are handed: the context and the tracker of work started after an ack. */
export interface CommandDeps {
  ctx: Context;
  background: BackgroundTasks;
}
