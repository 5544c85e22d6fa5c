/**
 * The first thing to check for a failed backup, from the error text: the common causes of the runbook's
 * "Runbook de Falla de Backup" (§5) plus the database connection. Undefined when nothing matches.
 */
const HINTS: Array<[RegExp, string]> = [
  [/no space left|ENOSPC|disk full|quota exceeded|EDQUOT/i,
    'No space left on the backup storage (runbook §5 "Espacio en disco insuficiente"): free space on the destination or the server, then run the backup again.'],
  [/password authentication failed|Access denied for user|authentication failed|no pg_hba\.conf entry|role ".*" does not exist/i,
    'The database refused the login (wrong user or password): check the client\'s database.url credentials, then run the backup again.'],
  [/connection refused|ECONNREFUSED|could not connect|could not translate host|ENOTFOUND|EHOSTUNREACH|Unknown (MySQL|MariaDB) server host|Can't connect|timeout expired|Connection timed out/i,
    'The server could not be reached (connection refused or unknown host): check that the database or storage host is up and the host/port in the config.'],
  [/AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken|InvalidToken|credentials|NoSuchBucket|403 Forbidden/i,
    'The storage refused the request (runbook §5 "Error de autenticacion (S3)"): check the access keys (not expired), the bucket name and its permissions.'],
  [/lock timeout|could not obtain lock|Lock wait timeout|deadlock|database is locked|canceling statement due to lock|Waiting for table metadata lock/i,
    'The database is locked (runbook §5 "Base de datos bloqueada"): look for sessions holding locks (pg_stat_activity / SHOW PROCESSLIST) and run the backup again.'],
  [/permission denied|EACCES|EPERM|read-only file system|EROFS/i,
    'Permission denied (runbook §5 "Permiso denegado"): check the permissions of the backup directory and of the database user.'],
  [/older than the PostgreSQL|pg_dump .* is older|server version mismatch/i,
    'pg_dump is older than the server: install the PostgreSQL client tools of the server\'s major version.'],
  [/truncated|does not end with/i,
    'The dump is incomplete: look at the database server\'s log around the backup time (crash, terminated session, out of memory).'],
  [/killed by|terminating connection|server closed the connection/i,
    'The dump program was stopped before it finished: check whether something killed it (OOM killer, admin, timeout) and the database server\'s log.'],
];

export function failureHint(message: string): string | undefined {
  for (const [re, hint] of HINTS) if (re.test(message)) return hint;
  return undefined;
}
