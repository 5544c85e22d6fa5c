/**
 * Text for HTML and SVG (XML) output: `& < > " '` escaped, and the characters XML cannot carry at all
 * (C0 controls other than tab/newline/return, lone surrogates, U+FFFE/U+FFFF) replaced by U+FFFD, so
 * whatever a person typed shows literally and never ends or changes the markup around it.
 */
export function escapeXml(value: unknown): string {
  const s = value === null || value === undefined ? '' : String(value);
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
