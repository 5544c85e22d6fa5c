import type { OutMessage } from '../sink.js';

/** Slack's Block Kit limits. */
const MAX_BLOCKS = 50;
const MAX_BLOCK_TEXT = 3000;
const MAX_HEADER_TEXT = 150;
/** Top-level `text` (notifications, fallback); Slack truncates beyond 40 000, we keep it readable. */
const MAX_MESSAGE_TEXT = 3000;

function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const marker = '… (truncated)';
  return s.slice(0, Math.max(0, max - marker.length)) + marker;
}

function fitValue(v: unknown, parentType?: string): unknown {
  if (Array.isArray(v)) return v.map((x) => fitValue(x, parentType));
  if (!v || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(o)) {
    if (k === 'text' && typeof val === 'string' && (o.type === 'mrkdwn' || o.type === 'plain_text')) {
      out[k] = truncate(val, parentType === 'header' ? MAX_HEADER_TEXT : MAX_BLOCK_TEXT);
    } else {
      out[k] = fitValue(val, typeof o.type === 'string' ? o.type : parentType);
    }
  }
  return out;
}

/** A message within Slack's limits: at most 50 blocks (the last one says how many were left out) and 3000 characters per text. */
export function fitMessage(m: OutMessage): OutMessage {
  const text = truncate(m.text, MAX_MESSAGE_TEXT);
  if (!m.blocks) return { text };
  let blocks = m.blocks.map((b) => fitValue(b));
  if (blocks.length > MAX_BLOCKS) {
    const omitted = blocks.length - (MAX_BLOCKS - 1);
    blocks = [...blocks.slice(0, MAX_BLOCKS - 1), { type: 'context', elements: [{ type: 'mrkdwn', text: `… ${omitted} more block(s) not shown (Slack shows at most ${MAX_BLOCKS}).` }] }];
  }
  return { text, blocks };
}
