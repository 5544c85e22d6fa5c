import { readLiteral } from '../../../src/notify/slack/literal.js';

/**
 * What a hostile or careless person might type (issue 14 item 5): a fake bold "Approved by" with a user mention,
 * a mention of the whole channel, a link disguised as "the runbook", an entity that must stay an entity, and
 * italic / strikethrough / code markers.
 */
export const TYPED = '*Approved* by <@U0OWNER> <!channel> <https://evil.example|the runbook> &lt; _x_ ~y~ `z`';

/** Sequences that must not reach Slack as markup. */
const RAW_MARKUP = ['<@U0OWNER>', '<!channel>', '<https://', '`z`'];
/**
 * Formatting of TYPED that must not take effect (outside inline code, where Slack formats nothing). The bold
 * "*Approved*" is looked for with what follows it in TYPED: the bot's own "*Approved* by <name>" is legitimate.
 */
const RAW_FORMATTING = ['*Approved* by <@U0OWNER', '*Approved* by &lt;@U0OWNER', '_x_', '~y~'];

interface TextObject { type: 'mrkdwn' | 'plain_text'; text: string; emoji?: boolean }

/** Every text object (mrkdwn or plain_text) in a message's blocks or a modal view, in document order. */
export function textObjects(v: unknown, out: TextObject[] = []): TextObject[] {
  if (Array.isArray(v)) { for (const x of v) textObjects(x, out); return out; }
  if (!v || typeof v !== 'object') return out;
  const o = v as Record<string, unknown>;
  if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') out.push(o as unknown as TextObject);
  for (const [k, x] of Object.entries(o)) if (k !== 'text' || typeof x !== 'string') textObjects(x, out);
  return out;
}

const outsideInlineCode = (s: string) => s.replace(/`[^`\n]*`/g, '');

/**
 * Asserts that `typed` (TYPED by default) is shown as data in a rendered message (`{ text, blocks }`) or modal
 * view: no mrkdwn text (nor the `text` fallback) carries a mention, a link or formatting from it; it is there,
 * either verbatim in a plain_text object with emoji off, or escaped in mrkdwn so that reading it back gives it.
 * Returns the mrkdwn texts and plain_text objects for more specific checks.
 */
export function expectShownLiterally(rendered: { text?: string; blocks?: unknown[] } | Record<string, unknown>, typed = TYPED): { mrkdwn: string[]; plain: TextObject[] } {
  const objects = textObjects('blocks' in rendered ? rendered.blocks : rendered);
  const mrkdwn = [...(typeof rendered.text === 'string' ? [rendered.text] : []), ...objects.filter((o) => o.type === 'mrkdwn').map((o) => o.text)];
  const plain = objects.filter((o) => o.type === 'plain_text');
  for (const m of mrkdwn) {
    for (const raw of RAW_MARKUP) expect(m).not.toContain(raw);
    for (const raw of RAW_FORMATTING) expect(outsideInlineCode(m)).not.toContain(raw);
  }
  const verbatim = plain.filter((p) => p.text.includes(typed));
  for (const p of verbatim) expect(p.emoji).toBe(false);
  const escaped = mrkdwn.filter((m) => (typed !== TYPED || m.includes('&lt;!channel&gt;')) && readLiteral(m).includes(typed));
  expect(verbatim.length + escaped.length).toBeGreaterThan(0);
  return { mrkdwn, plain };
}
