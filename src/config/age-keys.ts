/**
 * Shape and checksum checks of age keys for config validation (no crypto, no dependency: the config layer
 * loads on every CLI call). age keys are bech32 (BIP-173, without its 90-character limit):
 *  - an X25519 recipient (public key) is `age1` + 58 lower-case characters (32 bytes + checksum), as
 *    printed by `age-keygen` ("# public key: age1…");
 *  - an X25519 identity (secret key) is `AGE-SECRET-KEY-1` + 58 upper-case characters.
 * Post-quantum (`age1pq1…`), plugin and passphrase keys are not accepted: Debian's `age` 1.1 cannot read
 * them, and a backup must stay readable without the bot.
 */

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i]!;
  }
  return chk >>> 0;
}

/** The 32 bytes a bech32 string with human-readable part `hrp` carries, or undefined when it is not one. */
function decodeBech32Key(s: string, hrp: string): Uint8Array | undefined {
  const lower = s.toLowerCase();
  if (s !== lower && s !== s.toUpperCase()) return undefined; // mixed case is invalid bech32
  if (!lower.startsWith(`${hrp}1`) || lower.length !== hrp.length + 1 + 58) return undefined;
  const data: number[] = [];
  for (const c of lower.slice(hrp.length + 1)) {
    const v = CHARSET.indexOf(c);
    if (v < 0) return undefined;
    data.push(v);
  }
  const expand = [...hrp].map((c) => c.charCodeAt(0) >> 5).concat([0], [...hrp].map((c) => c.charCodeAt(0) & 31));
  if (polymod(expand.concat(data)) !== 1) return undefined;
  // 52 groups of 5 bits = 260 bits: 32 bytes and 4 padding bits, which must be zero.
  const out = new Uint8Array(32);
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (const v of data.slice(0, 52)) {
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  if (n !== 32 || (acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

/** `age1…`: an age X25519 public key with a valid checksum. */
export function isAgeRecipient(s: string): boolean {
  return s.startsWith('age1') && decodeBech32Key(s, 'age') !== undefined;
}

/** `AGE-SECRET-KEY-1…`: an age X25519 secret key with a valid checksum. */
export function isAgeIdentity(s: string): boolean {
  return s.startsWith('AGE-SECRET-KEY-1') && decodeBech32Key(s, 'age-secret-key-') !== undefined;
}
