import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext, FakeClock, type TestContext } from '../helpers/context.js';
import { fillSampleDatabase } from '../../src/core/demo-database.js';
import { requestRestore, REQUESTER_CHECKLIST_IDS } from '../../src/operations/request-restore.js';
import { decideRestore } from '../../src/operations/decide-restore.js';
import { getApproval } from '../../src/store/approvals.js';
import { readLiteral } from '../../src/notify/slack/literal.js';
import { makeVerifiedBackup } from '../operations/restore-fixtures.js';
import { expectShownLiterally, textObjects, TYPED } from './slack/shown-literally.js';

/**
 * Issue 14 item 5 end to end, against the real PostgreSQL: what a requester and an approver type goes into the
 * register as typed, and every message the bot posts about it shows it as data (no mention of everyone, no
 * disguised link, no fake "*Approved*"), while the people the bot means to call are still mentioned.
 */

let state: TestDatabase;
let prod: TestDatabase;
let dir: string;
let ctx: TestContext;

beforeAll(async () => {
  state = await createTestDatabase();
  prod = await createTestDatabase('bbprod');
  await fillSampleDatabase(prod.url);
  dir = await mkdtemp(join(tmpdir(), 'bb-usertext-'));
  const config = testConfig({
    stateUrl: state.url, demoUrl: prod.url, storageDir: dir,
    client: { channel: 'C0DEMO', roles: { systemOwners: ['U0SYSOWN'], itManagers: ['U0ITMGR'], qa: ['U0QA'], operators: ['U0OPER'] } },
  });
  ctx = await testContext(config, { clock: new FakeClock(new Date('2026-03-10T12:00:00Z')) });
});

afterAll(async () => {
  await ctx?.close();
  await state?.drop();
  await prod?.drop();
  await rm(dir, { recursive: true, force: true });
});

test('a request and its rejection: typed text stored verbatim, posted as data', async () => {
  const backup = await makeVerifiedBackup(ctx.pool, { url: prod.url, storageDir: dir, takenAt: new Date('2026-03-09T03:00:00Z') });
  const r = await requestRestore(ctx, {
    client: 'demo', backupId: backup.id, scope: 'full', reason: TYPED, ticket: TYPED, checklist: REQUESTER_CHECKLIST_IDS,
    requestedBy: 'U0OPER', requestedByName: TYPED,
  });
  if (!r.ok) throw new Error(r.message);
  const post = ctx.notifier.posts.find((p) => p.message.text.startsWith('Production restore of demo requested'))!;
  expect(post.channel).toBe('C0DEMO');
  expectShownLiterally(post.message);
  const plain = textObjects(post.message.blocks).filter((t) => t.type === 'plain_text' && t.text === TYPED);
  expect(plain).toHaveLength(2); // reason and ticket
  expect(post.message.text).toContain('<@U0SYSOWN>'); // the approver is still called

  const d = await decideRestore(ctx, { approvalId: r.approval.id, client: 'demo', userId: 'U0SYSOWN', userName: TYPED, meaning: 'rejected', rejectReason: TYPED });
  if (!d.ok) throw new Error(d.message);
  const row = (await getApproval(ctx.pool, r.approval.id))!;
  expect(row).toMatchObject({ reason: TYPED, ticket: TYPED, requested_by_name: TYPED, decided_by_name: TYPED, reject_reason: TYPED });
  expect(row.statement).toContain(`Reason: ${TYPED}`);

  const decided = ctx.notifier.updates.filter((u) => u.ref.ts === post.ref.ts).at(-1)!.message;
  const { plain: decidedPlain } = expectShownLiterally(decided);
  expect(decidedPlain.some((t) => t.text.includes(row.statement!))).toBe(true);
  expect(readLiteral(decided.text)).toBe(`Production restore of demo rejected by ${TYPED} at ${row.decided_at!.toISOString()}`);
});
