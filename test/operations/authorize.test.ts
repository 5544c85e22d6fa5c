import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';
import { testContext , type TestContext } from '../helpers/context.js';
import type { Context } from '../../src/context.js';
import { authorize, cachedUsergroupDirectory, clientsOf, hasRole, rolesOf, setUsergroupDirectory } from '../../src/operations/authorize.js';
import { listAudit } from '../../src/store/audit.js';

let db: TestDatabase;
let ctx: TestContext;
const groupCalls: string[] = [];
let clock = 0;

beforeAll(async () => {
  db = await createTestDatabase('bbt_authz');
  ctx = await testContext(testConfig({ stateUrl: db.url, client: { roles: { systemOwners: ['U0OWNER'], itManagers: ['U0ITMGR'], qa: ['U0QA', 'S0QAGRP'], operators: ['U0OPER', 'S0BROKEN'] } } }));
  setUsergroupDirectory(ctx, cachedUsergroupDirectory(async (g) => {
    groupCalls.push(g);
    if (g === 'S0QAGRP') return ['U0ANA', 'U0BEA'];
    throw new Error('no_such_subteam');
  }, 60_000, () => clock));
});
afterAll(async () => { await ctx?.close(); await db?.drop(); });

test('user IDs and user-group members hold a role; group membership is cached briefly', async () => {
  expect(await hasRole(ctx, 'demo', 'U0QA', 'qa')).toBe(true);
  expect(await hasRole(ctx, 'demo', 'U0ANA', 'qa')).toBe(true);
  expect(await hasRole(ctx, 'demo', 'U0BEA', 'qa')).toBe(true);
  expect(groupCalls.filter((g) => g === 'S0QAGRP')).toHaveLength(1);
  clock += 61_000;
  expect(await hasRole(ctx, 'demo', 'U0ANA', 'qa')).toBe(true);
  expect(groupCalls.filter((g) => g === 'S0QAGRP')).toHaveLength(2);
  expect(await hasRole(ctx, 'demo', 'U0ANA', 'operators')).toBe(false);
});

test('a group that cannot be resolved grants nothing; an unknown client grants nothing', async () => {
  expect(await hasRole(ctx, 'demo', 'U0NOBODY', 'operators')).toBe(false);
  expect(await hasRole(ctx, 'nope', 'U0OPER', 'operators')).toBe(false);
  expect(await hasRole(ctx, '__proto__', 'U0OPER', 'operators')).toBe(false);
});

test('rolesOf / clientsOf', async () => {
  expect(await rolesOf(ctx, 'demo', 'U0OWNER')).toEqual(['systemOwners']);
  expect(await clientsOf(ctx, 'U0ANA')).toEqual(['demo']);
  expect(await clientsOf(ctx, 'U0ANA', 'operators')).toEqual([]);
});

test('authorize: refusal names the role and is audited (authz.refused); success is not audited', async () => {
  expect(await authorize(ctx, { client: 'demo', userId: 'U0OPER', role: 'operators', action: 'run a backup of demo' })).toEqual({ ok: true });
  const r = await authorize(ctx, { client: 'demo', userId: 'U0QA', role: 'systemOwners', action: 'approve a production restore of demo' });
  expect(r.ok).toBe(false);
  expect(!r.ok && r.message).toContain('you need the *System Owner* role on *demo*');
  expect(!r.ok && r.message).toContain('clients.demo.roles.systemOwners');
  const rows = await listAudit(ctx.pool, { action: 'authz.refused' });
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ actor: 'U0QA', client: 'demo', target: 'approve a production restore of demo', reason: 'missing role systemOwners' });
});
