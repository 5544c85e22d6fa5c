import { code, escapeMrkdwn, literal, plainText, readLiteral, typedFields } from '../../../src/notify/slack/literal.js';
import { registerSecret } from '../../../src/core/redact.js';
import { TYPED } from './shown-literally.js';

/** How typed text is made inert for Slack (issue 14 item 5): the exact forms, and that they read back. */

test('escapeMrkdwn: only &, < and > become entities (an entity typed stays an entity)', () => {
  expect(escapeMrkdwn('a & b <!channel> <@U1> c > d &lt; *e*')).toBe('a &amp; b &lt;!channel&gt; &lt;@U1&gt; c &gt; d &amp;lt; *e*');
});

test('literal: no mention, link, formatting, emoji or quote survives; the exact replacement characters', () => {
  expect(literal('*Approved* by <@U0OWNER>')).toBe('\u2217Approved\u2217 by &lt;@U0OWNER&gt;');
  expect(literal('<!channel> <!here> <!subteam^S1>')).toBe('&lt;!channel&gt; &lt;!here&gt; &lt;!subteam^S1&gt;');
  expect(literal('<https://evil.example|the runbook>')).toBe('&lt;https://evil.example|the runbook&gt;');
  expect(literal('_x_ ~y~ `z` ```block```')).toBe('\u02CDx\u02CD \u223Cy\u223C \u02CBz\u02CB \u02CB\u02CB\u02CBblock\u02CB\u02CB\u02CB');
  expect(literal('＊bold＊ ＿it＿ ｀c｀')).toBe('\uFE61bold\uFE61 \u2E0Fit\u2E0F \u2035c\u2035');
  // Inside a word (ASCII letters or digits on both sides) a marker can neither open nor close: kept as typed.
  expect(literal('backup_2026-03-09_03-00-00.sql.gz lot_movements a*b c~d')).toBe('backup_2026-03-09_03-00-00.sql.gz lot_movements a*b c~d');
  expect(literal('_lot_ x_ _y *a*b a*b* é_é a`b')).toBe('\u02CDlot\u02CD x\u02CD \u02CDy \u2217a*b a*b\u2217 é\u02CDé a\u02CBb');
  expect(literal(':white_check_mark: :x: :+1::skin-tone-2: at 10:30, error: host:5432')).toBe(':\u200Bwhite_check_mark: :\u200Bx: :\u200B+1::\u200Bskin-tone-2: at 10:30, error: host:5432');
  expect(literal('> quoted\nline two\n> again ＞ not first')).toBe('\u00AD&gt; quoted\nline two\n\u00AD&gt; again ＞ not first');
  expect(literal('＞ full-width quote')).toBe('\u00AD＞ full-width quote');
  expect(literal('&lt;')).toBe('&amp;lt;');
  expect(literal(null)).toBe('');
  expect(literal(undefined)).toBe('');
  expect(literal(42)).toBe('42');
  const out = literal(TYPED);
  for (const raw of ['<', '>', '*', '_', '~', '`']) expect(out).not.toContain(raw);
});

test('readLiteral gives back exactly what was typed', () => {
  const samples = [
    TYPED,
    '> quoted\n> twice :x: *b* & <a> &amp; &lt;x&gt;',
    'ＡＢ＊c＊ ＿d＿ ｀e｀ ＞ f',
    'time 10:30, path C:\\dir, url https://a.example/?q=1&r=2',
    '',
  ];
  for (const s of samples) expect(readLiteral(literal(s))).toBe(s);
  expect(readLiteral(code('lot_movements `x` <!here>'))).toBe('`lot_movements `x` <!here>`');
});

test('code: inline code keeps underscores, escapes &<>, cannot be closed early, stays on one line', () => {
  expect(code('public.lot_movements')).toBe('`public.lot_movements`');
  expect(code('a`b <!channel>\nc')).toBe('`a\u02CBb &lt;!channel&gt; c`');
  expect(code('')).toBe('` `');
});

test('plainText: verbatim, emoji codes off; typedFields pairs a mrkdwn label with the plain value', () => {
  expect(plainText(TYPED)).toEqual({ type: 'plain_text', text: TYPED, emoji: false });
  expect(plainText('')).toEqual({ type: 'plain_text', text: ' ', emoji: false });
  expect(typedFields([['*Reason:*', TYPED], ['*Ticket:*', null], ['*Other:*', '']])).toEqual({
    type: 'section', fields: [{ type: 'mrkdwn', text: '*Reason:*' }, { type: 'plain_text', text: TYPED, emoji: false }],
  });
  expect(typedFields([['*Ticket:*', undefined]])).toBeUndefined();
  const long = typedFields([['*Reason:*', 'r'.repeat(2500)]]) as { fields: Array<{ text: string }> };
  expect(long.fields[1]!.text).toHaveLength(2000);
});

test('secrets are redacted before any character is replaced (a password with _ or : is still found)', () => {
  registerSecret('pa_ss:w*rd');
  const err = 'login failed for postgres://app:pa_ss:w*rd@db.example/prod with pa_ss:w*rd';
  for (const out of [literal(err), code(err), plainText(err).text]) {
    expect(readLiteral(out)).not.toContain('pa_ss:w*rd');
    expect(out).not.toContain('pa');
  }
});
