#!/usr/bin/env node
// `npm run build && node bench/age-stream.mjs [--gb N] [--library] [--cpu-mb M]`
// Streams N GB (default 4) of generated data through backup-bot's age encryption and back through its
// decryption, without storing it, and prints throughput and the peak RSS of this process (VmHWM):
// bounded memory means the peak does not grow with N. --library runs age-encryption's own WHATWG-stream
// encryption instead (the pure-JavaScript cipher this project replaced for the payload). --cpu-mb M prints
// the CPU time that encryption adds to a backup of M MB of gzip (default 77, bench:backup's 1 GB database):
// sealing with the plaintext sha256 (the dump), and opening (the read-back).
import { readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash, randomBytes } from 'node:crypto';
import { AgeDecryptStream, AgeEncryptStream } from '../dist/core/crypto/age-stream.js';
import { HashingStream } from '../dist/core/hashing-stream.js';
import { Encrypter, generateIdentity, identityToRecipient } from 'age-encryption';

const args = process.argv.slice(2);
const gb = Number(args[args.indexOf('--gb') + 1] ?? 4) || 4;
const total = Math.round(gb * 1024 ** 3);
const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const block = randomBytes(256 * 1024);

function source() {
  let sent = 0;
  return new Readable({
    highWaterMark: 256 * 1024,
    read() {
      if (sent >= total) return this.push(null);
      const n = Math.min(block.length, total - sent);
      sent += n;
      this.push(Buffer.from(block.subarray(0, n)));
    },
  });
}
function sink(h) {
  let bytes = 0;
  return { bytes: () => bytes, stream: new Writable({ highWaterMark: 256 * 1024, write(c, _e, cb) { bytes += c.length; h?.update(c); cb(); } }) };
}

const identity = await generateIdentity();
const recipient = await identityToRecipient(identity);
if (!args.includes('--cpu-mb')) console.log(`start: RSS peak ${hwm().toFixed(0)} MB; ${gb} GB`);
if (args.includes('--cpu-mb')) {
  const mb = Number(args[args.indexOf('--cpu-mb') + 1]) || 77;
  const n = mb * 1024 * 1024;
  const gen = () => { let sent = 0; return new Readable({ read() { if (sent >= n) return this.push(null); sent += block.length; this.push(Buffer.from(block)); } }); };
  const cpu = async (fn) => { const c0 = process.cpuUsage(); await fn(); const c = process.cpuUsage(c0); return (c.user + c.system) / 1e6; };
  await cpu(() => pipeline(gen(), new HashingStream(), sink().stream)); // warm-up
  // the plain pipeline hashes what it stores; the encrypted one hashes the plaintext, encrypts, hashes the ciphertext
  const plainDump = await cpu(() => pipeline(gen(), new HashingStream(), sink().stream));
  const ageDump = await cpu(async () => pipeline(gen(), new HashingStream(), await AgeEncryptStream.create([recipient]), new HashingStream(), sink().stream));
  const cipher = []; // kept for the read-back (not measured: holding it costs what a store would)
  await pipeline(gen(), await AgeEncryptStream.create([recipient]), new Writable({ write(c, _e, cb) { cipher.push(c); cb(); } }));
  // the read-back: the stored bytes hashed (plain), or hashed and decrypted (age: the plaintext is not hashed
  // again when the stored bytes' sha256 is checked, src/core/verify/backup-file.ts decryptInto)
  const plainRead = await cpu(() => pipeline(Readable.from(cipher), new HashingStream(), sink().stream));
  const ageRead = await cpu(() => pipeline(Readable.from(cipher), new HashingStream(), new AgeDecryptStream({ identities: [identity], what: 'bench' }), sink().stream));
  const f = (x) => x.toFixed(2);
  console.log(`${mb} MB of gzip: encryption adds ${f(ageDump - plainDump)} s of CPU to the dump (${f(plainDump)} → ${f(ageDump)}) and ${f(ageRead - plainRead)} s to the read-back (${f(plainRead)} → ${f(ageRead)})`);
} else if (args.includes('--library')) {
  const e = new Encrypter();
  e.addRecipient(recipient);
  const s = sink();
  const t0 = performance.now();
  await pipeline(Readable.fromWeb(await e.encrypt(Readable.toWeb(source()))), s.stream);
  const ms = performance.now() - t0;
  console.log(`age-encryption encrypt: ${(total / 1048576 / (ms / 1000)).toFixed(0)} MB/s, ${s.bytes()} bytes out, peak RSS ${hwm().toFixed(0)} MB`);
} else {
  // encrypt → decrypt in one pipeline, the plaintext hashed at both ends
  const hIn = createHash('sha256');
  const hOut = createHash('sha256');
  const tap = new Writable();
  void tap;
  const src = source();
  src.on('data', (c) => hIn.update(c));
  src.pause();
  const s = sink(hOut);
  const t0 = performance.now();
  await pipeline(src, await AgeEncryptStream.create([recipient]), new AgeDecryptStream({ identities: [identity], what: 'bench' }), s.stream);
  const ms = performance.now() - t0;
  const same = hIn.digest('hex') === hOut.digest('hex');
  console.log(`backup-bot encrypt+decrypt: ${(total / 1048576 / (ms / 1000)).toFixed(0)} MB/s of plaintext through both, ${s.bytes()} bytes back, ${same ? 'identical' : 'DIFFERENT'}, peak RSS ${hwm().toFixed(0)} MB`);
}
