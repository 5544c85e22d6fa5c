import { createHash } from 'node:crypto';

/**
 * The one serialisation every hash and signature of the evidence is computed over: JSON with object keys
 * sorted (JavaScript's default string order) at every level, no whitespace, dates as ISO-8601 UTC with
 * milliseconds, undefined as null, bigints as strings, non-finite numbers as null. Strings are escaped as
 * JSON.stringify does. The exports carry the exact text, so an inspector never has to re-create it.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(normalize(value));
}

function normalize(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) out[k] = normalize((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** The hash before the first row of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * A chained row's hash: sha256 of the previous row's hash, a newline, and the row's canonical content.
 * Offline: `printf '%s\n%s' "$prev_hash" "$content" | sha256sum`.
 */
export function chainHash(prevHash: string, content: string): string {
  return sha256Hex(`${prevHash}\n${content}`);
}
