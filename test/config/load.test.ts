import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfigText, ConfigError } from '../../src/config/load.js';
import { redactSecrets } from '../../src/core/redact.js';

const EXAMPLE = readFileSync(new URL('../../backup-bot.example.yml', import.meta.url), 'utf8');
const ENV = {
  BACKUP_BOT_DATABASE_URL: 'postgres://bot:statepw@127.0.0.1:5432/backup_bot',
  SLACK_BOT_TOKEN: 'xoxb-test-token-1234', SLACK_SIGNING_SECRET: 'signing-secret-abcd',
  R2_KEY: 'r2-access-key-id', R2_SECRET: 'r2-very-secret-key', CONITRACK_DATABASE_URL: 'postgres://app:c0nitr4ck-pw@db.internal:5432/conitrack',
};

function errorOf(fn: () => unknown): ConfigError {
  try { fn(); } catch (e) { return e as ConfigError; }
  throw new Error('expected an error');
}

describe('configuration', () => {
  test('the shipped example is valid and models SOP-001', () => {
    const c = parseConfigText(EXAMPLE, 'example', ENV);
    const coni = c.clients.conitrack!;
    expect(coni.schedule).toBe('0 3 * * 0');
    expect(coni.retention.scheduled).toEqual({ days: 180, keep: 26 });
    expect(coni.rpo).toBe('7d');
    expect(coni.rto).toBe('4h');
    expect(coni.storage).toEqual(['r2', 'local']);
    expect(c.slack?.appToken).toBeUndefined(); // ${SLACK_APP_TOKEN:-} unset → absent
    expect(c.storage.r2).toMatchObject({ type: 's3', region: 'auto', forcePathStyle: true, accessKeyId: 'r2-access-key-id' });
  });

  test('${VAR} comes from the environment; a missing one names the key path', () => {
    const e = errorOf(() => parseConfigText(EXAMPLE, 'example', { ...ENV, R2_SECRET: undefined }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('storage.r2.secretAccessKey: environment variable R2_SECRET is not set');
  });

  test('restoreTest.app.env keeps ${STAGING_DB_*} for the run (not read from the environment)', () => {
    const text = EXAMPLE.replace('      # app: { image: conitrack-app', '      app: { image: conitrack-app');
    expect(text).not.toBe(EXAMPLE);
    const c = parseConfigText(text, 'example', ENV);
    expect(c.clients.conitrack!.restoreTest.app).toMatchObject({ image: 'conitrack-app:latest', port: 8080, path: '/login', env: { DB_URL: '${STAGING_DB_URL}' } });
    const e = errorOf(() => parseConfigText(text.replace('"${STAGING_DB_URL}"', '"${STAGING_DB_URI}"'), 'example', ENV));
    expect(e.message).toContain('environment variable STAGING_DB_URI is not set');
  });

  test('a bad cron names the key path and what is accepted', () => {
    const e = errorOf(() => parseConfigText(EXAMPLE.replace('schedule: "0 3 * * 0"', 'schedule: "0 3 * *"'), 'example', ENV));
    expect(e.message).toContain('clients.conitrack.schedule: "0 3 * *" is not a cron expression');
  });

  test('the evidence report\'s locale and monthly schedule (issue 19): defaults, and a bad value named with what is accepted', () => {
    const cfg = parseConfigText(EXAMPLE.replace('locale: es\n', ''), 'example', ENV);
    expect(cfg.locale).toBe('en');
    expect(cfg.schedules.evidenceReport).toBe('0 7 1 * *');
    expect(parseConfigText(EXAMPLE, 'example', ENV).locale).toBe('es');
    const e = errorOf(() => parseConfigText(EXAMPLE.replace('locale: es', 'locale: fr').replace('evidenceReport: "0 7 1 * *"', 'evidenceReport: "monthly"'), 'example', ENV));
    expect(e.message).toContain('locale: must be one of "es", "en"');
    expect(e.message).toContain('schedules.evidenceReport: "monthly" is not a cron expression');
  });

  test('unknown keys (typos) are errors with their path', () => {
    const e = errorOf(() => parseConfigText(EXAMPLE.replace('    rpo: 7d', '    rpoo: 7d'), 'example', ENV));
    expect(e.message).toContain('clients.conitrack: unknown key "rpoo"');
  });

  test('bad durations, time zones, roles and storage references are named', () => {
    const bad = EXAMPLE.replace('rto: 4h', 'rto: four hours').replace('timezone: UTC', 'timezone: Mars/Olympus')
      .replace('storage: [r2, local]', 'storage: [r2, nas]').replace('qa: [U03QA]', 'qa: [bob]');
    const e = errorOf(() => parseConfigText(bad, 'example', ENV));
    expect(e.message).toContain('clients.conitrack.rto: "four hours" is not a duration');
    expect(e.message).toContain('timezone: "Mars/Olympus" is not a time zone');
    expect(e.message).toContain('clients.conitrack.storage[1]: "nas" is not a configured storage destination');
    expect(e.message).toContain('clients.conitrack.roles.qa[0]: must be a Slack user ID');
  });

  test('an S3 part size outside 5..1024 MiB is refused with the accepted range', () => {
    const big = errorOf(() => parseConfigText(EXAMPLE.replace('partSizeMb: 8 ', 'partSizeMb: 5120 '), 'example', ENV));
    expect(big.message).toContain('storage.r2.partSizeMb: must be at most 1024: the upload holds partSizeMb × (queueSize + 1) in memory');
    const small = errorOf(() => parseConfigText(EXAMPLE.replace('partSizeMb: 8 ', 'partSizeMb: 4 '), 'example', ENV));
    expect(small.message).toContain("storage.r2.partSizeMb: must be at least 5 (S3's smallest part)");
  });

  test('client names with shell or path metacharacters are refused', () => {
    const e = errorOf(() => parseConfigText(EXAMPLE.replace('  conitrack:\n', '  "coni;rm -rf /":\n'), 'example', ENV));
    expect(e.message).toMatch(/clients\.coni;rm -rf \/: .*client name must be lowercase/);
  });

  test('bad YAML reports the line', () => {
    const e = errorOf(() => parseConfigText('timezone: UTC\nstate: { url: "x"\n', 'bad.yml', {}));
    expect(e.message).toMatch(/bad\.yml: invalid YAML: .*line/);
  });

  test('file lookup: --config, BACKUP_BOT_CONFIG, ./backup-bot.yml; missing file is a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'backup-bot.yml'), EXAMPLE);
    expect(loadConfig({ cwd: dir, env: ENV }).source).toBe(join(dir, 'backup-bot.yml'));
    expect(errorOf(() => loadConfig({ cwd: dir, env: ENV, path: 'nope.yml' })).message).toContain(`config file ${join(dir, 'nope.yml')} does not exist`);
    expect(errorOf(() => loadConfig({ cwd: dir, env: { ...ENV, BACKUP_BOT_CONFIG: '/nonexistent/x.yml' } })).message).toContain('BACKUP_BOT_CONFIG');
    const empty = mkdtempSync(join(tmpdir(), 'cfg-'));
    expect(errorOf(() => loadConfig({ cwd: empty, env: {} })).message).toContain('no configuration');
    const d = loadConfig({ cwd: empty, env: {}, allowDefaults: true });
    expect(d.source).toBe('embedded defaults');
    expect(Object.keys(d.config.clients)).toEqual(['demo']);
    expect(d.notes.join('\n')).toContain('embedded defaults');
  });

  describe('encryption, server-side encryption and Object Lock', () => {
    const RCP = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'; // age's own example key
    const ID = 'AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX';
    const withEnc = (enc: string, storage = '') => EXAMPLE
      .replace('    # encryption:', `    encryption: ${enc}\n    # encryption:`)
      .replace('    # sse: AES256', `${storage}    # sse: AES256`);

    test('the example documents them (commented out) and they parse', () => {
      expect(EXAMPLE).toContain('# encryption:');
      expect(EXAMPLE).toContain('# objectLock: { mode: COMPLIANCE, days: 30 }');
      const c = parseConfigText(withEnc(`{ recipients: ["${RCP}"], identity: ["\${AGE_IDENTITY}", { file: /etc/backup-bot/old.key }] }`, '    sse: aws:kms\n    kmsKeyId: alias/backups\n    objectLock: { mode: GOVERNANCE, days: 30 }\n'), 'example', { ...ENV, AGE_IDENTITY: ID });
      expect(c.clients.conitrack!.encryption).toEqual({ recipients: [RCP], identity: [ID, { file: '/etc/backup-bot/old.key' }] });
      expect(c.storage.r2).toMatchObject({ sse: 'aws:kms', kmsKeyId: 'alias/backups', objectLock: { mode: 'GOVERNANCE', days: 30 } });
      expect(parseConfigText(withEnc(`{ recipients: ["${RCP}"] }`), 'example', ENV).clients.conitrack!.encryption).toEqual({ recipients: [RCP] });
    });

    test('a recipient that is not an age public key: the key path and what is accepted', () => {
      const typo = RCP.slice(0, 20) + (RCP[20] === 'q' ? 'p' : 'q') + RCP.slice(21);
      const e = errorOf(() => parseConfigText(withEnc(`{ recipients: ["${RCP}", "${typo}"] }`), 'example', ENV));
      expect(e.message).toContain(`clients.conitrack.encryption.recipients[1]: "${typo}" is not an age public key (accepted: an X25519 recipient "age1…", 62 characters, as printed by age-keygen)`);
      expect(errorOf(() => parseConfigText(withEnc('{ recipients: ["ssh-ed25519 AAAA"] }'), 'example', ENV)).message).toContain('clients.conitrack.encryption.recipients[0]: "ssh-ed25519 AAAA" is not an age public key');
      expect(errorOf(() => parseConfigText(withEnc('{ recipients: [] }'), 'example', ENV)).message).toContain('clients.conitrack.encryption.recipients: needs at least one age public key');
    });

    test('a bad identity is named by its key path, and its value is never shown', () => {
      const bad = 'AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEQ';
      const e = errorOf(() => parseConfigText(withEnc(`{ recipients: ["${RCP}"], identity: "\${AGE_IDENTITY}" }`), 'example', { ...ENV, AGE_IDENTITY: bad }));
      expect(e.message).toMatch(/clients\.conitrack\.encryption\.identity: .*age secret key/);
      expect(e.message).not.toContain('GFPYYSJZ');
      expect(errorOf(() => parseConfigText(withEnc(`{ recipients: ["${RCP}"], identity: { file: key.txt } }`), 'example', ENV)).message).toMatch(/clients\.conitrack\.encryption\.identity/);
      expect(errorOf(() => parseConfigText(withEnc(`{ recipients: ["${RCP}"], identity: "\${AGE_IDENTITY}" }`), 'example', ENV)).message).toContain('clients.conitrack.encryption.identity: environment variable AGE_IDENTITY is not set');
    });

    test('sse, kmsKeyId and objectLock are checked', () => {
      expect(errorOf(() => parseConfigText(withEnc(`{ recipients: ["${RCP}"] }`, '    sse: aes\n'), 'example', ENV)).message).toContain('storage.r2.sse: must be one of "AES256", "aws:kms"');
      expect(errorOf(() => parseConfigText(withEnc(`{ recipients: ["${RCP}"] }`, '    sse: AES256\n    kmsKeyId: k1\n'), 'example', ENV)).message).toContain('storage.r2.kmsKeyId: is only used with sse: "aws:kms"');
      expect(errorOf(() => parseConfigText(withEnc(`{ recipients: ["${RCP}"] }`, '    objectLock: { mode: LEGAL, days: 3 }\n'), 'example', ENV)).message).toContain('storage.r2.objectLock.mode: must be one of "GOVERNANCE", "COMPLIANCE"');
      expect(errorOf(() => parseConfigText(withEnc(`{ recipients: ["${RCP}"] }`, '    objectLock: { mode: COMPLIANCE }\n'), 'example', ENV)).message).toContain('storage.r2.objectLock.days: is required');
    });
  });

  test('secrets read from the environment are masked in any text', () => {
    parseConfigText(EXAMPLE, 'example', ENV);
    const leak = `failed: postgres://app:c0nitr4ck-pw@db.internal:5432/conitrack token xoxb-test-token-1234 key r2-very-secret-key`;
    const out = redactSecrets(leak);
    expect(out).not.toContain('c0nitr4ck-pw');
    expect(out).not.toContain('xoxb-test-token-1234');
    expect(out).not.toContain('r2-very-secret-key');
    expect(out).toContain('db.internal:5432/conitrack');
  });
});

describe('security settings (issue 16)', () => {
  const withYaml = (docker: string) => EXAMPLE.replace(/^docker: \{\}.*$/m, docker);
  test('defaults: no pulls, no insecure engine', () => {
    const c = parseConfigText(EXAMPLE, 'example', ENV);
    expect(c.restoreTest.pull).toBe('never');
    expect(c.docker.allowInsecure).toBe(false);
    expect(c.clients.conitrack!.restoreTest.pull).toBeUndefined();
  });

  test('docker.tls needs ca, cert and key; docker.ssh.hostKey is a fingerprint; restoreTest.pull is never | missing', () => {
    const noKey = errorOf(() => parseConfigText(withYaml('docker: { host: "tcp://staging:2376", tls: { ca: /etc/bb/ca.pem, cert: /etc/bb/cert.pem } }'), 'example', ENV));
    expect(noKey.message).toContain('docker.tls.key');
    const fp = errorOf(() => parseConfigText(withYaml('docker: { host: "ssh://deploy@staging", ssh: { hostKey: "md5:aa" } }'), 'example', ENV));
    expect(fp.message).toContain('docker.ssh.hostKey: must be an SSH key fingerprint as ssh-keygen -lf prints it');
    const ok = parseConfigText(withYaml(`docker: { host: "tcp://staging:2376", tls: { ca: /etc/bb/ca.pem, cert: /etc/bb/cert.pem, key: /etc/bb/key.pem } }`), 'example', ENV);
    expect(ok.docker).toEqual({ host: 'tcp://staging:2376', tls: { ca: '/etc/bb/ca.pem', cert: '/etc/bb/cert.pem', key: '/etc/bb/key.pem' }, allowInsecure: false });
    const pull = errorOf(() => parseConfigText(EXAMPLE.replace(/^  pull: never /m, '  pull: always '), 'example', ENV));
    expect(pull.message).toMatch(/restoreTest\.pull: .*"never".*"missing"/);
  });
});
