/**
 * doctor reports local backup directories that other users of the host can read (issue 16, item 1):
 * one `storage <name>: permissions` line per local destination.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { doctor } from '../../src/operations/doctor.js';
import { testConfig } from '../helpers/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let state: TestDatabase;
let dir: string;
beforeAll(async () => {
  state = await createTestDatabase('bbdoctor');
  dir = await mkdtemp(join(tmpdir(), 'bb-doctor-perm-'));
});
afterAll(async () => {
  await state?.drop();
  await rm(dir, { recursive: true, force: true });
});

it('a backup directory readable by group/other is reported with the paths and the fix; an owner-only one passes', async () => {
  const loose = join(dir, 'loose');
  await mkdir(join(loose, 'demo'), { recursive: true });
  await chmod(loose, 0o755);
  await chmod(join(loose, 'demo'), 0o755);
  await writeFile(join(loose, 'demo', 'backup_2026-01-04_03-00-00.sql.gz'), 'x');
  await chmod(join(loose, 'demo', 'backup_2026-01-04_03-00-00.sql.gz'), 0o644);
  const fresh = join(dir, 'fresh');
  const config = testConfig({
    stateUrl: state.url,
    raw: { storage: { local: { type: 'local', path: loose }, nas: { type: 'local', path: fresh } } },
    client: { storage: ['local', 'nas'] },
  });
  const checks = await doctor(config, 'test config');
  const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
  expect(byName['storage local: permissions']).toEqual({
    name: 'storage local: permissions', ok: false,
    detail: `1 file(s) and 2 directories under ${loose} can be read by other users of this host: ${loose} (0755), ${join(loose, 'demo')} (0755), ${join(loose, 'demo', 'backup_2026-01-04_03-00-00.sql.gz')} (0644); fix with: chmod -R go-rwx ${loose}`,
  });
  // A destination the bot creates itself (the doctor's own write probe made it) is owner-only.
  expect(byName['storage nas']).toMatchObject({ ok: true });
  expect(byName['storage nas: permissions']).toEqual({ name: 'storage nas: permissions', ok: true, detail: `${fresh}: owner-only (files 0600, directories 0700)` });
}, 60_000);
