/** @needs slow */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { FakeClock, testContext, type TestContext } from '../helpers/context.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { requestRestore, REQUESTER_CHECKLIST_IDS } from '../../src/operations/request-restore.js';
import { decideRestore } from '../../src/operations/decide-restore.js';
import { checkStartGate } from '../../src/operations/restore-gate.js';
import { runRestore } from '../../src/operations/restore.js';
import { checkEvidence } from '../../src/operations/check-evidence.js';
import { qaVerifyRestoreTest } from '../../src/operations/qa-verify.js';
import { loadSigner } from '../../src/evidence/signer.js';
import { makeVerifiedBackup, tableChecksums } from '../operations/restore-fixtures.js';

/**
 * Issue 14: approvals and records that cannot be forged or silently edited. Every tampering here is done the
 * way a database administrator would (as the superuser, triggers off), against the real PostgreSQL; each time
 * the start gate refuses, `evidence verify` names the record, and production is untouched.
 */
let state: TestDatabase;
let prod: TestDatabase;
let dir: string;
let ctx: TestContext;
const clock = new FakeClock(new Date());

beforeAll(async () => {
  state = await createTestDatabase('bbt_evidence');
  prod = await createTestDatabase('bbt_evidence_prod');
  await fillSampleDatabase(prod.url);
  dir = mkdtempSync(join(tmpdir(), 'bbt-evidence-'));
  ctx = await testContext(testConfig({ stateUrl: state.url, demoUrl: prod.url, storageDir: dir }), { clock });
});
afterAll(async () => {
  await ctx?.close();
  await state?.drop();
  await prod?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** What a DBA can do as the superuser: statements with triggers (the append-only guard) switched off. */
async function tamper(sql: string, params: unknown[] = []): Promise<void> {
  const c = await ctx.pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL session_replication_role = replica');
    await c.query(sql, params);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

let n = 0;
const BASE = Date.now() - 3_600_000;
async function request(): Promise<string> {
  clock.set(new Date());
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date(BASE - ++n * 60_000) });
  const r = await requestRestore(ctx, { client: 'demo', backupId: backup.id, scope: 'full', reason: `bad import ${n}`, ticket: `INC-${n}`, checklist: REQUESTER_CHECKLIST_IDS, requestedBy: 'U0OPER', requestedByName: 'Olga Operator' });
  if (!r.ok) throw new Error(r.message);
  return r.approval.id;
}
async function approve(id: string): Promise<void> {
  const d = await decideRestore(ctx, { approvalId: id, userId: 'U0OWNER', userName: 'Sofía Owner', meaning: 'approved', typedClient: 'demo', statementTicked: true });
  if (!d.ok) throw new Error(d.message);
}
async function reject(id: string): Promise<void> {
  const d = await decideRestore(ctx, { approvalId: id, userId: 'U0OWNER', userName: 'Sofía Owner', meaning: 'rejected', rejectReason: 'not now' });
  if (!d.ok) throw new Error(d.message);
}

/** Forget an evidence problem once its test has shown it: the tampered rows are put back (as the DBA could). */
async function expectBroken(register: string, id: string, what: string): Promise<void> {
  const r = await checkEvidence(ctx, { reason: 'verify', actor: 'test' });
  expect(r.ok).toBe(false);
  expect(r.broken).toEqual(expect.arrayContaining([expect.objectContaining({ register, id, what })]));
  expect(r.headsSigned).toBe(0);
}

describe('an untouched state database', () => {
  test('a signed approval passes the gate; every chain, signature and head verifies; heads are signed', async () => {
    const id = await request();
    await approve(id);
    const gate = await checkStartGate(ctx, { approvalId: id, userId: 'U0OPER' });
    expect(gate).toMatchObject({ ok: true });
    const r = await checkEvidence(ctx, { reason: 'verify', actor: 'test' });
    expect(r).toMatchObject({ ok: true, broken: [] });
    expect(r.summary).toMatch(/^evidence intact: \d+ records in 7 chains, 1 signature\(s\) and \d+ signed head\(s\) verified/);
    expect(r.headsSigned).toBeGreaterThan(0);
    // signed again at once: nothing moved, nothing new to sign
    expect((await checkEvidence(ctx, { reason: 'verify', actor: 'test' })).headsSigned).toBe(0);
  });
});

describe('the start gate trusts only signatures', () => {
  test.each([
    ['a pending request', async (_id: string) => {}],
    ['a rejected request', reject],
  ])('status flipped to approved on %s: refused, audited, S1 alert; evidence verify names the request; production untouched', async (_what, before) => {
    const id = await request();
    await before(id);
    await tamper(`UPDATE approval_state SET status = 'approved' WHERE approval_id = $1`, [id]);
    const prodBefore = await tableChecksums(prod.url);
    const posts = ctx.notifier.posts.length;
    const r = await runRestore(ctx, { approvalId: id, userId: 'U0OPER', trigger: 'slack' });
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/the approval record does not verify/) });
    expect(await tableChecksums(prod.url)).toEqual(prodBefore);
    const alert = ctx.notifier.posts.slice(posts).find((p) => p.message.text.includes('S1 — approval record does not verify'));
    expect(alert?.message.text).toContain('<@U0OWNER>');
    const audits = await ctx.store.audit.list({ action: 'evidence.broken' });
    expect(audits.some((a) => a.target === `approval:${id}`)).toBe(true);
    expect((await ctx.store.audit.list({ action: 'restore.start_refused' })).some((a) => a.target === `approval:${id}`)).toBe(true);
    await expectBroken('approvals', id, 'edited');
    await tamper(`UPDATE approval_state SET status = 'expired' WHERE approval_id = $1`, [id]);
    await ctx.pool.query(`UPDATE alerts SET resolved_at = now() WHERE resolved_at IS NULL`);
  });

  test('status flipped to approved on an expired request: refused (no valid approving signature)', async () => {
    const id = await request();
    await tamper(`UPDATE approvals SET expires_at = now() - interval '1 hour' WHERE id = $1`, [id]);
    clock.set(new Date());
    expect((await decideRestore(ctx, { approvalId: id, userId: 'U0OWNER', userName: 'Sofía Owner', meaning: 'approved', typedClient: 'demo', statementTicked: true })).ok).toBe(false);
    await tamper(`UPDATE approval_state SET status = 'approved' WHERE approval_id = $1`, [id]);
    const gate = await checkStartGate(ctx, { approvalId: id, userId: 'U0OPER' });
    expect(gate).toMatchObject({ ok: false, message: expect.stringMatching(/does not verify/) });
    expect((gate as { tampered?: string[] }).tampered?.join()).toMatch(/no valid approving signature/);
    await tamper(`UPDATE approval_state SET status = 'expired' WHERE approval_id = $1`, [id]);
  });

  test.each([
    ['the reason', `UPDATE approvals SET reason = reason || ' (edited)' WHERE id = $1`, /reason differ/],
    ['the backup key', `UPDATE approvals SET backup_key = 'demo/other.sql.gz' WHERE id = $1`, /backupKey differ/],
    ['the tables', `UPDATE approvals SET tables = '["users"]' WHERE id = $1`, /tables differ/],
  ])('%s edited after signing: refused; the request and its signature are named by evidence verify', async (_what, sql, why) => {
    const id = await request();
    await approve(id);
    await tamper(sql, [id]);
    const gate = await checkStartGate(ctx, { approvalId: id, userId: 'U0OPER' });
    expect(gate).toMatchObject({ ok: false });
    expect((gate as { tampered?: string[] }).tampered?.join()).toMatch(why);
    const sig = (await ctx.store.signatures.forSubject(`approval:${id}`))[0]!;
    const r = await checkEvidence(ctx, { reason: 'verify', actor: 'test' });
    expect(r.broken).toEqual(expect.arrayContaining([
      expect.objectContaining({ register: 'approvals', id, what: 'edited' }),
      expect.objectContaining({ register: 'signatures', id: sig.id, what: 'bad signature' }),
    ]));
  });

  test('a signature row copied onto another request: refused as copied; the inserted row is named', async () => {
    const a = await request();
    await approve(a);
    const b = await request();
    const sig = (await ctx.store.signatures.forSubject(`approval:${a}`))[0]!;
    await tamper(
      `INSERT INTO signatures (kind, subject, client, meaning, signer_id, signer_name, signer_role, statement, reason, signed_at, key_id, content, signature)
       SELECT kind, $2, client, meaning, signer_id, signer_name, signer_role, statement, reason, signed_at, key_id, content, signature FROM signatures WHERE id = $1`,
      [sig.id, `approval:${b}`],
    );
    await tamper(`UPDATE approval_state SET status = 'approved' WHERE approval_id = $1`, [b]);
    const gate = await checkStartGate(ctx, { approvalId: b, userId: 'U0OPER' });
    expect((gate as { tampered?: string[] }).tampered?.join()).toMatch(/made for #\d+, not this one \(copied\)/);
    const copy = (await ctx.store.signatures.forSubject(`approval:${b}`))[0]!;
    const r = await checkEvidence(ctx, { reason: 'verify', actor: 'test' });
    expect(r.broken).toEqual(expect.arrayContaining([expect.objectContaining({ register: 'signatures', id: copy.id, what: 'inserted' })]));
  });

  test('a forged signature (right shape, signed with another key): refused, named as a bad signature', async () => {
    const id = await request();
    await approve(id);
    const sig = (await ctx.store.signatures.forSubject(`approval:${id}`))[0]!;
    const other = loadSigner({ baseDir: mkdtempSync(join(tmpdir(), 'bbt-otherkey-')) });
    await tamper(`UPDATE signatures SET signature = $2 WHERE id = $1`, [sig.id, other.sign(sig.content)]);
    const gate = await checkStartGate(ctx, { approvalId: id, userId: 'U0OPER' });
    expect((gate as { tampered?: string[] }).tampered?.join()).toMatch(/bad signature/);
  });
});

describe('tamper-evident registers', () => {
  test('an audit row deleted with triggers disabled is named (deleted)', async () => {
    const rows = await ctx.store.chains.read('audit_log');
    const victim = rows.find((r) => r.action === 'restore.requested')!;
    await tamper('DELETE FROM audit_log WHERE id = $1', [victim.id]);
    const next = rows.find((r) => r.chain_seq !== null && BigInt(r.chain_seq) === BigInt(victim.chain_seq!) + 1n)!;
    await expectBroken('audit_log', next.id, 'deleted');
  });

  test('a register row edited is named (edited); re-hashing it does not help against the signed head', async () => {
    const [b] = await ctx.store.backups.list({ client: 'demo', limit: 1 });
    await tamper(`UPDATE backup_register SET observations = 'all fine' WHERE id = $1`, [b!.id]);
    await expectBroken('backup_register', b!.id, 'edited');
  });

  test('the newest rows of a register deleted after a signed head: named (deleted)', async () => {
    const id = await request(); // adds backup_register, approvals and audit rows
    await expect(ctx.store.heads.latest()).resolves.not.toHaveLength(0);
    const { signChainHeads } = await import('../../src/evidence/verify.js');
    await signChainHeads(ctx.store, ctx.signer, 'test', new Date());
    await tamper('DELETE FROM approval_state WHERE approval_id = $1', [id]);
    await tamper('DELETE FROM approvals WHERE id = $1', [id]);
    const r = await checkEvidence(ctx, { reason: 'verify', actor: 'test' });
    expect(r.broken).toEqual(expect.arrayContaining([expect.objectContaining({ register: 'approvals', what: 'deleted', detail: expect.stringMatching(/newest rows were removed/) })]));
  });

  test('UPDATE and DELETE of evidence are refused by the database (append-only), even for the superuser', async () => {
    await expect(ctx.pool.query(`UPDATE audit_log SET actor = 'someone' WHERE id = (SELECT max(id) FROM audit_log)`)).rejects.toThrow(/audit_log is evidence \(append-only\): UPDATE is not allowed/);
    await expect(ctx.pool.query('DELETE FROM signatures')).rejects.toThrow(/append-only/);
    await expect(ctx.pool.query('TRUNCATE chain_heads')).rejects.toThrow(/append-only/);
  });
});

describe('four eyes on QA', () => {
  test('whoever launched a restore test cannot sign it as QA; another QA can', async () => {
    const run = await ctx.store.runs.start({ kind: 'restore_test', client: 'demo', actor: 'U0QA', trigger: 'slack' });
    await ctx.store.audit.append({ actor: 'U0QA', action: 'restore_test.started', client: 'demo', target: `run:${run.id}` });
    const row = await ctx.store.restoreTests.insert({ runId: run.id, client: 'demo', testedAt: new Date(), backupUsed: 'backup_x.sql.gz', executedBy: 'Quinn QA', result: 'OK' });
    const own = await qaVerifyRestoreTest(ctx, { registerId: row.id, userId: 'U0QA', userName: 'Quinn QA' });
    expect(own).toEqual({ ok: false, reason: expect.stringMatching(/you launched this restore test, so you cannot also verify it as QA/) });
    expect((await ctx.store.audit.list({ action: 'restore_test.qa_verify_refused' })).at(-1)).toMatchObject({ actor: 'U0QA', reason: 'four eyes: the launcher may not sign as QA' });
    expect((await ctx.store.restoreTests.get(row.id))!.verified_by_qa).toBeNull();
  });
});

describe('the signing key', () => {
  const base = () => mkdtempSync(join(tmpdir(), 'bbt-key-'));
  test('none configured: created 0600 beside the config on first start, then reused', () => {
    const d = base();
    const s = loadSigner({ baseDir: d });
    expect(s.created).toBe(true);
    expect(statSync(join(d, 'backup-bot-signing-key.pem')).mode & 0o777).toBe(0o600);
    expect(s.keyId).toMatch(/^[0-9a-f]{16}$/);
    const again = loadSigner({ baseDir: d });
    expect(again).toMatchObject({ created: false, keyId: s.keyId });
  });
  test('a configured key that is missing: a clear error, never a new key', () => {
    const d = base();
    expect(() => loadSigner({ baseDir: d, signingKey: 'keys/bot.pem' })).toThrow(/evidence.signingKey .*keys\/bot.pem does not exist \(a configured key is never replaced/);
    expect(existsSync(join(d, 'keys/bot.pem'))).toBe(false);
    expect(existsSync(join(d, 'backup-bot-signing-key.pem'))).toBe(false);
  });
  test('a key readable by others is refused; a key of the wrong kind is refused', () => {
    const d = base();
    const path = join(d, 'bot.pem');
    writeFileSync(path, readFileSync(join(d, '..', 'backup-bot-test-signing-key.pem')));
    chmodSync(path, 0o644);
    expect(() => loadSigner({ baseDir: d, signingKey: path })).toThrow(/is readable by others \(mode 644\): refused; run `chmod 600/);
    const rsa = join(d, 'rsa.pem');
    writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    expect(() => loadSigner({ baseDir: d, signingKey: rsa })).toThrow(/is a rsa key; accepted: an Ed25519 key/);
  });
  test('rotation: records signed with an earlier key still verify when its public key is trusted', () => {
    const old = loadSigner({ baseDir: base() });
    const sig = old.sign('content');
    const oldPub = join(base(), 'old.pub.pem');
    writeFileSync(oldPub, old.publicKeyPem);
    const current = loadSigner({ baseDir: base(), trustedKeys: [oldPub] });
    expect(current.keyId).not.toBe(old.keyId);
    expect(current.verify(old.keyId, 'content', sig)).toBe(true);
    expect(loadSigner({ baseDir: base() }).verify(old.keyId, 'content', sig)).toBe(false);
  });
});

describe('least privilege', () => {
  test('a runtime role granted by `db grant` may append evidence but not change it; doctor warns about the superuser', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const owner = `bbt_owner_${suffix}`;
    const runtime = `bbt_runtime_${suffix}`;
    const db = await createTestDatabase('bbt_lp');
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${owner} LOGIN; CREATE ROLE ${runtime} LOGIN; ALTER DATABASE ${db.name} OWNER TO ${owner}; GRANT CREATE ON DATABASE ${db.name} TO ${owner}`);
      const url = (role: string) => { const u = new URL(db.url); u.username = role; return u.toString(); };
      const { openStore } = await import('../../src/store/store.js');
      const { grantRuntimeRole } = await import('../../src/store/privileges.js');
      const ownerStore = await openStore(url(owner), { poolSize: 1 });
      await ownerStore.close();
      const ownerPool = new pg.Pool({ connectionString: url(owner), options: '-c search_path=backup_bot' });
      await grantRuntimeRole(ownerPool, runtime);
      await ownerPool.end();
      const rt = await openStore(url(runtime), { poolSize: 2, ownerUrl: url(owner) });
      try {
        await rt.audit.append({ actor: 'bot', action: 'test.appended' });
        // The §13.5 register through the runtime role: an alert opens an incident, which is read and closed.
        const alert = await rt.alerts.open({ client: 'demo', kind: 'backup', message: 'S2 — backups of demo need attention', at: new Date() });
        expect((await rt.incidents.list({ client: 'demo' })).map((i) => i.id)).toEqual([alert!.incident_id]);
        expect(await rt.incidents.update(alert!.incident_id!, { at: new Date(), status: 'closed', note: 'closed', cause: 'c', correctiveActions: 'a', responsible: 'r', closedAt: new Date(), recordedBy: 'test' })).toMatchObject({ ok: true, incident: { status: 'closed' } });
        const role = await rt.runtimeRole();
        expect(role).toEqual({ role: runtime, superuser: false, ownsEvidence: [], canUpdateEvidence: [] });
        const raw = new pg.Client({ connectionString: url(runtime), options: '-c search_path=backup_bot' });
        await raw.connect();
        try {
          await expect(raw.query(`UPDATE audit_log SET actor = 'x'`)).rejects.toThrow(/permission denied/);
          await expect(raw.query('DELETE FROM audit_log')).rejects.toThrow(/permission denied/);
          await expect(raw.query('SET session_replication_role = replica')).rejects.toThrow(/permission denied/);
          await expect(raw.query('ALTER TABLE audit_log DISABLE TRIGGER ALL')).rejects.toThrow(/must be owner/);
        } finally {
          await raw.end();
        }
      } finally {
        await rt.close();
      }
      const { doctor } = await import('../../src/operations/doctor.js');
      const checks = await doctor(testConfig({ stateUrl: db.url }), 'test');
      expect(checks.find((c) => c.name === 'state database role')).toMatchObject({ ok: true, warn: true, detail: expect.stringMatching(/is a superuser.*backup-bot db grant/) });
    } finally {
      await admin.end();
      await db.drop();
      const c = new pg.Client({ connectionString: db.url.replace(db.name, 'postgres') });
      await c.connect();
      await c.query(`DROP ROLE IF EXISTS ${runtime}; DROP ROLE IF EXISTS ${owner}`).catch(() => undefined);
      await c.end();
    }
  });
});
