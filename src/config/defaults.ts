/**
 * The quickstart: with no config file, `backup-bot serve` runs on these defaults, which work on a
 * fresh machine with a local PostgreSQL (trust auth) and no Slack.
 */
const DEFAULT_STATE_URL = 'postgres://postgres@127.0.0.1:5432/backup_bot';
const DEFAULT_DEMO_URL = 'postgres://postgres@127.0.0.1:5432/backup_bot_demo';

export function embeddedDefaults(env: NodeJS.ProcessEnv): { raw: unknown; notes: string[] } {
  const stateUrl = env.BACKUP_BOT_DATABASE_URL || DEFAULT_STATE_URL;
  const demoUrl = env.BACKUP_BOT_DEMO_DATABASE_URL || DEFAULT_DEMO_URL;
  const notes = [
    'no backup-bot.yml found: using embedded defaults',
    `state database: ${env.BACKUP_BOT_DATABASE_URL ? 'BACKUP_BOT_DATABASE_URL' : 'backup_bot on 127.0.0.1:5432 (created if missing)'}`,
    'storage: ./backups (local)',
    `client "demo": database ${env.BACKUP_BOT_DEMO_DATABASE_URL ? 'BACKUP_BOT_DEMO_DATABASE_URL' : 'backup_bot_demo on 127.0.0.1:5432'} (created with sample data if missing), daily at 03:00 UTC`,
    'no Slack configured: reports are printed to the console',
  ];
  const raw = {
    timezone: 'UTC',
    state: { url: stateUrl },
    storage: { local: { type: 'local', path: './backups' } },
    metrics: { listen: env.BACKUP_BOT_METRICS_LISTEN || '127.0.0.1:9464' },
    clients: {
      demo: {
        database: { engine: 'postgres', url: demoUrl },
        schedule: '0 3 * * *',
        storage: ['local'],
        retention: { scheduled: { days: 30, keep: 30 }, manual: { days: 90 } },
        verify: { minTables: 4, tables: ['lotes', 'movimientos', 'users', 'productos'] },
        rpo: '7d',
        rto: '4h',
      },
    },
  };
  return { raw, notes };
}
