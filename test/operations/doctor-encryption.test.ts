/** `doctor` reports each client's age identities: matching a current recipient, old (after a rotation), or none. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { doctor } from '../../src/operations/doctor.js';
import { recipientFingerprint } from '../../src/core/crypto/keys.js';
import { runProgram } from '../../src/core/run-program.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testConfig } from '../helpers/config.js';

let state: TestDatabase;
let dir: string;
const keys: Array<{ file: string; identity: string; recipient: string }> = [];

beforeAll(async () => {
  state = await createTestDatabase('bbt_doc_age');
  dir = mkdtempSync(join(tmpdir(), 'bbt-doc-age-'));
  for (let i = 0; i < 2; i++) {
    const file = join(dir, `k${i}.txt`);
    await runProgram('age-keygen', ['-o', file]);
    keys.push({ file, recipient: (await runProgram('age-keygen', ['-y', file])).stdout.trim(), identity: readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('AGE-'))! });
  }
});
afterAll(async () => {
  await state?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const run = (encryption: Record<string, unknown>) => doctor(testConfig({ stateUrl: state.url, storageDir: join(dir, 'store'), client: { encryption } }), 'test');

test('current and old identities are told apart; none current, or an unreadable key file, fails the check', async () => {
  const fp = keys.map((k) => recipientFingerprint(k.recipient));
  const rotated = (await run({ recipients: [keys[1]!.recipient], identity: [keys[1]!.identity, { file: keys[0]!.file }] })).find((c) => c.name === 'client demo: encryption')!;
  expect(rotated.ok).toBe(true);
  expect(rotated.detail).toBe(`age, 1 recipient(s) ${fp[1]}; identities: ${fp[1]} matches a recipient [clients.demo.encryption.identity[0]]; ${fp[0]} is an old key (matches no current recipient: reads backups made before a rotation) [clients.demo.encryption.identity[1] (file ${keys[0]!.file})]`);

  const stale = (await run({ recipients: [keys[1]!.recipient], identity: { file: keys[0]!.file } })).find((c) => c.name === 'client demo: encryption')!;
  expect(stale.ok).toBe(false);
  expect(stale.detail).toMatch(/none matches a current recipient: new backups cannot be read back here$/);

  const missing = (await run({ recipients: [keys[1]!.recipient], identity: { file: join(dir, 'gone.key') } })).find((c) => c.name === 'client demo: encryption')!;
  expect(missing).toMatchObject({ ok: false, detail: expect.stringMatching(/^clients\.demo\.encryption\.identity\.file: cannot read the age identity file .*gone\.key \(ENOENT\)/) });

  const plain = await doctor(testConfig({ stateUrl: state.url, storageDir: join(dir, 'store') }), 'test');
  expect(plain.some((c) => c.name === 'client demo: encryption')).toBe(false);
});
