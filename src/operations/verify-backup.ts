import type { Context } from '../context.js';
import { UserError, errorMessage } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { verifyArchiveFile, verifyBackupFile, type Check } from '../core/verify/backup-file.js';
import { type Run, type RunTrigger } from '../store/runs.js';
import { type BackupRow } from '../store/backup-register.js';

import { manifestOf } from './manifest.js';
import { decryptionFor } from '../core/crypto/keys.js';
import { formatDateTime } from '../core/time.js';
import { verifyGlobalsFile } from '../core/verify/globals-file.js';
import { isEncryptedName } from '../core/naming.js';

export interface VerifyBackupInput { client: string; backupKey?: string; actor: string; actorName?: string; trigger: RunTrigger; notify?: boolean; /** Only this destination (default: every destination that holds the backup). */ destination?: string }
/** One copy's read-back. */
interface CopyVerification { destination: string; ok: boolean; checks: Check[]; error?: string }
export interface VerifyBackupOutcome { ok: boolean; run: Run; backup: BackupRow; checks: Check[]; copies: CopyVerification[]; error?: string }

/**
 * SOP-001 8.2 (monthly integrity check): reads a stored backup back from every destination that holds it, the
 * primary first (sha256, full decompression, CREATE TABLE >= verify.minTables, trailer; files archives: sha256
 * and gunzip), or from `destination` only, and records the result as a `verify` run (every copy) and in the
 * register (Verificado follows the primary copy; a failed secondary is named in the observations).
 * `ok` only when every copy checked passed. Without `backupKey`: the newest stored backup. An unknown key
 * is a UserError listing the newest 10; an unknown destination one listing the client's.
 */
export async function verifyBackup(ctx: Context, input: VerifyBackupInput): Promise<VerifyBackupOutcome> {
  const cfg = ctx.client(input.client);
  const stored = await ctx.store.backups.list({ client: input.client, limit: 200 });
  const candidates = stored.filter((b) => b.key);
  let backup: BackupRow | undefined;
  if (input.backupKey) {
    backup = await ctx.store.backups.findByKey(input.client, input.backupKey);
    if (!backup?.key) {
      const keys = candidates.slice(0, 10).map((b) => b.key!);
      throw new UserError(`no stored backup "${input.backupKey.slice(0, 120)}" for client "${input.client}" (${keys.length ? `newest: ${keys.join(', ')}` : 'no stored backups yet: run `backup-bot backup ' + input.client + '`'})`);
    }
  } else {
    backup = candidates[0];
    if (!backup) throw new UserError(`client "${input.client}" has no stored backup to verify (run \`backup-bot backup ${input.client}\` first)`);
  }
  const key = backup.key!;
  const targets = copiesToCheck(cfg.storage, backup, input.destination);
  const startedAt = ctx.clock.now();
  let run = await ctx.store.runs.start({ kind: 'verify', client: input.client, actor: input.actor, trigger: input.trigger, details: { key, backupId: backup.id, destinations: targets }, instance: ctx.instance, startedAt });
  await ctx.store.audit.append({ actor: input.actor, action: 'backup.verify.started', client: input.client, target: key, details: { run: run.id, backup: backup.id, destinations: targets } });

  const copies: CopyVerification[] = [];
  for (const destName of targets) {
    await ctx.store.runs.step(run.id, 'reading', `${destName}: ${key}`, ctx.clock.now());
    copies.push(await verifyCopy(ctx, input.client, backup, destName));
  }
  const ok = copies.every((c) => c.ok);
  const checks = copies.flatMap((c) => (targets.length > 1 ? c.checks.map((x) => ({ ...x, name: `${c.destination}: ${x.name}` })) : c.checks));
  const failed = copies.filter((c) => !c.ok);
  const error = failed.length ? failed.map((c) => `${targets.length > 1 || input.destination ? `copy on ${c.destination}: ` : ''}${c.error}`).join('; ') : undefined;
  const at = ctx.clock.now();
  const primary = copies.find((c) => c.destination === (backup!.locations.find((l) => l.ok)?.destination ?? cfg.storage[0]));
  if (primary) {
    // Verificado follows the primary (the copy restores read); every copy's outcome is in the note.
    const note = `verify ${formatDateTime(at, ctx.config.timezone)}: ${copies.map((c) => `${c.destination} ${c.ok ? 'OK' : `FAILED: ${c.error}`}`).join('; ')}`;
    await ctx.store.backups.setVerified(backup.id, primary.ok, at, redactSecrets(note).slice(0, 1000));
  }
  backup = (await ctx.store.backups.get(backup.id)) ?? backup;
  run = (await ctx.store.runs.finish(run.id, { status: ok ? 'ok' : 'failed', error: error ?? null, details: { checks, copies, destination: targets[0], destinations: targets }, at })) ?? run;
  await ctx.store.audit.append({ actor: input.actor, action: ok ? 'backup.verified' : 'backup.verify.failed', client: input.client, target: key, details: { run: run.id, backup: backup.id, checks, copies: copies.map((c) => ({ destination: c.destination, ok: c.ok })) } });
  if (input.notify ?? true) {
    const ref = await ctx.reporter.report({ kind: 'verify.result', client: input.client, view: { ok, client: input.client, file: backup.file ?? key, checks, actor: input.actorName ?? input.actor } });
    if (ref) await ctx.store.runs.setMessage(run.id, ref.channel, ref.ts);
  }
  return { ok, run, backup, checks, copies, ...(error ? { error } : {}) };
}

/** The destinations to read: `only` (a configured destination of the client), else every one that holds the backup, the primary first. */
function copiesToCheck(storage: string[], backup: BackupRow, only: string | undefined): string[] {
  if (only !== undefined) {
    if (!storage.includes(only)) throw new UserError(`unknown destination "${only.slice(0, 60)}" for client "${backup.client}" (its destinations: ${storage.join(', ')})`);
    return [only];
  }
  const held = storage.filter((d) => backup.locations.some((l) => l.destination === d && (l.ok || l.verified === false)));
  return held.length ? held : [storage[0]!];
}

async function verifyCopy(ctx: Context, client: string, backup: BackupRow, destName: string): Promise<CopyVerification> {
  const cfg = ctx.client(client);
  const key = backup.locations.find((l) => l.destination === destName)?.key ?? backup.key!;
  const checks: Check[] = [];
  try {
    const storage = ctx.storage(destName);
    const engine = (backup.engine ?? cfg.database.engine) as 'postgres' | 'mysql';
    const format = (backup.format ?? 'plain') as 'plain' | 'custom';
    const decryption = await decryptionFor(client, cfg.encryption, backup.manifest, key);
    const v = await verifyBackupFile(storage, key, { engine, format, expectedSha256: backup.sha256, minTables: cfg.verify.minTables, decrypt: decryption, client });
    checks.push(...v.checks);
    for (const f of manifestOf(backup).files) {
      const a = await verifyArchiveFile(storage, f.key, f.sha256, decryption ? { decryption: { ...decryption, plaintextSha256: f.plaintextSha256 }, client } : undefined);
      for (const c of a.checks) checks.push({ name: `files ${f.path} ${c.name}`, ok: c.ok, detail: c.detail });
    }
    const g = manifestOf(backup).globals;
    if (g) {
      const gv = await verifyGlobalsFile(storage, g.key, {
        expectedSha256: g.sha256 || null, withPasswords: g.withPasswords,
        ...(decryption || isEncryptedName(g.key) ? { encrypted: { decryption: decryption && { ...decryption, plaintextSha256: g.plaintextSha256 }, client } } : {}),
      });
      for (const c of gv.checks) checks.push({ name: `globals ${c.name}`, ok: c.ok, detail: c.detail });
    }
    if (checks.every((c) => c.ok)) return { destination: destName, ok: true, checks };
    return { destination: destName, ok: false, checks, error: `verification failed: ${checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ')}` };
  } catch (err) {
    const error = redactSecrets(errorMessage(err));
    if (!checks.some((c) => !c.ok)) checks.push({ name: 'read', ok: false, detail: error });
    return { destination: destName, ok: false, checks, error };
  }
}
