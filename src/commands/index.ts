import type { App } from '@slack/bolt';
import type { CommandDeps } from './deps.js';
import { parseBackupCommand } from './parse.js';
import { backupNow } from './backup-now.js';
import { backupStatus } from './backup-status.js';
import { backupList } from './backup-list.js';
import { backupLog } from './backup-log.js';
import { backupHelp } from './backup-help.js';
import { backupReport } from './backup-report.js';
import { restoreTest } from './restore-test.js';
import { restoreCommand } from './restore.js';
import { INCIDENT_VIEW_ID, RESTORE_REQUEST_VIEW_ID } from '../approvals/index.js';
import { backupIncident } from './backup-incident.js';

export type { CommandDeps } from './deps.js';

/** The slash commands (also in manifest.yml); nowhere else. */
export const BACKUP_COMMAND = '/backup';
export const RESTORE_TEST_COMMAND = '/restore-test';
export const RESTORE_COMMAND = '/restore';

/** Registers every slash command; each handler acks at once (within Slack's 3 seconds) and answers after. */
export function register(app: App, deps: CommandDeps): void {
  app.command(BACKUP_COMMAND, async (args) => {
    const parsed = parseBackupCommand(args.command.text ?? '');
    switch (parsed.sub) {
      case 'help': return backupHelp(deps, args, parsed.problem);
      case 'now': return backupNow(deps, args, parsed.client, parsed.preChange);
      case 'incident': return backupIncident(deps, args, { client: parsed.client, incidentView: INCIDENT_VIEW_ID, ...(parsed.incidentId ? { incidentId: parsed.incidentId } : {}) });
      case 'status': return backupStatus(deps, args, parsed.client);
      case 'list': return backupList(deps, args, parsed.client);
      case 'log': return backupLog(deps, args, parsed.client);
      case 'report': return backupReport(deps, args, parsed.client, parsed.quarter);
    }
  });
  app.command(RESTORE_TEST_COMMAND, (args) => restoreTest(deps, args));
  app.command(RESTORE_COMMAND, (args) => restoreCommand(deps, args, { requestView: RESTORE_REQUEST_VIEW_ID }));
}
