import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { AgeDecryptError, AgeEncryptStream } from '../../../src/core/crypto/age-stream.js';
import { checkDecryptable, checkEncryption, decryptionFor, loadIdentities, recipientFingerprint, recipientInfo } from '../../../src/core/crypto/keys.js';
import { runProgram } from '../../../src/core/run-program.js';
import { redactSecrets } from '../../../src/core/redact.js';
import { UserError } from '../../../src/core/errors.js';

let dir: string;
const keys: Array<{ identity: string; recipient: string; file: string }> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'age-keys-'));
  for (let i = 0; i < 3; i++) {
    const file = join(dir, `key${i}.txt`);
    expect((await runProgram('age-keygen', ['-o', file])).code).toBe(0);
    keys.push({ identity: readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!, recipient: (await runProgram('age-keygen', ['-y', file])).stdout.trim(), file });
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('fingerprint: first 16 hex digits of sha256 of the recipient string, as `printf %s age1… | sha256sum` gives', async () => {
  const r = keys[0]!.recipient;
  expect(recipientFingerprint(r)).toBe(createHash('sha256').update(r).digest('hex').slice(0, 16));
  const sh = await runProgram('sha256sum', [], { input: r });
  expect(sh.stdout.slice(0, 16)).toBe(recipientFingerprint(r));
  expect(recipientFingerprint(` ${r}\n`)).toBe(recipientFingerprint(r));
  expect(recipientInfo([r])).toEqual([{ fingerprint: recipientFingerprint(r), recipient: r }]);
});

test('loadIdentities: inline and from files (several keys, comments), each with its recipient and fingerprint; secrets registered for redaction', async () => {
  const two = join(dir, 'two.txt');
  writeFileSync(two, `${readFileSync(keys[1]!.file, 'utf8')}\n${readFileSync(keys[2]!.file, 'utf8')}`);
  const ids = await loadIdentities('demo', { recipients: [keys[0]!.recipient], identity: [keys[0]!.identity, { file: two }] });
  expect(ids.map((i) => i.recipient)).toEqual(keys.map((k) => k.recipient));
  expect(ids.map((i) => i.fingerprint)).toEqual(keys.map((k) => recipientFingerprint(k.recipient)));
  expect(ids[0]!.source).toBe('clients.demo.encryption.identity[0]');
  expect(ids[2]!.source).toBe(`clients.demo.encryption.identity[1] (file ${two})`);
  expect(redactSecrets(`oops ${keys[2]!.identity}`)).toBe('oops ***');
  expect(await loadIdentities('demo', { recipients: [keys[0]!.recipient] })).toEqual([]);
});

test('loadIdentities: a missing or bad key file is a UserError naming the config key, never the secret', async () => {
  const missing = join(dir, 'nope.txt');
  await expect(loadIdentities('demo', { recipients: [keys[0]!.recipient], identity: { file: missing } })).rejects.toThrow(`clients.demo.encryption.identity.file: cannot read the age identity file ${missing} (ENOENT)`);
  const bad = join(dir, 'bad.txt');
  writeFileSync(bad, `# comment\n${keys[0]!.identity}\nAGE-SECRET-KEY-1NOTAKEYNOTAKEYSECRETSECRET\n`);
  const err = await loadIdentities('demo', { recipients: [keys[0]!.recipient], identity: [keys[1]!.identity, { file: bad }] }).then(() => new Error("expected a failure"), (e: unknown) => e as Error);
  expect(err).toBeInstanceOf(UserError);
  expect(err.message).toBe(`clients.demo.encryption.identity[1].file: line 2 of the keys in ${bad} is not an age secret key (expected "AGE-SECRET-KEY-1…"; post-quantum and plugin keys are not supported)`);
  expect(err.message).not.toContain('NOTAKEY');
  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, '# nothing\n');
  await expect(loadIdentities('demo', { recipients: [keys[0]!.recipient], identity: { file: empty } })).rejects.toThrow(/holds no age identity/);
});

test('checkEncryption (doctor): current, old (after a rotation), none current, unreadable', async () => {
  const fp = keys.map((k) => recipientFingerprint(k.recipient));
  // rotation: new backups go to key1 (+ an offline recovery key2 without identity here); key0 is the old identity
  const r = await checkEncryption('demo', { recipients: [keys[1]!.recipient, keys[2]!.recipient], identity: [keys[1]!.identity, { file: keys[0]!.file }] });
  expect(r.ok).toBe(true);
  expect(r.identities).toEqual([
    { fingerprint: fp[1], source: 'clients.demo.encryption.identity[0]', status: 'current' },
    { fingerprint: fp[0], source: `clients.demo.encryption.identity[1] (file ${keys[0]!.file})`, status: 'old' },
  ]);
  expect(r.recipientsWithoutIdentity.map((x) => x.fingerprint)).toEqual([fp[2]]);
  expect(r.detail).toContain(`${fp[1]} matches a recipient`);
  expect(r.detail).toContain(`${fp[0]} is an old key`);

  const none = await checkEncryption('demo', { recipients: [keys[1]!.recipient], identity: keys[0]!.identity });
  expect(none.ok).toBe(false);
  expect(none.detail).toMatch(/none matches a current recipient: new backups cannot be read back here/);

  const unreadable = await checkEncryption('demo', { recipients: [keys[1]!.recipient], identity: { file: join(dir, 'gone.txt') } });
  expect(unreadable.ok).toBe(false);
  expect(unreadable.detail).toMatch(/cannot read the age identity file/);

  const noId = await checkEncryption('demo', { recipients: [keys[1]!.recipient] });
  expect(noId).toMatchObject({ ok: true, identities: [] });
  expect(noId.detail).toMatch(/no identity configured/);
});

describe('before reading an encrypted backup', () => {
  let cipher: Buffer;
  const manifest = () => ({ encryption: { scheme: 'age', recipients: recipientInfo([keys[0]!.recipient, keys[1]!.recipient]), plaintextSha256: 'ab'.repeat(32), plaintextSizeBytes: 5 } });
  beforeAll(async () => {
    cipher = await buffer(Readable.from([Buffer.from('hello')]).pipe(await AgeEncryptStream.create([keys[0]!.recipient, keys[1]!.recipient])));
  });

  test('decryptionFor: undefined for a plain backup; a UserError naming the recipients and the config key when no identity is configured', async () => {
    expect(await decryptionFor('demo', undefined, { sha256: 'x' }, 'backup_x.sql.gz')).toBeUndefined();
    const err = await decryptionFor('demo', { recipients: [keys[0]!.recipient] }, manifest(), 'backup_x.sql.gz.age').then(() => new Error("expected a failure"), (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(`backup_x.sql.gz.age is encrypted (age) for recipient fingerprint(s) ${recipientFingerprint(keys[0]!.recipient)}, ${recipientFingerprint(keys[1]!.recipient)}, and clients.demo.encryption.identity is not set on this host: set it to the secret key ("\${AGE_IDENTITY}" or { file: /path/to/key.txt }) to verify or restore it`);
    // the file name alone is enough to know (a row without manifest)
    await expect(decryptionFor('demo', undefined, null, 'backup_x.sql.gz.age')).rejects.toThrow(/is encrypted \(age\), and clients\.demo\.encryption\.identity is not set/);
    const d = await decryptionFor('demo', { recipients: [keys[0]!.recipient], identity: keys[1]!.identity }, manifest(), 'backup_x.sql.gz.age');
    expect(d).toMatchObject({ plaintextSha256: 'ab'.repeat(32), plaintextSizeBytes: 5 });
    expect(d!.identities.map((i) => i.recipient)).toEqual([keys[1]!.recipient]);
  });

  test('checkDecryptable: the wrong identity is refused from the header alone, naming the fingerprints the file was made for', async () => {
    let opened = 0;
    const open = async () => { opened++; return Readable.from([cipher]); };
    const err = await checkDecryptable({ client: 'demo', encryption: { recipients: [keys[2]!.recipient], identity: keys[2]!.identity }, manifest: manifest(), what: 'backup backup_x.sql.gz.age', open }).then(() => new Error("expected a failure"), (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(AgeDecryptError);
    const fp = keys.map((k) => recipientFingerprint(k.recipient));
    expect(err.message).toBe(`cannot decrypt backup backup_x.sql.gz.age: no configured age identity matches it. It was encrypted for recipient fingerprint(s) ${fp[0]}, ${fp[1]}; the configured identities are ${fp[2]} (clients.demo.encryption.identity). Add the identity of one of those recipients (after a key rotation, keep the old identity in the list)`);
    expect(opened).toBe(1);
    const ok = await checkDecryptable({ client: 'demo', encryption: { recipients: [keys[2]!.recipient], identity: [keys[2]!.identity, keys[1]!.identity] }, manifest: manifest(), what: 'backup backup_x.sql.gz.age', open });
    expect(ok?.client).toBe('demo');
    expect(await checkDecryptable({ client: 'demo', encryption: undefined, manifest: {}, what: 'backup backup_x.sql.gz', open })).toBeUndefined();
    expect(opened).toBe(2);
  });
});
