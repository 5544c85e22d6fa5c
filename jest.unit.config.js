/**
 * `npm run test:unit`: the fast tier (under a minute), every test file that needs neither a Docker engine
 * nor s3rver nor the running Slack bot nor minutes of real time (PostgreSQL and MariaDB are fine). A test
 * file is left out when it, or any module under test/ it imports (followed transitively), imports `dockerode`
 * or `s3rver` (directly or through test/helpers/s3.ts) or test/slack/harness.ts (starts the whole bot
 * against the Slack emulator: every slash command and approval test), or when its leading doc comment says
 * `@needs docker`, `@needs s3` (for a test that reaches them only through src/ or the CLI), `@needs real-time`
 * (a test that waits for the clock) or `@needs slow` (one of the slowest files, several seconds by itself even
 * on an idle machine: spawns the built CLI or Chromium, builds many databases, loads big dumps).
 * Moving or splitting a test keeps its imports and its doc comment, so nothing else needs updating.
 * `UNIT_TIER_VERBOSE=1` lists what is left out and why.
 *
 * The tier also points DOCKER_HOST at a socket that does not exist (inherited by jest's workers and every
 * process a test spawns), so a test that needs Docker without saying so fails here, naming that socket,
 * rather than pass by luck.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import base from './jest.config.js';

const root = dirname(fileURLToPath(import.meta.url));
const testDir = join(root, 'test');
const SERVICE_PACKAGES = { dockerode: 'docker', s3rver: 's3' };
/** Test-local modules whose importers are left out too, and why. */
const SERVICE_MODULES = { [join(testDir, 'slack', 'harness.ts')]: 'slack-bot' };
const NOT_IN_UNIT_TIER = new Set(['docker', 's3', 'real-time', 'slow', 'slack-bot']);

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.name.endsWith('.test.ts')) yield p;
  }
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s*['"]([^'"]+)['"]/gm;

/** What one file needs by itself, and the test-local modules it imports. */
function scan(file) {
  let text;
  try { text = readFileSync(file, 'utf8'); } catch { return { needs: new Set(), local: [] }; } // not a .ts module

  const needs = new Set();
  const docblock = /^\s*\/\*\*([\s\S]*?)\*\//.exec(text)?.[1] ?? '';
  for (const m of docblock.matchAll(/@needs\s+([\w ,-]+)/g)) {
    for (const n of m[1].split(/[\s,]+/)) {
      if (!n) continue;
      if (!NOT_IN_UNIT_TIER.has(n)) throw new Error(`${relative(root, file)}: @needs ${n}: accepted are ${[...NOT_IN_UNIT_TIER].join(', ')}`);
      needs.add(n);
    }
  }
  const local = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec in SERVICE_PACKAGES) needs.add(SERVICE_PACKAGES[spec]);
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
    if (target in SERVICE_MODULES) needs.add(SERVICE_MODULES[target]);
    if (target.startsWith(testDir + '/')) local.push(target);
  }
  return { needs, local };
}

const scanned = new Map();
/** Everything a file needs, through its test-local imports. */
function needsOf(file, seen = new Set()) {
  if (seen.has(file)) return new Set();
  seen.add(file);
  let own = scanned.get(file);
  if (!own) {
    own = scan(file);
    scanned.set(file, own);
  }
  const all = new Set(own.needs);
  for (const dep of own.local) for (const n of needsOf(dep, seen)) all.add(n);
  return all;
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const excluded = [];
for (const file of walk(testDir)) {
  const needs = [...needsOf(file)].filter((n) => NOT_IN_UNIT_TIER.has(n));
  if (needs.length > 0) excluded.push({ file: relative(root, file), needs });
}
if (process.env.UNIT_TIER_VERBOSE === '1') {
  for (const { file, needs } of excluded) console.error(`test:unit leaves out ${file} (needs ${needs.join(', ')})`);
}

process.env.DOCKER_HOST = 'unix:///nonexistent/test-unit-has-no-docker--tag-the-test-file-with-needs-docker.sock';

export default {
  ...base,
  testPathIgnorePatterns: ['/node_modules/', ...excluded.map(({ file }) => `^${escape(join(root, file))}$`)],
};
