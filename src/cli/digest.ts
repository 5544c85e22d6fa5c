import type { Command } from 'commander';
import { action, globals, printJson, printLine, withContext } from './command-frame.js';
import { buildDigest } from '../operations/digest.js';
import { renderDigestText } from '../notify/slack/render/digest.js';

/** `backup-bot digest [--json]`: the status digest of every client (the same data the daily Slack digest posts). */
export function registerDigestCommand(program: Command): void {
  program
    .command('digest')
    .description('print the status digest of every client')
    .action(action(async (_opts: unknown, cmd: Command) => {
      const json = globals(cmd).json;
      return withContext(cmd, async (ctx) => {
        const digest = await buildDigest(ctx);
        if (json) printJson(digest);
        else printLine(renderDigestText(digest));
        return 0;
      });
    }));
}
