#!/usr/bin/env -S node --max-semi-space-size=1
import { Command } from 'commander';

type Registrar = (program: Command) => void;

/**
 * Each command's module, loaded only when that command runs: `backup` must not pay for Bolt (serve)
 * or the AWS SDK when it writes to a local directory (start-up time and RSS count in bench:backup).
 */
const COMMANDS: Record<string, () => Promise<Registrar>> = {
  serve: async () => (await import('./cli/serve.js')).registerServeCommand,
  backup: async () => (await import('./cli/backup.js')).registerBackupCommand,
  list: async () => (await import('./cli/list.js')).registerListCommand,
  verify: async () => (await import('./cli/verify.js')).registerVerifyCommand,
  'restore-test': async () => (await import('./cli/restore-test.js')).registerRestoreTestCommand,
  prune: async () => (await import('./cli/prune.js')).registerPruneCommand,
  digest: async () => (await import('./cli/digest.js')).registerDigestCommand,
  register: async () => (await import('./cli/register.js')).registerRegisterCommand,
  doctor: async () => (await import('./cli/doctor.js')).registerDoctorCommand,
  evidence: async () => (await import('./cli/evidence.js')).registerEvidenceCommand,
  db: async () => (await import('./cli/db.js')).registerDbCommand,
  incident: async () => (await import('./cli/incident.js')).registerIncidentCommand,
};

/** The command named in argv (skipping global options and the value of --config), if any. */
export function requestedCommand(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-c' || a === '--config') { i++; continue; }
    if (a.startsWith('-')) continue;
    return a;
  }
  return undefined;
}

/** `backup-bot <command>`: every command takes --config PATH and --json. */
export async function buildProgram(argv: string[]): Promise<Command> {
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
  const wanted = requestedCommand(argv);
  const names = wanted && wanted in COMMANDS ? [wanted] : Object.keys(COMMANDS); // help / unknown: all of them
  for (const name of names) (await COMMANDS[name]!())(program);
  return program;
}

const argv = process.argv.slice(2);
await (await buildProgram(argv)).parseAsync(argv, { from: 'user' });
