import { accessSync, constants } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { OperationError } from '../../core/errors.js';

/**
 * Where headless Chromium is and how it is started for rendering the report. Debian's launcher
 * /usr/bin/chromium adds desktop defaults and sources /etc/chromium.d; the binary behind it,
 * /usr/lib/chromium/chromium, is started directly when present so that only our flags apply.
 */

const CHROMIUM_INSTALL_HINT =
  'Install it: on Debian/Ubuntu `apt-get install chromium` (Ubuntu: `chromium-browser` or Google Chrome), on RHEL/Fedora `dnf install chromium`, '
  + 'on Alpine `apk add chromium`; or point to a Chrome/Chromium binary with the chromiumPath option.';

const CANDIDATE_PATHS = ['/usr/lib/chromium/chromium'];
const CANDIDATE_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Chromium binary to use: the given path, else Debian's binary, else the first of the usual names on PATH. */
export function findChromium(explicit?: string, env: NodeJS.ProcessEnv = process.env, paths: string[] = CANDIDATE_PATHS): string {
  if (explicit) {
    if (!isAbsolute(explicit)) throw new OperationError(`chromiumPath must be an absolute path (got "${explicit}")`);
    if (!executable(explicit)) throw new OperationError(`the PDF report needs headless Chromium, and ${explicit} (chromiumPath) is not an executable file. ${CHROMIUM_INSTALL_HINT}`);
    return explicit;
  }
  for (const p of paths) if (executable(p)) return p;
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of CANDIDATE_NAMES) for (const dir of dirs) if (executable(join(dir, name))) return join(dir, name);
  throw new OperationError(`the PDF report needs headless Chromium, and none was found (looked for ${[...paths, ...CANDIDATE_NAMES].join(', ')} on PATH). ${CHROMIUM_INSTALL_HINT}`);
}

/**
 * Flags for a headless Chromium that renders one local file and talks to nobody: no sandbox (we run as
 * a service user, often in a container), no GPU, no QUIC, no first-run, background networking, component
 * updates or sync, /tmp instead of a small /dev/shm, and every host name resolving to nothing.
 */
export function chromiumArgs(userDataDir: string): string[] {
  return [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--disable-extensions', '--disable-default-apps',
    '--no-default-browser-check', '--mute-audio', '--host-resolver-rules=MAP * ~NOTFOUND', `--user-data-dir=${userDataDir}`,
  ];
}

/**
 * Kills what a killed render left running on its temporary directory: every process (Linux /proc) whose command
 * line has `--user-data-dir=<dir>/profile`, the flag chromiumArgs gave it. Without /proc nothing is found.
 */
export async function killChromiumUsing(dir: string): Promise<void> {
  const flag = `--user-data-dir=${join(dir, 'profile')}`;
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const argv = (await readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0))).toString('utf8').split('\0');
    if (!argv.includes(flag)) continue;
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* already gone */ }
  }
}
