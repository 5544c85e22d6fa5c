import type { ClientConfig } from '../../config/schema.js';
import { parseDbUrl } from '../db-url.js';
import { registerSecret } from '../redact.js';
import { checkPgDumpCompatible, mysqldumpVersion, mysqlServerVersion } from './versions.js';
import { openPgSnapshot, mysqlRowCounts, type PgSnapshot } from './row-counts.js';
import { spawnPgDump } from './postgres.js';
import { spawnMysqldump } from './mysql.js';
import { DumpScanner } from './scan.js';
import { streamToDestinations, type Destination, type StreamResult } from './pipeline.js';
import { AgeEncryptStream } from '../crypto/age-stream.js';

export interface DatabaseDumpResult extends StreamResult {
  engine: 'postgres' | 'mysql';
  format: 'plain' | 'custom';
  serverVersion: string;
  dumpToolVersion: string;
  /** Production row counts of verify.tables (see row-counts.ts for how exact they are). */
  rowCounts: Record<string, number>;
  missingTables: string[];
}

export interface DatabaseDumpOptions {
  key: string;
  destinations: Destination[];
  gzipLevel: number;
  verifyTables: string[];
  secondaryStallMs?: number;
  /** Called when the dump program started (pid), for progress and tests. */
  onSpawn?: (pid: number | undefined) => void;
  /** age recipients (`clients.<c>.encryption.recipients`): the stored file is encrypted to all of them. */
  encryptTo?: readonly string[];
  /** Cancels the dump: pg_dump / mysqldump killed, uploads aborted (nothing under the final name). */
  signal?: AbortSignal;
}

/** The age encryption stage for `recipients` (made before the dump starts: a bad key fails early), or none. */
export async function encryptionStage(recipients: readonly string[] | undefined): Promise<AgeEncryptStream | undefined> {
  return recipients?.length ? AgeEncryptStream.create(recipients) : undefined;
}

/**
 * Dumps a client's database straight into its destinations.
 * PostgreSQL: refuses early when pg_dump is older than the server; plain → gzip in the pipeline, CREATE
 * TABLE count and trailer scanned while streaming; custom (-Fc, compressed by pg_dump at gzipLevel) is
 * stored as-is and its tables are counted by the read-back (verify/backup-file.ts, via pg_restore).
 * MySQL/MariaDB: mysqldump --single-transaction --routines --triggers --events --hex-blob, gzip, scan.
 * Throws (OperationError) when the server cannot be reached before the dump starts.
 */
export async function dumpDatabase(db: ClientConfig['database'], o: DatabaseDumpOptions): Promise<DatabaseDumpResult> {
  const t = parseDbUrl(db.url, db.engine);
  registerSecret(t.password);
  if (t.engine === 'postgres') {
    // The encryption stage (age's library loads on first use, ~0.1 s) is made while the versions are checked.
    const [{ server, tool }, encrypt] = await Promise.all([checkPgDumpCompatible(t), encryptionStage(o.encryptTo)]);
    let snap: PgSnapshot | undefined;
    try {
      snap = await openPgSnapshot(t, o.verifyTables);
      const source = spawnPgDump(t, { format: db.format, compressLevel: o.gzipLevel, snapshot: snap.snapshot });
      o.onSpawn?.(source.pid);
      const plain = db.format === 'plain';
      const r = await streamToDestinations({
        source, key: o.key, destinations: o.destinations,
        gzipLevel: plain ? o.gzipLevel : null,
        scanner: plain ? new DumpScanner('postgres') : undefined,
        requireTrailer: plain,
        secondaryStallMs: o.secondaryStallMs,
        contentType: encrypt ? 'application/octet-stream' : plain ? 'application/gzip' : 'application/octet-stream',
        encrypt, signal: o.signal,
      });
      return { ...r, engine: 'postgres', format: db.format, serverVersion: server.version, dumpToolVersion: `pg_dump ${tool.version}`, rowCounts: snap.counts, missingTables: snap.missing };
    } finally {
      await snap?.release();
    }
  }
  const [server, tool, encrypt] = await Promise.all([mysqlServerVersion(t), mysqldumpVersion(), encryptionStage(o.encryptTo)]);
  const counts = await mysqlRowCounts(t, o.verifyTables);
  const source = spawnMysqldump(t);
  o.onSpawn?.(source.pid);
  const r = await streamToDestinations({
    source, key: o.key, destinations: o.destinations, gzipLevel: o.gzipLevel,
    scanner: new DumpScanner('mysql'), requireTrailer: true, secondaryStallMs: o.secondaryStallMs, contentType: encrypt ? 'application/octet-stream' : 'application/gzip',
    encrypt, signal: o.signal,
  });
  return { ...r, engine: 'mysql', format: 'plain', serverVersion: server.version, dumpToolVersion: `mysqldump ${tool.version}`, rowCounts: counts.counts, missingTables: counts.missing };
}
