import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { BACKUP_COMMAND, RESTORE_COMMAND, RESTORE_TEST_COMMAND } from '../../src/commands/index.js';
import { SLACK_EVENTS_PATH } from '../../src/slack/app.js';

const manifest = YAML.parse(readFileSync(join(process.cwd(), 'manifest.yml'), 'utf8'));

/** Every Web API method the bot's source calls, and the bot scope each one needs. */
const SCOPE_OF: Record<string, string | null> = {
  'chat.postMessage': 'chat:write', 'chat.update': 'chat:write', 'users.info': 'users:read',
  'usergroups.users': 'usergroups:read', filesUploadV2: 'files:write', 'views.open': null, 'views.update': null,
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [readFileSync(join(dir, e.name), 'utf8')] : []));
}

test('the manifest declares the three slash commands the bot registers, on the events URL', () => {
  const cmds = manifest.features.slash_commands as Array<{ command: string; url: string; usage_hint: string }>;
  expect(cmds.map((c) => c.command).sort()).toEqual([BACKUP_COMMAND, RESTORE_COMMAND, RESTORE_TEST_COMMAND].sort());
  for (const c of cmds) {
    expect(c.url).toBe(`https://YOUR-HOST${SLACK_EVENTS_PATH}`);
    expect(c.usage_hint.length).toBeGreaterThan(0);
  }
  expect(manifest.settings.interactivity).toEqual({ is_enabled: true, request_url: `https://YOUR-HOST${SLACK_EVENTS_PATH}` });
  expect(manifest.settings.socket_mode_enabled).toBe(false);
  expect(manifest.settings.event_subscriptions).toBeUndefined();
  expect(manifest.features.bot_user.display_name).toBe('backup-bot');
});

test('bot scopes are exactly the ones the source uses (commands + one per API method family)', () => {
  const code = sources(join(process.cwd(), 'src')).join('\n');
  const used = new Set<string>(['commands']);
  const calls = new Set([...code.matchAll(/client\.((?:chat|users|usergroups|files|views|conversations|reactions|pins|team)\.[A-Za-z]+)|(filesUploadV2)/g)].map((m) => m[1] ?? m[2]!));
  for (const call of calls) {
    expect({ call, known: call in SCOPE_OF }).toEqual({ call, known: true });
    const s = SCOPE_OF[call];
    if (s) used.add(s);
  }
  expect([...(manifest.oauth_config.scopes.bot as string[])].sort()).toEqual([...used].sort());
});
