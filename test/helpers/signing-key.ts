import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One Ed25519 key for the whole test run (0600 in the temp directory), so configs need not create one each. */
export function testSigningKeyPath(): string {
  const path = join(tmpdir(), 'backup-bot-test-signing-key.pem');
  if (!existsSync(path)) {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    writeFileSync(tmp, pem, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    try { renameSync(tmp, path); } catch { /* another test file made it meanwhile */ }
  }
  return path;
}
