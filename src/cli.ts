#!/usr/bin/env node
import { Command } from 'commander';
import { registerServeCommand } from './cli/serve.js';
import { registerDoctorCommand } from './cli/doctor.js';
import { registerRegisterCommand } from './cli/register.js';
import { notYet } from './cli/common.js';

/** `backup-bot <command>`: every command takes --config PATH and --json. */
export function buildProgram(): Command {
  const program = new Command()
    .name('backup-bot')
    .description('Scheduled, verified backups; restore tests in Docker staging; production restores gated by written approval.')
    .option('-c, --config <path>', 'config file (default ./backup-bot.yml or $BACKUP_BOT_CONFIG)')
    .option('--json', 'machine-readable output')
    .showHelpAfterError()
    .exitOverride((err) => {
      // Usage mistakes (unknown command/option, missing argument) exit 2; --help/--version exit 0.
      process.exit(err.exitCode === 0 ? 0 : 2);
    });

  registerServeCommand(program);
  program.command('backup').description('take a backup of a client now').argument('<client>').action(notYet('backup', 'the backup engine issue'));
  program.command('list').description('list stored backups of a client').argument('<client>').action(notYet('list', 'the backup engine issue'));
  program.command('verify').description('read back and verify a stored backup').argument('<client>').action(notYet('verify', 'the backup engine issue'));
  program.command('restore-test').description('restore a backup into a throwaway Docker container and verify it').argument('<client>').action(notYet('restore-test', 'the restore-test issue'));
  program.command('prune').description('apply the retention policy').argument('<client>').action(notYet('prune', 'the backup engine issue'));
  program.command('digest').description('print the status digest of every client').action(notYet('digest', 'the scheduled jobs issue'));
  registerRegisterCommand(program);
  registerDoctorCommand(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
