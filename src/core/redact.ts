/** Removes secrets from text that may reach logs, Slack messages or --json output. */

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`. */
export function redactUrl(url: string): string {
  return url.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]*)@/gi, '$1***@');
}

const registered = new Set<string>();

/** Registers secret values (passwords, tokens) so that `redactSecrets` masks them wherever they appear. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) registered.add(value);
}

export function redactSecrets(text: string): string {
  let out = redactUrl(text);
  for (const s of registered) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}
