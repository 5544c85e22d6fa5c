import { parseDuration } from '../config/duration.js';
import { checkHealth, startApp, stopApp } from '../core/restore/app-control.js';
import { downloadBackup } from '../core/restore/load-backup.js';
import { errorMessage } from '../core/errors.js';
import { runBackup } from './backup.js';
import { MYSQL_STEPS } from './restore-mysql.js';
import { PG_STEPS } from './restore-pg.js';
import { decryptOf, sourcesOf, type EngineSteps, type RestoreState } from './restore-state.js';
import { planOf, type Step } from './runbook.js';
import { appChecksAfterStart, registerChecks } from './restore-check-record.js';

export type { RestoreState, RestoreStrategyName } from './restore-state.js';

async function restartApp(s: RestoreState): Promise<string> {
  const started = await startApp(s.docker, s.cfg.app);
  const health = await checkHealth(s.cfg.app).catch((e: unknown) => `health: ${errorMessage(e)}`);
  s.appStopped = false;
  return `${started}; ${health}`;
}

/**
 * The production-restore runbook (SOP-001 9.2), in the order the SOP gives it, for the client's engine (the
 * same step names and labels for PostgreSQL and MySQL/MariaDB). Every step that changes something has its way
 * back: a failure after the application was stopped restarts it; after the switch, production is swapped back;
 * a replace or (PostgreSQL) partial restore reloads the verified pre-restore backup.
 */
export function restoreSteps(engine: 'postgres' | 'mysql'): Array<Step<RestoreState>> {
  const e = engine === 'mysql' ? MYSQL_STEPS : PG_STEPS;
  return [
    {
      name: 'download',
      label: 'Download the approved backup and check its sha256',
      async run(s) {
        const pre = e.preflight ? `${await e.preflight(s)}; ` : '';
        s.local = await downloadBackup(sourcesOf(s.ctx, s.backup), s.approval.backup_sha256, s.backup.file ?? 'backup', await decryptOf(s, s.backup));
        return `${pre}${s.backup.file}: sha256 ${s.local.sha256.slice(0, 12)}… matches the approved backup`;
      },
    },
    NOTIFY_USERS,
    STOP_APP,
    preRestoreBackup(e),
    e.terminate_connections,
    e.restore,
    e.verify,
    e.switch,
    ...AFTER,
  ];
}

const NOTIFY_USERS: Step<RestoreState> = {
  name: 'notify_users',
  label: 'Notify users (maintenance notice)',
  skip: (s) => (s.cfg.notifyChannel ? undefined : 'no notifyChannel configured for the users'),
  async run(s) {
    const now = s.ctx.clock.now();
    const rto = parseDuration(s.cfg.rto) ?? 4 * 3_600_000;
    const expectedMin = (s.approval.impact as { expectedDowntimeMinutes?: number | null }).expectedDowntimeMinutes;
    const until = new Date(now.getTime() + (expectedMin ? expectedMin * 60_000 * 2 : rto));
    const ref = await s.ctx.reporter.report({ kind: 'users.maintenance', client: s.client, from: now, until });
    return ref ? `maintenance notice posted in <#${s.cfg.notifyChannel}>` : `the maintenance notice could NOT be posted in <#${s.cfg.notifyChannel}> (Slack did not accept it): tell the users another way`;
  },
};

const STOP_APP: Step<RestoreState> = {
  name: 'stop_app',
  label: 'Stop the application',
  skip: (s) => (s.cfg.app ? undefined : `no application configured (clients.${s.client}.app)`),
  async run(s) {
    s.appStopped = true;
    return stopApp(s.docker, s.cfg.app);
  },
  undo: { name: 'restart_app', needed: (s) => s.appStopped, run: restartApp },
};

const preRestoreBackup = (e: EngineSteps): Step<RestoreState> => ({
  name: 'pre_restore_backup',
  label: 'Pre-restore backup (verified)',
  async run(s) {
    const captured = e.captureSettings ? `; ${await e.captureSettings(s)}` : '';
    const out = await runBackup(s.ctx, { client: s.client, type: 'pre-restore', actor: s.userId, actorName: s.actorName, trigger: s.trigger, wait: true, notify: false });
    if (!out.ok || !out.verified || !out.backup) throw new Error(`the pre-restore backup did not complete verified${out.error ? `: ${out.error}` : ''}${out.hint ? ` (check: ${out.hint})` : ''}; the restore does not start without it`);
    s.preBackup = out.backup;
    await s.ctx.store.approvals.setDatabases(s.approval.id, { preRestoreBackupId: out.backup.id });
    return `${out.backup.file} stored and verified${captured}`;
  },
});

const AFTER: Array<Step<RestoreState>> = [
  {
    name: 'start_app',
    label: 'Start the application and check its health',
    skip: (s) => (s.cfg.app ? undefined : `no application configured (clients.${s.client}.app)`),
    async run(s) {
      const started = await startApp(s.docker, s.cfg.app);
      s.appStarted = true;
      s.appStopped = false;
      const health = await checkHealth(s.cfg.app);
      return `${started}; ${health}${await appChecksAfterStart(s)}`;
    },
    undo: {
      name: 'stop_app_again',
      needed: (s) => s.appStarted,
      async run(s) {
        const note = await stopApp(s.docker, s.cfg.app);
        s.appStarted = false;
        s.appStopped = true;
        return note;
      },
    },
  },
  {
    name: 'notify_back',
    label: 'Notify users service is back',
    skip: (s) => (s.cfg.notifyChannel ? undefined : 'no notifyChannel configured for the users'),
    async run(s) {
      const ref = await s.ctx.reporter.report({ kind: 'users.restored', client: s.client, dataAsOf: s.backup.taken_at });
      return ref ? `service-restored notice posted in <#${s.cfg.notifyChannel}> (data as of the backup)` : `the service-restored notice could NOT be posted in <#${s.cfg.notifyChannel}> (Slack did not accept it): tell the users another way`;
    },
  },
  {
    name: 'register',
    label: 'Write the restore register (Prod)',
    async run(s) {
      const ctx = s.ctx;
      const a = (await ctx.store.approvals.get(s.approval.id)) ?? s.approval;
      s.register = await ctx.store.restoreTests.insert({
        runId: s.runId, client: s.client, testedAt: ctx.clock.now(), backupUsed: s.backup.file, environment: 'Prod', restoreMinutes: Math.round((Date.now() - s.t0) / 600) / 100,
        recordsVerified: s.counts, checks: registerChecks(s),
        executedBy: s.actorName, result: 'OK', approvalId: a.id,
        observations: [`Production restore (${s.strategy}) #${a.id} approved by ${a.decided_by_name} (${a.decided_role}) at ${a.decided_at?.toISOString()}`,
          s.preBackup ? `pre-restore backup ${s.preBackup.file}` : '', a.old_database ? `previous ${s.target.engine === 'mysql' ? 'tables' : 'database'} kept as ${a.old_database} until ${a.old_database_drop_after?.toISOString()}` : ''].filter(Boolean).join('; '),
      }, ctx.config.timezone);
      return `restore register row ${s.register.id} (Prod) with approval #${a.id}`;
    },
  },
];

/** The step names and labels as people read them (the same for every engine). */
export const RESTORE_PLAN = planOf(restoreSteps('postgres'));

