/**
 * Owner-only files whatever the umask: new directories 0700, files 0600 (checked under umask 022, the
 * usual default that made dumps world-readable, and 000), and findLooseModes / checkOwnerOnly for what
 * already exists (doctor).
 */
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOwnerOnly, createPrivateFile, findLooseModes, mkdirPrivate, privateTempDir, writePrivateFile } from '../../src/core/private-files.js';

const mode = async (p: string) => (await lstat(p)).mode & 0o777;

let dir: string;
let saved: number;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bb-private-'));
  saved = process.umask();
});
afterEach(async () => {
  process.umask(saved);
  await rm(dir, { recursive: true, force: true });
});

describe.each([['022', 0o022], ['000', 0o000]])('umask %s', (_name, umask) => {
  beforeEach(() => { process.umask(umask); });

  it('mkdirPrivate: every directory it creates is 0700; an existing parent keeps its mode', async () => {
    await mkdir(join(dir, 'existing'));
    await chmod(join(dir, 'existing'), 0o755);
    await mkdirPrivate(join(dir, 'existing', 'a', 'b', 'c'));
    expect(await mode(join(dir, 'existing'))).toBe(0o755);
    for (const p of ['a', 'a/b', 'a/b/c']) expect(await mode(join(dir, 'existing', p))).toBe(0o700);
    await mkdirPrivate(join(dir, 'existing', 'a', 'b', 'c')); // already there: no error
  });

  it('writePrivateFile (key files, manifests) and createPrivateFile: 0600, parents 0700, no temporary left', async () => {
    await writePrivateFile(join(dir, 'keys', 'signing.key'), 'secret key\n');
    expect(await mode(join(dir, 'keys'))).toBe(0o700);
    expect(await mode(join(dir, 'keys', 'signing.key'))).toBe(0o600);
    expect(await readFile(join(dir, 'keys', 'signing.key'), 'utf8')).toBe('secret key\n');
    await writePrivateFile(join(dir, 'keys', 'signing.key'), 'replaced\n');
    expect(await readFile(join(dir, 'keys', 'signing.key'), 'utf8')).toBe('replaced\n');
    expect(await findLooseModes(join(dir, 'keys'))).toEqual([]);
    await createPrivateFile(join(dir, 'keys', 'empty'));
    expect(await mode(join(dir, 'keys', 'empty'))).toBe(0o600);
    await expect(createPrivateFile(join(dir, 'keys', 'empty'))).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('privateTempDir: 0700', async () => {
    const t = await privateTempDir('bb-private-test-');
    try {
      expect(await mode(t)).toBe(0o700);
    } finally {
      await rm(t, { recursive: true, force: true });
    }
  });
});

describe('findLooseModes / checkOwnerOnly', () => {
  it('lists group/other-accessible files and directories (root included), not symlinks; a missing root has none', async () => {
    await chmod(dir, 0o700);
    await mkdir(join(dir, 'demo'), { mode: 0o700 });
    await chmod(join(dir, 'demo'), 0o755);
    await writeFile(join(dir, 'demo', 'backup.sql.gz'), 'x');
    await chmod(join(dir, 'demo', 'backup.sql.gz'), 0o644);
    await writeFile(join(dir, 'demo', 'ok.sql.gz'), 'x');
    await chmod(join(dir, 'demo', 'ok.sql.gz'), 0o600);
    await writeFile(join(dir, 'demo', 'group-writable'), 'x');
    await chmod(join(dir, 'demo', 'group-writable'), 0o620);
    await symlink('/etc/passwd', join(dir, 'demo', 'link'));
    expect(await findLooseModes(dir)).toEqual([
      { path: join(dir, 'demo'), kind: 'directory', mode: 0o755 },
      { path: join(dir, 'demo', 'backup.sql.gz'), kind: 'file', mode: 0o644 },
      { path: join(dir, 'demo', 'group-writable'), kind: 'file', mode: 0o620 },
    ]);
    await expect(checkOwnerOnly(dir)).rejects.toThrow(`2 file(s) and 1 directory under ${dir} can be read by other users of this host: `);
    await expect(checkOwnerOnly(dir)).rejects.toThrow(`${join(dir, 'demo', 'backup.sql.gz')} (0644)`);
    await expect(checkOwnerOnly(dir)).rejects.toThrow(`; fix with: chmod -R go-rwx ${dir}`);
    await chmod(dir, 0o755);
    expect((await findLooseModes(dir))[0]).toEqual({ path: dir, kind: 'directory', mode: 0o755 });
    expect(await findLooseModes(join(dir, 'nope'))).toEqual([]);
  });

  it('an owner-only tree passes', async () => {
    await chmod(dir, 0o700);
    await writePrivateFile(join(dir, 'demo', 'backup.sql.gz'), 'x');
    await expect(checkOwnerOnly(dir)).resolves.toBe(`${dir}: owner-only (files 0600, directories 0700)`);
  });
});
