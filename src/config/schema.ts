import { z } from 'zod';
import { isCronExpression, isTimezone } from './cron.js';
import { parseDuration } from './duration.js';
import { isAgeIdentity, isAgeRecipient } from './age-keys.js';

/**
 * The configuration contract. Keys are added beside existing ones, never renamed.
 * Every object is strict: an unknown key (a typo) is an error naming its path.
 */

const nonEmpty = z.string().trim().min(1, 'must not be empty');

const cron = z.string().refine(isCronExpression, {
  error: (iss) => `${JSON.stringify(iss.input)} is not a cron expression (5 fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * 0")`,
});

const duration = z.string().refine((v) => parseDuration(v) !== undefined, {
  error: (iss) => `${JSON.stringify(iss.input)} is not a duration (accepted: a number and a unit w/d/h/m/s, e.g. "7d", "4h", "30m")`,
});

const timezone = z.string().refine(isTimezone, {
  error: (iss) => `${JSON.stringify(iss.input)} is not a time zone (accepted: an IANA name such as "UTC" or "America/Argentina/Buenos_Aires")`,
});

/** Names used in storage keys, container labels, lock keys and Slack text: no shell or path metacharacters. */
export const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const name = (what: string) => z.string().regex(NAME_RE, `${what} must be lowercase letters, digits, "-" or "_" (1-63 characters, starting with a letter or digit)`);

/** Slack user IDs (U…/W…) and user-group IDs (S…). */
const slackPrincipal = z.string().regex(/^[UWS][A-Z0-9]{2,20}$/, 'must be a Slack user ID (U…/W…) or user-group ID (S…)');
const slackChannel = z.string().regex(/^[CGD][A-Z0-9]{2,20}$/, 'must be a Slack channel ID (C…/G…)');
const sqlIdentifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$/, 'must be a table name (optionally schema.table)');
const command = z.array(nonEmpty).min(1, 'must be a command as a list: [program, arg, ...]');
const absolutePath = z.string().refine((p) => p.startsWith('/'), 'must be an absolute path');

const s3Destination = z.strictObject({
  type: z.literal('s3'),
  bucket: nonEmpty,
  prefix: z.string().default(''),
  endpoint: z.url().optional(),
  region: z.string().default('us-east-1'),
  forcePathStyle: z.boolean().default(false),
  accessKeyId: z.string().optional(),
  secretAccessKey: z.string().optional(),
  sessionToken: z.string().optional(),
  /** AWS SDK >= 3.729 sends CRC32 checksums by default; R2/B2/older MinIO need WHEN_REQUIRED. */
  requestChecksumCalculation: z.enum(['WHEN_SUPPORTED', 'WHEN_REQUIRED']).default('WHEN_SUPPORTED'),
  responseChecksumValidation: z.enum(['WHEN_SUPPORTED', 'WHEN_REQUIRED']).default('WHEN_SUPPORTED'),
  /** Multipart part size in MiB (S3 minimum 5). */
  partSizeMb: z.number().int().min(5, 'must be at least 5 (S3\'s smallest part)').max(1024, 'must be at most 1024: the upload holds partSizeMb × (queueSize + 1) in memory').default(8),
  /** Parts uploaded at once; the upload holds partSizeMb × (queueSize + 1) in memory (a fixed pool of part buffers). */
  queueSize: z.number().int().min(1).max(16).default(2),
  /** Server-side encryption asked for on every put (PutObject and CreateMultipartUpload). */
  sse: z.enum(['AES256', 'aws:kms']).optional(),
  /** KMS key (id, ARN or alias) for `sse: aws:kms`; without it the bucket's default KMS key is used. */
  kmsKeyId: nonEmpty.optional(),
  /**
   * S3 Object Lock retention put on every object written here (the bucket must have been created with
   * Object Lock). Retention keeps such objects until the date, and never counts them against `keep`.
   */
  objectLock: z.strictObject({
    mode: z.enum(['GOVERNANCE', 'COMPLIANCE']),
    days: z.number().int().min(1).max(36500),
  }).optional(),
}).superRefine((d, ctx) => {
  if (d.kmsKeyId && d.sse !== 'aws:kms') ctx.addIssue({ code: 'custom', path: ['kmsKeyId'], message: 'is only used with sse: "aws:kms" (set sse: aws:kms, or remove kmsKeyId)' });
});

const localDestination = z.strictObject({
  type: z.literal('local'),
  path: nonEmpty,
  prefix: z.string().default(''),
});

const storageDestination = z.discriminatedUnion('type', [s3Destination, localDestination]);

const roles = z.strictObject({
  systemOwners: z.array(slackPrincipal).default([]),
  itManagers: z.array(slackPrincipal).default([]),
  qa: z.array(slackPrincipal).default([]),
  operators: z.array(slackPrincipal).default([]),
});

const userCheck = z.strictObject({
  name: nonEmpty,
  /** SQL returning one row whose first column is true when the check passes. */
  sql: nonEmpty,
});

const restoreTestApp = z.strictObject({
  image: nonEmpty,
  /** Environment of the app container; ${STAGING_DB_HOST}, ${STAGING_DB_PORT}, ${STAGING_DB_NAME}, ${STAGING_DB_USER}, ${STAGING_DB_PASSWORD}, ${STAGING_DB_URL} are filled in. */
  env: z.record(z.string(), z.string()).default({}),
  port: z.number().int().min(1).max(65535),
  path: z.string().default('/'),
  timeout: duration.default('2m'),
});

const restoreTest = z.strictObject({
  /** Staging image; must be at least the source server's major version. */
  image: z.string().optional(),
  timeout: duration.default('30m'),
  /** Container memory limit in MiB. */
  memoryMb: z.number().int().min(64).default(1024),
  cpus: z.number().positive().max(64).default(1),
  app: restoreTestApp.optional(),
  /** Overrides the top-level restoreTest.pull for this client. */
  pull: z.enum(['never', 'missing']).optional(),
  /** Months (1-12) in which the quarterly restore test is due (SOP 8.3). */
  months: z.array(z.number().int().min(1).max(12)).default([3, 6, 9, 12]),
  /** The restore time (download + restore) a passing test may take, in minutes; default the client's `rto`. */
  maxMinutes: z.number().positive().optional(),
  /** SOP-001 §12: a passing test counts for its quarter only once QA has signed it. */
  requireQa: z.boolean().default(true),
  /** QA is reminded once when a passing test (or a production restore row) is still unsigned this long after it. */
  qaReminder: duration.default('2d'),
});

const appControl = z.strictObject({
  /** Docker containers (by name) to stop/start around a production restore. */
  containers: z.array(nonEmpty).default([]),
  stop: command.optional(),
  start: command.optional(),
  /** URL that must answer 200 after the application is started again. */
  healthUrl: z.url().optional(),
  healthTimeout: duration.default('2m'),
  /** After a production restore, once the app is healthy: each URL must answer `status` and contain `expect` (SOP 9.2 step 11). */
  checks: z.array(z.strictObject({ url: z.url(), status: z.number().int().min(100).max(599).default(200), expect: z.string().min(1).optional() })).default([]),
});

const database = z.strictObject({
  engine: z.enum(['postgres', 'mysql']),
  url: nonEmpty,
  /** PostgreSQL only: plain (.sql.gz, SOP default) or custom (-Fc, .dump). */
  format: z.enum(['plain', 'custom']).default('plain'),
  /** PostgreSQL only: also store `pg_dumpall --globals-only` (roles, memberships) as `backup_…_globals.sql.gz`. */
  globals: z.boolean().default(false),
  /** With `globals`: keep the roles' password hashes in that file (default: `--no-role-passwords`). */
  globalsWithPasswords: z.boolean().default(false),
});

const retentionDays = z.strictObject({ days: z.number().int().positive() });

/** An age X25519 public key (`age1…`); the message shows the value (a public key is not a secret). */
const ageRecipient = z.string().trim().refine(isAgeRecipient, {
  error: (iss) => `${JSON.stringify(String(iss.input).slice(0, 80))} is not an age public key (accepted: an X25519 recipient "age1…", 62 characters, as printed by age-keygen)`,
});
/** An age secret key, inline (`${AGE_IDENTITY}`) or in a file written by age-keygen; the message never shows the value. */
const ageIdentity = z.union([
  z.string().trim().refine(isAgeIdentity, { error: () => 'is not an age secret key (accepted: "AGE-SECRET-KEY-1…" as written by age-keygen, or { file: /path/to/key.txt })' }),
  z.strictObject({ file: absolutePath }),
], { error: () => 'must be an age secret key "AGE-SECRET-KEY-1…" (e.g. "${AGE_IDENTITY}"), { file: /path/to/key.txt }, or a list of these' });

/**
 * Client-side encryption with age: new backups are encrypted to every recipient; `identity` (one or a list:
 * the current key and the old ones after a rotation) is needed only where backups are read back
 * (verification, restore tests, production restores).
 */
const encryption = z.strictObject({
  recipients: z.array(ageRecipient).min(1, 'needs at least one age public key ("age1…")'),
  identity: z.union([ageIdentity, z.array(ageIdentity).min(1, 'must list at least one identity (or leave identity out)')]).optional(),
});

const client = z.strictObject({
  database,
  files: z.array(absolutePath).default([]),
  schedule: cron.default('0 3 * * 0'),
  storage: z.array(nonEmpty).min(1, 'needs at least one storage destination (the first is primary)'),
  retention: z.strictObject({
    scheduled: z.strictObject({ days: z.number().int().positive().default(180), keep: z.number().int().positive().default(26) }).default({ days: 180, keep: 26 }),
    manual: retentionDays.default({ days: 90 }),
    preChange: retentionDays.default({ days: 90 }),
    preRestore: retentionDays.default({ days: 365 }),
  }).default({ scheduled: { days: 180, keep: 26 }, manual: { days: 90 }, preChange: { days: 90 }, preRestore: { days: 365 } }),
  verify: z.strictObject({
    /** SOP-001 6.1: at least 10 CREATE TABLE (15 for Conitrack). */
    minTables: z.number().int().min(0).default(10),
    /** SOP-001 6.4: a compressed dump smaller than this fails the backup (the example config: 1 MB); 0: no minimum. */
    minBytes: z.number().int().min(0).default(0),
    tables: z.array(sqlIdentifier).default([]),
    /** A table of `tables` missing at backup time fails the backup unless this is true. */
    allowMissing: z.boolean().default(false),
    checks: z.array(userCheck).default([]),
  }).default({ minTables: 10, minBytes: 0, tables: [], allowMissing: false, checks: [] }),
  rpo: duration.default('7d'),
  rto: duration.default('4h'),
  channel: slackChannel.optional(),
  /** Channel for the users' maintenance notices during a production restore (SOP 9.2 steps 2 and 12). */
  notifyChannel: slackChannel.optional(),
  roles: roles.default({ systemOwners: [], itManagers: [], qa: [], operators: [] }),
  maintenance: z.strictObject({ on: command, off: command }).optional(),
  /** gzip level of the dump (1 fastest … 9 smallest). */
  gzipLevel: z.number().int().min(1).max(9).default(6),
  encryption: encryption.optional(),
  restoreTest: restoreTest.default({ timeout: '30m', memoryMb: 1024, cpus: 1, months: [3, 6, 9, 12], requireQa: true, qaReminder: '2d' }),
  app: appControl.optional(),
});

const slack = z.strictObject({
  botToken: nonEmpty,
  signingSecret: nonEmpty,
  appToken: z.string().optional(),
  apiUrl: z.url().optional(),
  port: z.number().int().min(1).max(65535).default(3000),
  channel: slackChannel,
  digest: z.strictObject({ cron: cron.default('0 8 * * *') }).default({ cron: '0 8 * * *' }),
});

const schedules = z.strictObject({
  retention: cron.default('30 4 * * *'),
  /** SOP 8.2: first Monday of the month. */
  integrityCheck: cron.default('0 6 * * 1#1'),
  /** SOP 8.3: quarterly; the job runs on the first day of each month listed in the client's restoreTest.months. */
  restoreTest: cron.default('0 5 1 * *'),
  watchdog: cron.default('*/5 * * * *'),
  /** Digest cron; when unset, slack.digest.cron (with Slack) or daily 08:00 (console). */
  digest: cron.optional(),
  /** Extra time past the schedule before a missing backup raises an alert. */
  watchdogGrace: duration.default('6h'),
  /** How long SIGTERM waits for running jobs. */
  shutdownTimeout: duration.default('10m'),
  /** Issue 19: the previous month's evidence report posted to each client's channel (first day of the month, 07:00). */
  evidenceReport: cron.default('0 7 1 * *'),
}).default({ retention: '30 4 * * *', integrityCheck: '0 6 * * 1#1', restoreTest: '0 5 1 * *', watchdog: '*/5 * * * *', watchdogGrace: '6h', shutdownTimeout: '10m', evidenceReport: '0 7 1 * *' });

const approvals = z.strictObject({
  ttl: duration.default('24h'),
  keepOldFor: duration.default('7d'),
  strategy: z.enum(['swap', 'replace']).default('swap'),
  /** MySQL/MariaDB: how long the switch (and a replace's DROP) waits for a table another session holds before it gives up, nothing changed. */
  lockWait: duration.default('30s'),
}).default({ ttl: '24h', keepOldFor: '7d', strategy: 'swap', lockWait: '30s' });

const dockerTls = z.strictObject({ ca: nonEmpty, cert: nonEmpty, key: nonEmpty });
const dockerSsh = z.strictObject({
  hostKey: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be an SSH key fingerprint as ssh-keygen -lf prints it ("SHA256:" and 43 base64 characters)').optional(),
  privateKey: nonEmpty.optional(),
});

const LOOPBACK_RE = /^(?:localhost|::1|127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/**
 * What is wrong with a `docker.hosts` entry's address (undefined: nothing), checked when the config loads, the
 * same rules as docker.host when a restore test starts: a known scheme, TLS or loopback for tcp://, a pinned host key for ssh://.
 */
function dockerHostProblem(e: { host: string; tls?: unknown; ssh?: { hostKey?: string }; allowInsecure?: boolean }): { key: string; message: string } | undefined {
  if (e.host.startsWith('unix://')) return undefined;
  let u: URL;
  try {
    u = new URL(e.host.includes('://') ? e.host : `tcp://${e.host}`);
  } catch {
    return { key: 'host', message: `${JSON.stringify(e.host)} is not a Docker address (accepted: unix:///path, tcp://host:port, https://host:port, ssh://user@host)` };
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (!['tcp', 'http', 'https', 'ssh'].includes(scheme)) return { key: 'host', message: `unsupported scheme ${scheme} (accepted: unix, tcp, https, ssh)` };
  if (scheme === 'ssh' && !e.ssh?.hostKey && !e.allowInsecure) return { key: 'ssh.hostKey', message: `is required for ${e.host} (the engine's SSH host key fingerprint, "SHA256:…" from ssh-keygen -lf), or set allowInsecure: true` };
  if (scheme !== 'ssh' && !e.tls && !e.allowInsecure && !LOOPBACK_RE.test(u.hostname.replace(/^\[|\]$/g, ''))) {
    return { key: 'tls', message: `is required for the remote engine ${e.host} (ca, cert and key: TLS with a client certificate), or set allowInsecure: true` };
  }
  return undefined;
}

/** One staging engine of `docker.hosts` (issue 21): its own address and credentials, nothing taken from the environment. */
const dockerHostEntry = z.strictObject({
  /** How the engine is named in messages, the run record and doctor; default: its address. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be letters, digits, ".", "-" or "_" (1-63 characters, starting with a letter or digit)').optional(),
  host: nonEmpty,
  tls: dockerTls.optional(),
  ssh: dockerSsh.optional(),
  allowInsecure: z.boolean().default(false),
});

/** The name of a docker.hosts entry: its `name`, else its address without credentials. */
function dockerHostName(e: { name?: string; host: string }): string {
  return e.name ?? e.host.replace(/\/\/[^@/]*@/, '//');
}

const docker = z.strictObject({
  /** e.g. unix:///var/run/docker.sock or tcp://127.0.0.1:2375; default: DOCKER_HOST or the local socket. */
  host: z.string().optional(),
  /** TLS with a client certificate for a tcp:// / https:// engine (PEM file paths); default: DOCKER_TLS_VERIFY + DOCKER_CERT_PATH. */
  tls: dockerTls.optional(),
  /** ssh://user@host: the engine host's SSH key fingerprint (ssh-keygen -lf) and an optional private key file (else SSH_AUTH_SOCK). */
  ssh: dockerSsh.optional(),
  /** Accept a remote engine without TLS client authentication (plain tcp://) or an ssh:// engine whose host key is not pinned: the Docker API is root on that host. */
  allowInsecure: z.boolean().default(false),
  /**
   * Staging engines for restore tests (issue 21): a restore test runs on any of them with a free slot
   * (restoreTest.maxConcurrent per engine). Absent: the one engine above (docker.host / DOCKER_HOST / the local
   * socket). The production restore's app control always uses docker.host.
   */
  hosts: z.array(dockerHostEntry).min(1, 'needs at least one engine (or leave docker.hosts out to use docker.host)').optional(),
}).superRefine((d, ctx) => {
  const seen = new Map<string, number>();
  const seenHost = new Map<string, number>();
  d.hosts?.forEach((e, i) => {
    const n = dockerHostName(e);
    if (seen.has(n)) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'name'], message: `${JSON.stringify(n)} is already the name of docker.hosts[${seen.get(n)}] (names must be unique)` });
    else seen.set(n, i);
    if (seenHost.has(e.host)) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'host'], message: `${e.host} is already docker.hosts[${seenHost.get(e.host)}] (one entry per engine)` });
    else seenHost.set(e.host, i);
    const p = dockerHostProblem(e);
    if (p) ctx.addIssue({ code: 'custom', path: ['hosts', i, ...p.key.split('.')], message: p.message });
  });
}).default({ allowInsecure: false });

/**
 * The shared work queue (issue 21): how much work one replica runs at once and how long a claim lasts. Limits
 * hold across replicas (they share the state database): perDatabaseHost counts every replica's dumps.
 */
const leaseTimeout = duration.refine((v) => (parseDuration(v) ?? 0) >= 10_000, { error: 'must be at least 10s (the queue checks leases every few seconds)' });
const workers = z.strictObject({
  /** Scheduled work this replica runs at once (backups, restore tests, integrity checks, retention). */
  maxConcurrent: z.number().int().min(1).max(64).default(2),
  /** Dumps at once against one database server (host:port), across all replicas. */
  perDatabaseHost: z.number().int().min(1).max(64).default(1),
  /** A replica renews the lease of the work it runs; a replica gone this long loses it and another takes the work. */
  leaseTimeout: leaseTimeout.default('2m'),
  /** Attempts per piece of work (a lost lease starts the next one); every attempt is a run row. */
  attempts: z.number().int().min(1).max(10).default(2),
  /** Work queued longer than this raises an S2 alert. */
  maxWait: duration.default('1h'),
}).default({ maxConcurrent: 2, perDatabaseHost: 1, leaseTimeout: '2m', attempts: 2, maxWait: '1h' });

/** `HOST:PORT` or `[IPV6]:PORT` (port 0: any free port). */
const LISTEN_RE = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

/** The host and port of a `metrics.listen` value (validated by the schema). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = LISTEN_RE.exec(listen);
  if (!m || Number(m[3]) > 65535) throw new Error(`${JSON.stringify(listen)} is not HOST:PORT`);
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
}

/** The operational endpoints (/metrics, /healthz): their own listener, private by default. */
const metrics = z.strictObject({
  listen: z.string().refine((v) => LISTEN_RE.test(v) && Number(LISTEN_RE.exec(v)![3]) <= 65535, {
    error: (iss) => `${JSON.stringify(iss.input)} is not an address to listen on (accepted: HOST:PORT or [IPV6]:PORT, e.g. "127.0.0.1:9464")`,
  }).default('127.0.0.1:9464'),
  /** When set, both endpoints require `Authorization: Bearer <token>`. */
  token: z.string().min(16, 'must be at least 16 characters (e.g. the output of `openssl rand -hex 32`)').optional(),
}).default({ listen: '127.0.0.1:9464' });

/**
 * Alerts by e-mail (SOP-001 §13.4): S1/S2 alerts are mailed when Slack cannot be reached (mode fallback) or
 * always, as a copy (mode copy). The SMTP password comes from the environment (`${SMTP_PASSWORD}`).
 */
const alerts = z.strictObject({
  email: z.strictObject({
    smtp: z.strictObject({
      host: nonEmpty,
      port: z.number().int().min(1).max(65535).default(587),
      /** TLS from the start (port 465); otherwise STARTTLS when the server offers it. */
      secure: z.boolean().default(false),
      user: z.string().optional(),
      password: z.string().optional(),
    }),
    from: z.email('must be an e-mail address (e.g. backup-bot@example.com)'),
    to: z.array(z.email('must be an e-mail address')).min(1, 'needs at least one recipient'),
    mode: z.enum(['fallback', 'copy']).default('fallback'),
    timeout: duration.default('15s'),
  }).optional(),
}).default({});

/** The evidence: the Ed25519 key that signs decisions and chain heads (never stored in the state database). */
const evidence = z.strictObject({
  /** A PEM file (0600) or the PEM text itself via ${ENV}; default: backup-bot-signing-key.pem beside the config, created on first start. */
  signingKey: nonEmpty.optional(),
  /** Public keys (PEM files) of earlier signing keys, so records they signed stay verifiable after a rotation. */
  trustedKeys: z.array(nonEmpty).default([]),
}).default({ trustedKeys: [] });

export const configSchema = z.strictObject({
  timezone: timezone.default('UTC'),
  /** Language of the evidence report (and of what else is written for people in their language): es or en. */
  locale: z.enum(['es', 'en']).default('en'),
  state: z.strictObject({
    url: nonEmpty,
    /** The owner role's connection, used to apply migrations (least privilege: `url` is then the runtime role). */
    ownerUrl: nonEmpty.optional(),
  }),
  slack: slack.optional(),
  storage: z.record(name('a storage name'), storageDestination).refine((s) => Object.keys(s).length > 0, 'needs at least one destination'),
  clients: z.record(name('a client name'), client).refine((c) => Object.keys(c).length > 0, 'needs at least one client'),
  schedules,
  approvals,
  docker,
  workers,
  metrics,
  evidence,
  alerts,
  /** Default staging images per engine. */
  restoreTest: z.strictObject({
    postgresImage: z.string().default('postgres:15'),
    mysqlImage: z.string().default('mariadb:10.11'),
    /** never: a missing staging image is an error (build it with scripts/build-staging-image.sh); missing: pull it. */
    pull: z.enum(['never', 'missing']).default('never'),
    /** Restore tests at once on one Docker engine, across all replicas. */
    maxConcurrent: z.number().int().min(1).max(64).default(1),
  }).default({ postgresImage: 'postgres:15', mysqlImage: 'mariadb:10.11', pull: 'never', maxConcurrent: 1 }),
}).superRefine((cfg, ctx) => {
  for (const [clientName, c] of Object.entries(cfg.clients)) {
    c.storage.forEach((dest, i) => {
      if (!(dest in cfg.storage)) {
        ctx.addIssue({ code: 'custom', path: ['clients', clientName, 'storage', i], message: `${JSON.stringify(dest)} is not a configured storage destination (configured: ${Object.keys(cfg.storage).join(', ')})` });
      }
    });
    if (c.database.engine === 'mysql' && c.database.format === 'custom') {
      ctx.addIssue({ code: 'custom', path: ['clients', clientName, 'database', 'format'], message: '"custom" is only available for PostgreSQL (accepted for mysql: "plain")' });
    }
    if (c.database.engine === 'mysql' && (c.database.globals || c.database.globalsWithPasswords)) {
      const key = c.database.globals ? 'globals' : 'globalsWithPasswords';
      ctx.addIssue({ code: 'custom', path: ['clients', clientName, 'database', key], message: 'is only available for PostgreSQL (pg_dumpall --globals-only); for mysql leave it out or false' });
    } else if (c.database.globalsWithPasswords && !c.database.globals) {
      ctx.addIssue({ code: 'custom', path: ['clients', clientName, 'database', 'globalsWithPasswords'], message: 'needs globals: true (the passwords are kept in the globals file)' });
    }
  }
});

export type Config = z.infer<typeof configSchema>;
export type ClientConfig = Config['clients'][string];
export type StorageConfig = z.infer<typeof storageDestination>;
export type S3StorageConfig = z.infer<typeof s3Destination>;
export type LocalStorageConfig = z.infer<typeof localDestination>;
export type EncryptionConfig = z.infer<typeof encryption>;
type Roles = z.infer<typeof roles>;
export type Role = keyof Roles;
