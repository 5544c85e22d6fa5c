import { redactSecrets } from '../../core/redact.js';

/**
 * What a person typed (a reason, a ticket, a rejection reason, a name, a table name) and what a database or a
 * tool said (an error text, a file name found in storage) is data: wherever the bot shows it in Slack it must read
 * as typed, and nothing in it may act as Slack markup (issue 14 item 5; KNOWN-PITFALLS "Slack timing and text").
 *
 * Three ways, in this order of preference:
 *
 * 1. `plainText(value)`: a `plain_text` text object with `emoji: false`. Slack applies no mrkdwn to it (no
 *    mentions, no `<…|…>` links, no formatting, no `:emoji:` codes), so the value is sent verbatim and shown
 *    exactly as typed. Renderers put the substantial typed values (reason, ticket, rejection reason, the signed
 *    statement) there, as `typedFields` label/value pairs or a section of their own.
 *
 * 2. `literal(value)` for a value that has to sit inside mrkdwn (the message `text` used for notifications and
 *    the console, list lines, a name inside a sentence):
 *    - `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;` (Slack's own escaping): `<!channel>`, `<@U…>` and
 *      `<https://x|y>` cannot form, so no mention and no disguised link.
 *    - The formatting characters are replaced by look-alikes that are not markup: `*` → `∗` (U+2217),
 *      `_` → `ˍ` (U+02CD), `~` → `∼` (U+223C), `` ` `` → `ˋ` (U+02CB), and the full-width `＊ ＿ ｀` (which Slack
 *      also formats) → `﹡ ⸏ ‵`. Slack has no escape for them. A zero-width space next to a marker does NOT
 *      work: Slack takes U+200B as a word boundary, so `*\u200bApproved*\u200b` is still bold (jsx-slack's
 *      "exact mode" inserts exactly such spaces to force formatting). A look-alike works whatever Slack's
 *      boundary rules are, because it simply is not a marker; jsx-slack uses the same replacements.
 *      Only exception: a `*`, `_` or `~` with an ASCII letter or digit on both sides is kept, because Slack
 *      formats only at word breaks (`Super_cali_fragilistic*expiali*docious` shows as typed): such a marker can
 *      neither open nor close, and `backup_2026-03-09_03-00-00.sql.gz` or `lot_movements` stay as they are
 *      (people copy file names from messages into commands).
 *    - A `>` (`&gt;`, or `＞`) at the start of the value or of one of its lines, which Slack would show as a
 *      quote, gets an invisible soft hyphen (U+00AD) before it.
 *    - A `:` that would open an emoji code (`:name:`) is followed by a zero-width space: emoji names cannot
 *      contain U+200B, so `:white_check_mark:` stays text. Other colons (`error: …`, `host:5432`) are left alone.
 *      A bare URL is left as it is: Slack may make it clickable, but it shows its real address (the disguised
 *      `<https://…|label>` form needs a raw `<`).
 *    - Secrets are redacted first (`redactSecrets`), before any character is changed: a password with `_` in
 *      it is still recognised.
 *    `readLiteral` undoes all of this (tests, the console): it gives back the typed text exactly, unless that
 *    text itself held one of the look-alikes, a soft hyphen before `>` or a zero-width space after `:`.
 *
 * 3. `code(value)` for file, table and database names shown as inline code: inside backticks Slack applies no
 *    formatting and no emoji, so only `&<>` are escaped and a backtick (which would close the code) becomes `ˋ`;
 *    `_` stays, so `lot_movements` reads as it is. Line breaks become spaces (inline code is one line).
 *
 * Not passed through these: the bot's own words, Slack IDs turned into mentions (mentions.ts checks their form),
 * client and storage names (the config schema allows only `[a-z0-9_-]`), and the bot's ids, hashes and enums.
 */

const STAND_IN: Record<string, string> = {
  '*': '\u2217', _: '\u02CD', '~': '\u223C', '`': '\u02CB',
  '\uFF0A': '\uFE61', '\uFF3F': '\u2E0F', '\uFF40': '\u2035',
};
const ORIGINAL: Record<string, string> = Object.fromEntries(Object.entries(STAND_IN).map(([k, v]) => [v, k]));
const FORMATTING = /[*_~`\uFF0A\uFF3F\uFF40]/g;
/** Markers that are inert inside a word (between two ASCII letters or digits). */
const INTRA_WORD = new Set(['*', '_', '~']);
const ALNUM = /^[A-Za-z0-9]$/;
const STAND_INS = new RegExp(`[${Object.values(STAND_IN).join('')}]`, 'g');
const ENTITY: Record<string, string> = { amp: '&', lt: '<', gt: '>' };

const ZWSP = '\u200B';
const SHY = '\u00AD';

const text = (value: unknown): string => (value === null || value === undefined ? '' : String(value));

/** `&`, `<`, `>` as Slack's entities: the only escaping mrkdwn has (mentions, links and commands need a raw `<`). */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A typed (or tool-made) value for inside mrkdwn: secrets redacted, escaped, formatting neutralised (see above). */
export function literal(value: unknown): string {
  return escapeMrkdwn(redactSecrets(text(value)))
    .replace(FORMATTING, (c, i: number, all: string) => (INTRA_WORD.has(c) && ALNUM.test(all[i - 1] ?? '') && ALNUM.test(all[i + 1] ?? '') ? c : STAND_IN[c]!))
    .replace(/:(?=[\p{L}\p{N}_+'-]+:)/gu, `:${ZWSP}`)
    .replace(/(^|\n)(&gt;|\uFF1E)/g, `$1${SHY}$2`);
}

/** A value as inline code in mrkdwn: secrets redacted, `&<>` escaped, backticks replaced, one line. */
export function code(value: unknown): string {
  const s = escapeMrkdwn(redactSecrets(text(value)).replace(/[\r\n]+/g, ' ')).replace(/[`\uFF40]/g, (c) => STAND_IN[c]!);
  return `\`${s || ' '}\``;
}

/** What `literal` or `code` was given (for tests and the console): entities decoded, look-alikes and inserted invisibles undone. */
export function readLiteral(s: string): string {
  return s
    .replace(/\u00AD(?=&gt;|\uFF1E)/g, '')
    .replace(/:\u200B/g, ':')
    .replace(STAND_INS, (c) => ORIGINAL[c]!)
    .replace(/&(amp|lt|gt);/g, (_, e: string) => ENTITY[e]!);
}

export interface PlainText { type: 'plain_text'; text: string; emoji: false }

/** A `plain_text` object showing the value verbatim: Slack interprets nothing in it (secrets still redacted). */
export function plainText(value: unknown): PlainText {
  const s = redactSecrets(text(value));
  return { type: 'plain_text', text: s || ' ', emoji: false };
}

/**
 * A section of label/value pairs (Slack shows them as two columns): the label is the bot's mrkdwn, the value a
 * person's text in `plain_text`. Empty values are left out; undefined when none is left. A field holds at most
 * 2000 characters, so longer values are cut there.
 */
export function typedFields(pairs: Array<[label: string, value: string | null | undefined]>): unknown {
  const fields = pairs.filter(([, v]) => v !== null && v !== undefined && v !== '').flatMap(([label, v]) => {
    const p = plainText(v);
    return [{ type: 'mrkdwn', text: label }, { ...p, text: p.text.length > 2000 ? `${p.text.slice(0, 1999)}…` : p.text }];
  });
  return fields.length ? { type: 'section', fields } : undefined;
}
