import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, utimesSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { makeOwnedTempDir, removeOwnedTempDir, removeStaleOwnedTempDirs } from '../../src/core/owned-temp-dir.js';

/** Directories left by a process killed with SIGKILL: which ones the next process removes, and which it leaves. */
let base: string;
beforeEach(() => { base = mkdtempSync(join(tmpdir(), 'bbt-owned-')); });
afterEach(() => { rmSync(base, { recursive: true, force: true }); });

/** This host: its name and its pid namespace (two containers sharing a host name are two hosts). */
const host = createHash('sha256').update(`${hostname()}\0${readlinkSync('/proc/self/ns/pid')}`).digest('hex').slice(0, 6);
/** A pid that ran and is gone (a short child, waited for). */
const deadPid = (): number => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

test('a dead process\'s directory of this host is removed (after beforeRemove); a live one\'s, another host\'s, other names and this process\'s own are left', async () => {
  const dead = deadPid();
  const names = {
    dead: `.x-partial-${host}-${dead}-Ab12Cd`,
    live: `.x-partial-${host}-${process.ppid}-Ab12Cd`,
    otherHost: `.x-partial-${host === 'ffffff' ? '000000' : 'ffffff'}-${dead}-Ab12Cd`,
    otherPrefix: `.y-partial-${host}-${dead}-Ab12Cd`,
    earlierLifeOfThisPid: `.x-partial-${host}-${process.pid}-Ab12Cd`,
    // Made by this process after it started (a bree job's worker thread: same pid, its own module state): in use.
    threadOfThisProcess: `.x-partial-${host}-${process.pid}-Th12Cd`,
  };
  for (const n of Object.values(names)) mkdirSync(join(base, n, 'profile'), { recursive: true });
  const beforeThisProcess = (Date.now() - process.uptime() * 1000 - 3_600_000) / 1000;
  utimesSync(join(base, names.earlierLifeOfThisPid), beforeThisProcess, beforeThisProcess);
  const mine = await makeOwnedTempDir(base, '.x-partial-');
  expect(basename(mine)).toMatch(new RegExp(`^\\.x-partial-${host}-${process.pid}-[A-Za-z0-9]{6}$`));

  const seen: string[] = [];
  const removed = await removeStaleOwnedTempDirs(base, '.x-partial-', { beforeRemove: async (d) => { seen.push(d); } });
  expect(removed.sort()).toEqual([join(base, names.dead), join(base, names.earlierLifeOfThisPid)].sort());
  expect(seen.sort()).toEqual(removed.sort());
  expect(readdirSync(base).sort()).toEqual([names.live, names.otherHost, names.otherPrefix, names.threadOfThisProcess, basename(mine)].sort());

  await removeOwnedTempDir(mine);
  expect(readdirSync(base)).not.toContain(basename(mine));
});

test('a directory that cannot be removed now is left for the next call; no base directory is nothing to do', async () => {
  const stale = join(base, `.x-partial-${host}-${deadPid()}-Ab12Cd`);
  mkdirSync(stale);
  expect(await removeStaleOwnedTempDirs(base, '.x-partial-', { beforeRemove: async () => { throw new Error('still in use'); } })).toEqual([]);
  expect(readdirSync(base)).toEqual([basename(stale)]);
  expect(await removeStaleOwnedTempDirs(base, '.x-partial-')).toEqual([stale]);
  expect(await removeStaleOwnedTempDirs(join(base, 'missing'), '.x-partial-')).toEqual([]);
});
