/**
 * docker.hosts (issue 21): staging engines for restore tests, each with its own address and credentials.
 * Each bad entry is refused when the config loads, naming its key path (docker.hosts[1].tls.ca).
 */
import { readFileSync } from 'node:fs';
import { parseConfigText } from '../../src/config/load.js';
import { testConfig } from '../helpers/config.js';
import { stagingEngines, dockerConnection } from '../../src/core/staging/docker.js';

const withDocker = (docker: unknown) => testConfig({ stateUrl: 'postgres://x@127.0.0.1/x', raw: { docker } });
const errorOf = (docker: unknown): string => {
  try { withDocker(docker); } catch (err) { return (err as Error).message; }
  throw new Error('the config was accepted');
};
const TLS = { ca: '/etc/bb/a/ca.pem', cert: '/etc/bb/a/cert.pem', key: '/etc/bb/a/key.pem' };

describe('docker.hosts in the config', () => {
  it('absent: the one engine of docker.host (DOCKER_HOST, the local socket), as before', () => {
    const c = withDocker({ host: 'unix:///run/d.sock' });
    expect(c.docker.hosts).toBeUndefined();
    expect(stagingEngines(c, {})).toEqual([{ name: 'default', where: 'unix:///run/d.sock', key: 'docker', slot: 'unix:///run/d.sock', settings: { host: 'unix:///run/d.sock', allowInsecure: false }, fromEnv: true }]);
    // The same lock key as before docker.hosts (the work queue groups restore tests by it too).
    expect(stagingEngines(withDocker({}), { DOCKER_HOST: 'tcp://127.0.0.1:2375' })[0]).toMatchObject({ slot: 'tcp://127.0.0.1:2375', where: 'tcp://127.0.0.1:2375' });
    expect(stagingEngines(withDocker({}), {})[0]).toMatchObject({ slot: 'local', where: 'unix:///var/run/docker.sock' });
  });

  it('entries in config order, each with its own settings; name defaults to the address (credentials left out)', () => {
    const c = withDocker({ host: 'tcp://prod:2376', tls: { ca: '/p/ca', cert: '/p/cert', key: '/p/key' }, hosts: [
      { name: 'local', host: 'unix:///var/run/docker.sock' },
      { host: 'tcp://staging-b.example.com:2376', tls: TLS },
      { name: 'c', host: 'ssh://deploy@staging-c', ssh: { hostKey: `SHA256:${'A'.repeat(43)}` } },
    ] });
    const e = stagingEngines(c, { DOCKER_HOST: 'tcp://elsewhere:1', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/nope' });
    expect(e.map((x) => [x.name, x.key, x.slot, x.fromEnv])).toEqual([
      ['local', 'docker.hosts[0]', 'unix:///var/run/docker.sock', false],
      ['tcp://staging-b.example.com:2376', 'docker.hosts[1]', 'tcp://staging-b.example.com:2376', false],
      ['c', 'docker.hosts[2]', 'ssh://deploy@staging-c', false],
    ]);
    expect(e[2]!.where).toBe('ssh://staging-c');
    // Its own TLS only: never docker.tls (production's engine) nor DOCKER_CERT_PATH.
    expect(e[1]!.settings).toEqual({ host: 'tcp://staging-b.example.com:2376', tls: TLS, allowInsecure: false });
    expect(e[0]!.settings.tls).toBeUndefined();
    expect(() => dockerConnection(e[1]!.settings, { DOCKER_TLS_VERIFY: '1' }, { key: e[1]!.key, fromEnv: false })).toThrow(/^cannot read docker\.hosts\[1\]\.tls\.ca \(\/etc\/bb\/a\/ca\.pem\)/);
  });

  it('a loopback tcp:// entry without TLS is accepted; the environment does not add TLS to it', () => {
    const c = withDocker({ hosts: [{ name: 'lo', host: 'tcp://127.0.0.1:2375' }] });
    const [e] = stagingEngines(c, {});
    expect(dockerConnection(e!.settings, { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/nope' }, { key: e!.key, fromEnv: false })).toMatchObject({ transport: 'http', clientCertificate: false });
  });

  it('bad entries are refused naming the key path and what is accepted', () => {
    expect(errorOf({ hosts: [{ host: 'unix:///a.sock' }, { host: 'tcp://b:2376', tls: { cert: '/c', key: '/k' } }] })).toContain('docker.hosts[1].tls.ca: is required');
    expect(errorOf({ hosts: [{ host: 'tcp://10.0.0.5:2376' }] })).toContain('docker.hosts[0].tls: is required for the remote engine tcp://10.0.0.5:2376 (ca, cert and key: TLS with a client certificate), or set allowInsecure: true');
    expect(errorOf({ hosts: [{ host: 'ssh://deploy@staging' }] })).toContain('docker.hosts[0].ssh.hostKey: is required for ssh://deploy@staging');
    expect(errorOf({ hosts: [{ host: 'ftp://x' }] })).toContain('docker.hosts[0].host: unsupported scheme ftp (accepted: unix, tcp, https, ssh)');
    expect(errorOf({ hosts: [{ name: 'a', host: 'unix:///a.sock' }, { name: 'a', host: 'unix:///b.sock' }] })).toContain('docker.hosts[1].name: "a" is already the name of docker.hosts[0] (names must be unique)');
    expect(errorOf({ hosts: [{ name: 'a', host: 'unix:///a.sock' }, { name: 'b', host: 'unix:///a.sock' }] })).toContain('docker.hosts[1].host: unix:///a.sock is already docker.hosts[0] (one entry per engine)');
    expect(errorOf({ hosts: [{ name: 'bad name!', host: 'unix:///a.sock' }] })).toContain('docker.hosts[0].name: must be letters, digits');
    expect(errorOf({ hosts: [{ host: 'unix:///a.sock', tsl: TLS }] })).toContain('docker.hosts[0]: unknown key "tsl" (a typo?)');
    expect(errorOf({ hosts: [] })).toContain('docker.hosts: needs at least one engine');
    // allowInsecure accepts a remote engine without TLS (the operator's explicit choice).
    expect(withDocker({ hosts: [{ host: 'tcp://10.0.0.5:2375', allowInsecure: true }] }).docker.hosts).toEqual([{ host: 'tcp://10.0.0.5:2375', allowInsecure: true }]);
  });

  it("the example config's docker.hosts block (commented out) is valid as written", () => {
    const example = readFileSync(new URL('../../backup-bot.example.yml', import.meta.url), 'utf8');
    const lines = example.split('\n');
    const at = lines.findIndex((l) => l.startsWith('#   docker:') && !l.includes('{'));
    expect(at).toBeGreaterThan(0);
    const block: string[] = [];
    for (const l of lines.slice(at)) { if (!l.startsWith('#   ')) break; block.push(l.slice(4)); }
    const text = example.replace(/^docker: \{\}.*$/m, block.join('\n'));
    const env = {
      BACKUP_BOT_DATABASE_URL: 'postgres://bot:pw@127.0.0.1:5432/backup_bot', SLACK_BOT_TOKEN: 'xoxb-test-token-1234', SLACK_SIGNING_SECRET: 'signing-secret-abcd',
      R2_KEY: 'k', R2_SECRET: 's', CONITRACK_DATABASE_URL: 'postgres://app:pw@db.internal:5432/conitrack',
    };
    const c = parseConfigText(text, 'example', env);
    expect(stagingEngines(c, {}).map((e) => [e.name, e.where])).toEqual([['local', 'unix:///var/run/docker.sock'], ['staging-a', 'tcp://staging-a.example.com:2376']]);
  });
});
