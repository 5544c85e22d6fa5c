import type { Command } from 'commander';
import { action, load, printLine } from './command-frame.js';
import { startServer } from '../server.js';

/** `backup-bot serve`: the bot (Slack app, scheduler); on embedded defaults when there is no config file. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the bot: Slack app, scheduled jobs, digest and watchdog')
    .action(action(async (_opts: unknown, cmd: Command) => {
      const loaded = load(cmd, { quiet: true });
      for (const n of loaded.notes) printLine(`backup-bot: ${n}`);
      const server = await startServer(loaded);
      await server.stopped;
      return 0;
    }));
}
