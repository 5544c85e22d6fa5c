import { readFileSync, existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { embeddedDefaults } from './defaults.js';
import { retentionWarnings } from './retention-coverage.js';
import { UserError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';

export class ConfigError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: Config;
  /** Where it came from: a file path, or "embedded defaults". */
  source: string;
  /** Defaults that were filled in, for the quickstart's "which defaults it used" line. */
  notes: string[];
  /** Valid but weaker than the procedures (a retention that keeps fewer than 30 days / 26 weekly backups). */
  warnings?: string[];
}

export interface LoadOptions {
  /** --config PATH */
  path?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Allow the embedded quickstart defaults when no file exists (serve only). */
  allowDefaults?: boolean;
}

/** Where files that belong beside the config live (the signing key): its directory, or the working directory. */
export function configDir(loaded: Pick<LoadedConfig, 'source'>, cwd = process.cwd()): string {
  return isAbsolute(loaded.source) ? dirname(loaded.source) : cwd;
}

/** Finds the config: --config PATH, then BACKUP_BOT_CONFIG, then ./backup-bot.yml; else embedded defaults if allowed. */
export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const explicit = opts.path ?? env.BACKUP_BOT_CONFIG;
  let path: string | undefined;
  if (explicit) {
    path = resolve(cwd, explicit);
    if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist (given by ${opts.path ? '--config' : 'BACKUP_BOT_CONFIG'})`);
  } else if (existsSync(resolve(cwd, 'backup-bot.yml'))) {
    path = resolve(cwd, 'backup-bot.yml');
  }
  if (!path) {
    if (!opts.allowDefaults) {
      throw new ConfigError(`no configuration: create ./backup-bot.yml (see backup-bot.example.yml), or pass --config PATH, or set BACKUP_BOT_CONFIG`);
    }
    const { raw, notes } = embeddedDefaults(env);
    const config = validateConfig(raw, 'embedded defaults');
    return { config, source: 'embedded defaults', notes, warnings: configWarnings(config) };
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const config = parseConfigText(text, path, env);
  return { config, source: path, notes: [], warnings: configWarnings(config) };
}

/** What a valid config does weaker than the SOP and the runbook (printed at load, listed by doctor). */
function configWarnings(config: Config): string[] {
  return retentionWarnings(config).map((w) => w.message);
}

export function parseConfigText(text: string, source: string, env: NodeJS.ProcessEnv = process.env): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new ConfigError(`${source}: invalid YAML: ${e.message.split('\n')[0]}${e.linePos ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : ''}`);
  }
  const raw = doc.toJS() as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${source}: the configuration must be a YAML mapping (keys: timezone, state, slack, storage, clients, ...)`);
  }
  return validateConfig(interpolate(raw, env, []), source);
}

/** Placeholders of restoreTest.app.env, filled at run time, never from the environment. */
const STAGING_PLACEHOLDER = /^STAGING_DB_(HOST|PORT|NAME|USER|PASSWORD|PASSWORD_FILE|URL)$/;
const VAR_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${VAR}` / `${VAR:-default}` in every string; a missing variable is an error naming the key path. */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: (string | number)[]): unknown {
  if (typeof value === 'string') {
    const out = value.replace(VAR_RE, (m, name: string, fallback: string | undefined) => {
      // restoreTest.app.env's ${STAGING_DB_*} are filled per restore test with the staging database's address.
      if (STAGING_PLACEHOLDER.test(name)) return m;
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${path.join('.')}: environment variable ${name} is not set (secrets are read from the environment: export ${name}=...)`);
    });
    if (out !== value) registerSecretIfSecretPath(path, out);
    // `${OPTIONAL:-}` that resolved to nothing means "not set".
    return out === '' && value.includes('${') ? undefined : out;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...path, i]));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = interpolate(v, env, [...path, k]);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return value;
}

const SECRET_KEYS = /(token|secret|password|key|url)$/i;
function registerSecretIfSecretPath(path: (string | number)[], value: string): void {
  const last = String(path[path.length - 1] ?? '');
  if (!SECRET_KEYS.test(last)) return;
  if (/url$/i.test(last)) {
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@]*)@/i.exec(value);
    if (m?.[1]) registerSecret(decodeURIComponentSafe(m[1]));
    return;
  }
  registerSecret(value);
}

function decodeURIComponentSafe(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

export function validateConfig(raw: unknown, source: string): Config {
  const parsed = configSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ConfigError(`${source}: invalid configuration\n${formatIssues(parsed.error.issues)}`);
}

function formatIssues(issues: z.core.$ZodIssue[]): string {
  return issues.map((i) => `  ${i.path.length ? keyPath(i.path) : '(top level)'}: ${describeIssue(i)}`).join('\n');
}

/** `docker.hosts[1].tls.ca`: keys joined by dots, list positions in brackets. */
function keyPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

function describeIssue(i: z.core.$ZodIssue): string {
  switch (i.code) {
    case 'unrecognized_keys':
      return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => JSON.stringify(k)).join(', ')} (a typo?)`;
    case 'invalid_type':
      return i.input === undefined ? `is required (${i.expected})` : `${i.message.replace(/^Invalid input: /, '')}`;
    case 'invalid_value':
      return `must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return 'type must be "s3" or "local"';
    case 'invalid_key':
      return i.issues[0]?.message ?? i.message;
    case 'invalid_format':
      return i.format === 'url' ? `${JSON.stringify(i.input)} is not a URL (e.g. https://host:port/)` : i.message;
    default:
      return i.message;
  }
}
