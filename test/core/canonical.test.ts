import { canonicalJson, chainHash, GENESIS_HASH, sha256Hex } from '../../src/core/canonical.js';

test('canonical JSON sorts keys at every level and writes dates in UTC', () => {
  expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: null }], c: new Date('2026-01-01T00:00:00-03:00') } }))
    .toBe('{"a":{"c":"2026-01-01T03:00:00.000Z","d":[2,{"y":null,"z":1}]},"b":1}');
  expect(canonicalJson({ u: undefined, n: Number.NaN, b: 10n })).toBe('{"b":"10","n":null,"u":null}');
});

test('a chain hash is sha256 of the previous hash, a newline and the content (what `printf "%s\\n%s" | sha256sum` gives)', () => {
  expect(chainHash(GENESIS_HASH, '{"a":1}')).toBe(sha256Hex(`${'0'.repeat(64)}\n{"a":1}`));
  expect(chainHash(GENESIS_HASH, '{"a":1}')).not.toBe(chainHash(GENESIS_HASH, '{"a":2}'));
});
