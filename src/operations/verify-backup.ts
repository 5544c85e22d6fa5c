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

export interface VerifyBackupInput { client: string; backupKey?: string; actor: string; actorName?: string; trigger: RunTrigger; notify?: boolean }
export interface VerifyBackupOutcome { ok: boolean; run: Run; backup: BackupRow; checks: Check[]; error?: string }

/**
 * SOP-001 8.2 (monthly integrity check): reads a stored backup back from its primary destination
 * (sha256, full decompression, CREATE TABLE >= verify.minTables, trailer; files archives: sha256 and
 * gunzip) and records the result in the register (Verificado, observations) and as a `verify` run.
 * Without `backupKey`: the newest stored backup. An unknown key is a UserError listing the newest 10.
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
  const startedAt = ctx.clock.now();
  let run = await ctx.store.runs.start({ kind: 'verify', client: input.client, actor: input.actor, trigger: input.trigger, details: { key, backupId: backup.id }, instance: ctx.instance, startedAt });
  await ctx.store.audit.append({ actor: input.actor, action: 'backup.verify.started', client: input.client, target: key, details: { run: run.id, backup: backup.id } });

  const checks: Check[] = [];
  let error: string | undefined;
  const destName = backup.locations.find((l) => l.ok)?.destination ?? cfg.storage[0]!;
  try {
    await ctx.store.runs.step(run.id, 'reading', `${destName}: ${key}`, ctx.clock.now());
    const storage = ctx.storage(destName);
    const engine = (backup.engine ?? cfg.database.engine) as 'postgres' | 'mysql';
    const format = (backup.format ?? 'plain') as 'plain' | 'custom';
    const decryption = await decryptionFor(input.client, cfg.encryption, backup.manifest, key);
    const v = await verifyBackupFile(storage, key, { engine, format, expectedSha256: backup.sha256, minTables: cfg.verify.minTables, decrypt: decryption, client: input.client });
    checks.push(...v.checks);
    const files = manifestOf(backup).files;
    for (const f of files) {
      const a = await verifyArchiveFile(storage, f.key, f.sha256, decryption ? { decryption: { ...decryption, plaintextSha256: f.plaintextSha256 }, client: input.client } : undefined);
      for (const c of a.checks) checks.push({ name: `files ${f.path} ${c.name}`, ok: c.ok, detail: c.detail });
    }
    const g = manifestOf(backup).globals;
    if (g) {
      const v = await verifyGlobalsFile(storage, g.key, {
        expectedSha256: g.sha256 || null, withPasswords: g.withPasswords,
        ...(decryption || isEncryptedName(g.key) ? { encrypted: { decryption: decryption && { ...decryption, plaintextSha256: g.plaintextSha256 }, client: input.client } } : {}),
      });
      for (const c of v.checks) checks.push({ name: `globals ${c.name}`, ok: c.ok, detail: c.detail });
    }
    if (!checks.every((c) => c.ok)) error = `verification failed: ${checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ')}`;
  } catch (err) {
    error = redactSecrets(errorMessage(err));
    if (!checks.some((c) => !c.ok)) checks.push({ name: 'read', ok: false, detail: error });
  }
  const ok = !error;
  const at = ctx.clock.now();
  const note = `verify ${formatDateTime(at, ctx.config.timezone)}: ${ok ? 'OK' : redactSecrets(error!).slice(0, 500)}`;
  await ctx.store.backups.setVerified(backup.id, ok, at, note);
  backup = (await ctx.store.backups.get(backup.id)) ?? backup;
  run = (await ctx.store.runs.finish(run.id, { status: ok ? 'ok' : 'failed', error: error ?? null, details: { checks, destination: destName }, at })) ?? run;
  await ctx.store.audit.append({ actor: input.actor, action: ok ? 'backup.verified' : 'backup.verify.failed', client: input.client, target: key, details: { run: run.id, backup: backup.id, checks } });
  if (input.notify ?? true) {
    const ref = await ctx.reporter.report({ kind: 'verify.result', client: input.client, view: { ok, client: input.client, file: backup.file ?? key, checks, actor: input.actorName ?? input.actor } });
    if (ref) await ctx.store.runs.setMessage(run.id, ref.channel, ref.ts);
  }
  return { ok, run, backup, checks, ...(error ? { error } : {}) };
}
