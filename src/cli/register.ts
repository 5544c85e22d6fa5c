import type { Command } from 'commander';
import { action, globals, withContext } from './command-frame.js';
import { UserError } from '../core/errors.js';
import { exportRegister, exportApprovalsRegister, type RegisterFormat, type RegisterName } from '../operations/export-register.js';

const REGISTERS = ['backups', 'restore-tests', 'incidents', 'approvals'];

/** `backup-bot register backups|restore-tests|incidents|approvals [--client NAME] [--format csv|json]` */
export function registerRegisterCommand(program: Command): void {
  program
    .command('register')
    .description('export a SOP-001 register: backups (section 11), restore-tests (section 12), incidents (section 13.5) or approvals (production restores, signed)')
    .argument('<register>', `which register: ${REGISTERS.join(' | ')}`)
    .option('--client <name>', 'only this client')
    .option('--format <format>', 'csv or json (default csv; json with --json)')
    .action(action(async (register: string, opts: { client?: string; format?: string }, cmd: Command) => {
      if (!REGISTERS.includes(register)) throw new UserError(`unknown register "${register.slice(0, 40)}" (accepted: ${REGISTERS.join(', ')})`);
      const format = (opts.format ?? (globals(cmd).json ? 'json' : 'csv')) as RegisterFormat;
      if (format !== 'csv' && format !== 'json') throw new UserError(`unknown format "${String(opts.format).slice(0, 40)}" (accepted: csv, json)`);
      await withContext(cmd, async (ctx) => {
        const tz = ctx.config.timezone;
        const out = register === 'approvals'
          ? await exportApprovalsRegister(ctx, { client: opts.client, format, timezone: tz })
          : await exportRegister(ctx, { register: register as RegisterName, client: opts.client, format, timezone: tz });
        process.stdout.write(out.endsWith('\n') ? out : out + '\n');
      }, { ...(opts.client ? { client: opts.client } : {}), poolSize: 2 });
    }));
}
