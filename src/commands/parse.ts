import { z } from 'zod';
import { NAME_RE } from '../config/schema.js';

/** Slash-command text: printable, short. Anything else gets the usage message and nothing runs. */
const MAX_COMMAND_TEXT = 200;
const PRINTABLE = /^[\x20-\x7E]*$/;

const clientName = z.string().regex(NAME_RE, 'a client name is lowercase letters, digits, "-" or "_" (1-63 characters)');
/** A backup key or file name as the register shows it (no "..", no spaces or shell characters). */
const backupKey = z.string().max(300).regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'a backup is a key or file name such as backup_2026-01-06_03-00-00.sql.gz')
  .refine((k) => !k.split('/').includes('..'), 'a backup key cannot contain ".."');

/** A calendar quarter, 2026-Q1 (q in any case). */
const quarter = z.string().regex(/^\d{4}-[Qq][1-4]$/, 'a quarter is written like 2026-Q1').transform((q) => q.toUpperCase());

const backupArgs = z.union([
  z.tuple([z.literal('now'), clientName]).transform(([, client]) => ({ sub: 'now' as const, client })),
  z.tuple([z.literal('status')]).transform(() => ({ sub: 'status' as const, client: undefined })),
  z.tuple([z.literal('status'), clientName]).transform(([, client]) => ({ sub: 'status' as const, client })),
  z.tuple([z.literal('list'), clientName]).transform(([, client]) => ({ sub: 'list' as const, client })),
  z.tuple([z.literal('log'), clientName]).transform(([, client]) => ({ sub: 'log' as const, client })),
  z.tuple([z.literal('report'), clientName]).transform(([, client]) => ({ sub: 'report' as const, client, quarter: undefined })),
  z.tuple([z.literal('report'), clientName, quarter]).transform(([, client, q]) => ({ sub: 'report' as const, client, quarter: q })),
  z.tuple([z.literal('help')]).transform(() => ({ sub: 'help' as const })),
  z.tuple([z.literal('incident'), clientName]).transform(([, client]) => ({ sub: 'incident' as const, client })),
  z.tuple([z.literal('incident'), clientName, z.string().regex(/^[1-9]\d{0,17}$/)]).transform(([, client, incidentId]) => ({ sub: 'incident' as const, client, incidentId })),
]);

/** `now <client> pre-change <ticket> <reason…>`: the reason is typed text (accents and markup allowed, shown literally). */
function parsePreChange(text: string): BackupCommand | undefined {
  const m = /^\s*now\s+(\S+)\s+pre-change(?:\s+(\S+))?(?:\s+([\s\S]*))?$/i.exec(text);
  if (!m) return undefined;
  const c = clientName.safeParse(m[1]);
  if (!c.success) return { sub: 'help', problem: `"${m[1]!.slice(0, 64)}" is not a client name (lowercase letters, digits, "-" or "_")` };
  if (!m[2]) return { sub: 'help', problem: `a pre-change backup needs the ticket of the change and a reason: ${PRE_CHANGE_USAGE}` };
  const t = ticketRef.safeParse(m[2]);
  if (!t.success) return { sub: 'help', problem: `"${m[2].slice(0, 64)}": ${t.error.issues[0]?.message}` };
  if (!m[3]?.trim()) return { sub: 'help', problem: `a pre-change backup needs a reason after the ticket: ${PRE_CHANGE_USAGE}` };
  const r = preChangeReason.safeParse(m[3]);
  if (!r.success) return { sub: 'help', problem: `${r.error.issues[0]?.message}` };
  return { sub: 'now', client: c.data, preChange: { ticket: t.data, reason: r.data } };
}

/** A pre-change backup's ticket (change, update or migration it precedes): a reference, not prose. */
export const ticketRef = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._#:/-]{0,63}$/, 'a ticket is a reference such as CHG-1234 or JIRA#55 (letters, digits and . _ # : / -, at most 64 characters)');
/** Why a pre-change backup was taken: free text (any language), one line, no control characters. */
export const preChangeReason = z.string().trim().min(1, 'the reason is empty').max(500, 'the reason is longer than 500 characters')
  .refine((r) => !/[\u0000-\u001f\u007f]/.test(r), 'the reason contains control characters');

const PRE_CHANGE_USAGE = '`/backup now <client> pre-change <ticket> <reason…>` (SOP-001 §7.1: before an update, a migration or a critical configuration change; e.g. `/backup now conitrack pre-change CHG-1234 Flyway migration V42`)';

export type BackupCommand =
  | { sub: 'now'; client: string; preChange?: { ticket: string; reason: string } }
  | { sub: 'incident'; client: string; incidentId?: string }
  | { sub: 'list' | 'log'; client: string }
  | { sub: 'status'; client: string | undefined }
  | { sub: 'report'; client: string; quarter: string | undefined }
  | { sub: 'help'; problem?: string };

function tokens(text: string): { ok: true; words: string[] } | { ok: false; problem: string } {
  if (text.length > MAX_COMMAND_TEXT) return { ok: false, problem: `the text is too long (${text.length} characters; at most ${MAX_COMMAND_TEXT})` };
  if (!PRINTABLE.test(text)) return { ok: false, problem: 'the text contains characters that are not accepted (only plain letters, digits and punctuation)' };
  const words = text.trim().split(/\s+/).filter(Boolean);
  return { ok: true, words };
}

/** Parses `/backup` text; anything not understood is `help` with the problem to show. */
export function parseBackupCommand(text: string): BackupCommand {
  if (text.length > MAX_COMMAND_TEXT + 500) return { sub: 'help', problem: `the text is too long (${text.length} characters)` };
  const pre = parsePreChange(text);
  if (pre) return pre;
  const t = tokens(text);
  if (!t.ok) return { sub: 'help', problem: t.problem };
  if (t.words.length === 0) return { sub: 'help', problem: 'no subcommand given' };
  const words = [t.words[0]!.toLowerCase(), ...t.words.slice(1)];
  const r = backupArgs.safeParse(words);
  if (r.success) return r.data;
  const sub = words[0]!;
  if (sub === 'report') {
    if (words[1] === undefined) return { sub: 'help', problem: '`report` needs a client name (and optionally a quarter like 2026-Q1)' };
    if (words.length > 3) return { sub: 'help', problem: '`report` takes a client name and optionally one quarter (like 2026-Q1)' };
    if (!clientName.safeParse(words[1]).success) return { sub: 'help', problem: `"${words[1].slice(0, 64)}" is not a client name (lowercase letters, digits, "-" or "_")` };
    return { sub: 'help', problem: `"${(words[2] ?? '').slice(0, 32)}" is not a quarter (accepted: YYYY-QN, e.g. 2026-Q1)` };
  }
  if (sub === 'incident') {
    if (words[1] === undefined) return { sub: 'help', problem: '`incident` needs a client name: `/backup incident <client>` (a new incident) or `/backup incident <client> <number>` (record its cause and close it)' };
    if (words.length > 3) return { sub: 'help', problem: '`incident` takes a client name and optionally an incident number' };
    if (words[2] !== undefined && !/^[1-9]\d{0,17}$/.test(words[2])) return { sub: 'help', problem: `"${words[2].slice(0, 32)}" is not an incident number (digits, as \`backup-bot incident list\` shows it)` };
  }
  if (['now', 'list', 'log', 'status', 'incident'].includes(sub)) {
    const name = words[1];
    if (name === undefined && sub !== 'status') return { sub: 'help', problem: `\`${sub}\` needs a client name` };
    if (words.length > 2) return { sub: 'help', problem: `\`${sub}\` takes ${sub === 'status' ? 'at most ' : ''}one client name` };
    return { sub: 'help', problem: `"${(name ?? '').slice(0, 64)}" is not a client name (lowercase letters, digits, "-" or "_")` };
  }
  if (sub === 'help') return { sub: 'help' };
  return { sub: 'help', problem: `unknown subcommand "${sub.slice(0, 32)}"` };
}

export type RestoreTestCommand = { ok: true; client: string; backupKey?: string } | { ok: false; problem: string };

/** Parses `/restore-test <client> [backup]`. */
export function parseRestoreTestCommand(text: string): RestoreTestCommand {
  const t = tokens(text);
  if (!t.ok) return { ok: false, problem: t.problem };
  if (t.words.length === 0) return { ok: false, problem: 'no client given' };
  if (t.words.length > 2) return { ok: false, problem: 'too many words (a client and optionally one backup)' };
  const c = clientName.safeParse(t.words[0]);
  if (!c.success) return { ok: false, problem: `"${t.words[0]!.slice(0, 64)}": ${c.error.issues[0]?.message ?? 'not a client name'}` };
  if (t.words.length === 1) return { ok: true, client: c.data };
  const k = backupKey.safeParse(t.words[1]);
  if (!k.success) return { ok: false, problem: `"${t.words[1]!.slice(0, 64)}": ${k.error.issues[0]?.message ?? 'not a backup'}` };
  return { ok: true, client: c.data, backupKey: k.data };
}

/** A register row id carried by a button (checked, then re-read from the state database). */
export const registerId = z.string().regex(/^[1-9][0-9]{0,17}$/, 'not a register id');
