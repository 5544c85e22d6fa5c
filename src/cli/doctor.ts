import type { Command } from 'commander';
import { action, globals, load, printJson, printLine } from './command-frame.js';
import { doctor } from '../operations/doctor.js';

/** `backup-bot doctor`: one line per check, exit 1 if any fails. */
export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check config, state database, client databases and dump tools, storage, Docker and Slack')
    .action(action(async (_opts: unknown, cmd: Command) => {
      const { config, source } = load(cmd);
      const checks = await doctor(config, source);
      if (globals(cmd).json) printJson({ ok: checks.every((c) => c.ok), checks });
      else for (const c of checks) printLine(`${!c.ok ? 'FAIL' : c.warn ? 'WARN' : 'ok  '}  ${c.name}: ${c.detail}`);
      return checks.every((c) => c.ok) ? 0 : 1;
    }));
}
