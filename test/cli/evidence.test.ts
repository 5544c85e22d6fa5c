/** @needs slow */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { asSuperuser, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { testSigningKeyPath } from '../helpers/signing-key.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { requestRestore, REQUESTER_CHECKLIST_IDS } from '../../src/operations/request-restore.js';
import { decideRestore } from '../../src/operations/decide-restore.js';
import { makeVerifiedBackup } from '../operations/restore-fixtures.js';

/**
 * `backup-bot evidence verify` (compiled CLI) on a state database with a signed decision: exit 0 and one line;
 * after an edit made as the superuser, exit 1 naming the record. And the inspector's offline check: the
 * signature with `openssl pkeyutl -verify`, a chained row with `sha256sum`, as the README shows them.
 */
let state: TestDatabase;
let prod: TestDatabase;
let dir: string;
let cfg: string;
let ctx: TestContext;
let approvalId: string;

beforeAll(async () => {
  state = await createTestDatabase('bbt_evcli');
  prod = await createTestDatabase('bbt_evcli_prod');
  await fillSampleDatabase(prod.url);
  dir = mkdtempSync(join(tmpdir(), 'bbt-evcli-'));
  cfg = join(dir, 'backup-bot.yml');
  writeFileSync(cfg, `state: { url: "${state.url}" }\nstorage:\n  local: { type: local, path: "${dir}/store" }\nclients:\n  demo:\n    database: { engine: postgres, url: "${prod.url}" }\n    storage: [local]\n    roles: { systemOwners: [U0OWNER], operators: [U0OPER] }\nevidence: { signingKey: "${testSigningKeyPath()}" }\n`);
  ctx = await testContext(testConfig({ stateUrl: state.url, demoUrl: prod.url, storageDir: join(dir, 'store') }));
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: join(dir, 'store'), takenAt: new Date(Date.now() - 3_600_000) });
  const r = await requestRestore(ctx, { client: 'demo', backupId: backup.id, scope: 'full', reason: 'inspector check', checklist: REQUESTER_CHECKLIST_IDS, requestedBy: 'U0OPER' });
  if (!r.ok) throw new Error(r.message);
  approvalId = r.approval.id;
  const d = await decideRestore(ctx, { approvalId, userId: 'U0OWNER', userName: 'Sofía Owner', meaning: 'approved', typedClient: 'demo', statementTicked: true });
  if (!d.ok) throw new Error(d.message);
});
afterAll(async () => {
  await ctx?.close();
  await state?.drop();
  await prod?.drop();
  rmSync(dir, { recursive: true, force: true });
});

test('an untouched state database: exit 0, one line; --json carries the counts', async () => {
  const r = await runCli(['evidence', 'verify', '--config', cfg]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  expect(r.stdout).toMatch(/^evidence intact: \d+ records in 7 chains, 1 signature\(s\) and \d+ signed head\(s\) verified/);
  const j = await runCli(['evidence', 'verify', '--json', '--config', cfg]);
  expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, broken: [], counts: { signatures: 1, approvals: 1 } });
});

test('offline, with standard tools: the decision signature verifies with openssl; a chained row with sha256sum', async () => {
  const sig = (await ctx.store.signatures.forSubject(`approval:${approvalId}`))[0]!;
  writeFileSync(join(dir, 'content.json'), sig.content);
  writeFileSync(join(dir, 'content.sig'), Buffer.from(sig.signature, 'base64'));
  writeFileSync(join(dir, 'pub.pem'), ctx.signer.publicKeyPem);
  const ok = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'pub.pem'), '-rawin', '-in', join(dir, 'content.json'), '-sigfile', join(dir, 'content.sig')], { encoding: 'utf8' });
  expect(ok.stdout).toContain('Signature Verified Successfully');
  writeFileSync(join(dir, 'content.json'), sig.content.replace('inspector check', 'inspector checks'));
  const bad = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'pub.pem'), '-rawin', '-in', join(dir, 'content.json'), '-sigfile', join(dir, 'content.sig')], { encoding: 'utf8' });
  expect(bad.status).not.toBe(0);
  const { chainContent } = await import('../../src/store/chain.js');
  const rows = await ctx.store.chains.read('approvals');
  const row = rows[0]!;
  const sum = spawnSync('sha256sum', [], { input: `${row.prev_hash}\n${chainContent('approvals', row)}`, encoding: 'utf8' });
  expect(sum.stdout.split(' ')[0]).toBe(row.row_hash);
});

test('a register row edited as the superuser: exit 1 naming the register, the row and what happened', async () => {
  await asSuperuser(ctx.pool, `UPDATE approvals SET reason = 'nothing to see' WHERE id = $1`, [approvalId]);
  const r = await runCli(['evidence', 'verify', '--config', cfg]);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/^evidence BROKEN: \d+ problem\(s\)/);
  expect(r.stdout).toContain(`  approvals ${approvalId}: edited — its content no longer matches its hash`);
  expect(r.stdout).toMatch(/signatures \d+: bad signature — the record was edited after it was signed \(reason differ\)/);
});
