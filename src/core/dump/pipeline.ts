import { createHash } from 'node:crypto';
import { PassThrough, pipeline, type Readable, type Transform } from 'node:stream';
import type { Storage } from '../storage/storage.js';
import type { ObjectLockRetention } from '../storage/object-lock.js';
import { errorMessage } from '../errors.js';
import { redactSecrets } from '../redact.js';
import { describeExit, exitOk, type DumpExit, type DumpProcess } from './process.js';
import { scanningTransform, TRAILERS, type DumpScanner } from './scan.js';
import { gzipStream } from '../zlib-chunk.js';
import { HashingStream } from '../hashing-stream.js';

export interface Destination {
  name: string;
  storage: Storage;
  primary: boolean;
  /** S3 Object Lock of this destination for this backup (`objectLockOf`): passed to every put. */
  objectLock?: ObjectLockRetention;
}

interface DestinationResult { destination: string; primary: boolean; ok: boolean; key: string; error?: string }

export interface StreamResult {
  /** The dump program succeeded, its output is complete and the primary destination has it under `key`. */
  ok: boolean;
  error?: string;
  /** Which part failed: the dump program, the dump content (truncated), or the primary destination. */
  failedPart?: 'dump' | 'content' | 'storage';
  /** sha256 and size of the stored bytes (the ciphertext when encrypted). */
  sha256: string;
  sizeBytes: number;
  /** Encrypted: sha256 and size of what was encrypted (the gzip stream, or the custom archive). */
  plaintextSha256?: string;
  plaintextBytes?: number;
  /** Uncompressed bytes read from the program. */
  rawBytes: number;
  tables?: number;
  trailer?: boolean;
  exit?: DumpExit;
  destinations: DestinationResult[];
  /** Non-fatal remarks (tar: a file changed while read…). */
  warnings: string[];
}

export interface StreamOptions {
  source: DumpProcess;
  key: string;
  destinations: Destination[];
  /** gzip level (1-9) applied in the pipeline; null stores the program's output as-is (pg_dump -Fc). */
  gzipLevel: number | null;
  /** Scans the uncompressed output (CREATE TABLE count, trailer). */
  scanner?: DumpScanner;
  /** A missing trailer fails the dump (plain SQL dumps). */
  requireTrailer?: boolean;
  /** Exit status that counts as success (default: code 0, no signal). */
  exitAcceptable?: (e: DumpExit) => boolean;
  /** A secondary that accepts no data for this long is dropped (reported failed) so the primary is never blocked forever. */
  secondaryStallMs?: number;
  contentType?: string;
  /**
   * Encrypts the stored stream (`AgeEncryptStream.create(recipients)`): dump → gzip → encrypt → destinations;
   * the plaintext's sha256 and size are reported beside the ciphertext's.
   */
  encrypt?: Transform;
  /** Cancels: the program is killed (SIGTERM) and every upload aborted, as on any failure. */
  signal?: AbortSignal;
}

/** `storage "name" (where)`, the same label the storage errors start with. */
function describeDestination(d: { name: string; storage: Storage }): string {
  return `storage "${d.name}" (${d.storage.description})`;
}

/** An error of a destination, always naming it (storage errors already do). */
export function storageFailure(d: { name: string; storage: Storage }, err: unknown): string {
  const msg = errorMessage(err);
  return redactSecrets(msg.startsWith(`storage "${d.name}"`) ? msg : `${describeDestination(d)}: ${msg}`);
}

async function settledWithin(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => { timer = setTimeout(r, ms); })]);
  if (timer) clearTimeout(timer);
}

interface Sink {
  d: Destination;
  pt: PassThrough;
  ac: AbortController;
  failed?: string;
  done: boolean;
  /** Settles (never rejects) when the destination's put ends, well or badly. */
  settled: Promise<void>;
}

/**
 * dump stdout → [scan uncompressed text] → gzip → [sha256 of the plaintext → age] → sha256 + byte count →
 * every destination at once.
 *
 * - No temporary copy: chunks go straight to one PassThrough per destination; the loop pulls the next
 *   chunk only when every live destination has accepted the previous one (backpressure), so memory is
 *   bounded by the streams' buffers, whatever the database size.
 * - The destinations' streams are ended only after the program exited successfully and the trailer was
 *   seen; otherwise every upload is aborted (local `.partial` removed, multipart aborted) so nothing
 *   exists under the final name.
 * - A failing or stalled secondary is dropped and reported; the primary decides `ok`.
 */
export async function streamToDestinations(o: StreamOptions): Promise<StreamResult> {
  const hash = createHash('sha256');
  let size = 0;
  const stallMs = o.secondaryStallMs ?? 120_000;
  const warnings: string[] = [];

  const sinks: Sink[] = o.destinations.map((d) => {
    const pt = new PassThrough();
    pt.on('error', () => {});
    const ac = new AbortController();
    const sink: Sink = { d, pt, ac, done: false, settled: Promise.resolve() };
    let put: Promise<unknown>;
    try {
      put = d.storage.put(o.key, pt, { signal: ac.signal, contentType: o.contentType, ...(d.objectLock ? { retainUntil: d.objectLock.retainUntil } : {}) });
    } catch (err) {
      put = Promise.reject(err);
    }
    sink.settled = put.then(
      () => { sink.done = true; },
      (err: unknown) => {
        if (!sink.failed) sink.failed = storageFailure(d, err);
        pt.destroy();
      },
    );
    return sink;
  });
  const primary = sinks.find((s) => s.d.primary) ?? sinks[0]!;
  const live = () => sinks.filter((s) => !s.failed);

  const dropSecondary = (s: Sink, why: string) => {
    if (s.failed) return;
    s.failed = redactSecrets(`${describeDestination(s.d)}: ${why}`);
    s.ac.abort(new Error(why));
    s.pt.destroy();
  };

  const waitDrain = (s: Sink): Promise<void> => new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      if (timer) clearTimeout(timer);
      s.pt.off('drain', finish);
      resolve();
    };
    s.pt.once('drain', finish);
    void s.settled.then(finish);
    if (s !== primary) timer = setTimeout(() => { dropSecondary(s, `stalled: accepted no data for ${Math.round(stallMs / 1000)}s`); finish(); }, stallMs);
  });

  const streams: NodeJS.ReadableStream[] = [o.source.stdout];
  if (o.scanner) streams.push(scanningTransform(o.scanner));
  if (o.gzipLevel !== null) streams.push(gzipStream(o.gzipLevel));
  const plain = o.encrypt ? new HashingStream() : undefined;
  if (plain && o.encrypt) streams.push(plain, o.encrypt);
  let pipeError: Error | undefined;
  const out: Readable = streams.length === 1
    ? o.source.stdout
    : (pipeline(streams as unknown as [Readable, ...NodeJS.ReadWriteStream[]], (err) => { if (err) pipeError = err; }) as unknown as Readable);

  let failure: { part: 'dump' | 'content' | 'storage'; message: string } | undefined;
  const onAbort = () => {
    failure ??= { part: 'dump', message: errorMessage(o.signal?.reason ?? 'cancelled') };
    o.source.kill('SIGTERM');
    o.source.stdout.destroy();
  };
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of out as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      const waits: Promise<void>[] = [];
      for (const s of live()) if (!s.pt.write(chunk)) waits.push(waitDrain(s));
      if (waits.length) await Promise.all(waits);
      if (primary.failed) throw Object.assign(new Error(primary.failed), { storage: true });
    }
  } catch (err) {
    failure ??= (err as { storage?: boolean }).storage
      ? { part: 'storage', message: errorMessage(err) }
      : { part: 'dump', message: `reading the output of ${o.source.program} failed: ${errorMessage(err)}` };
    o.source.kill('SIGTERM');
    o.source.stdout.destroy();
  }

  const exit = await o.source.exited;
  o.signal?.removeEventListener('abort', onAbort);
  const accept = o.exitAcceptable ?? exitOk;
  const scan = o.scanner?.finish();
  if (!failure && !accept(exit)) failure = { part: 'dump', message: describeExit(o.source.program, exit) };
  if (!failure && pipeError) failure = { part: 'dump', message: `${o.encrypt ? 'compressing or encrypting' : 'compressing'} the output of ${o.source.program} failed: ${errorMessage(pipeError)}` };
  if (!failure && o.requireTrailer && o.scanner && !scan?.trailer) {
    failure = { part: 'content', message: `the dump is truncated: it does not end with "${TRAILERS[o.scanner.engine]}"` };
  }
  if (!failure && exit.code !== 0 && exit.code !== null) warnings.push(describeExit(o.source.program, exit));

  if (!failure) {
    for (const s of live()) s.pt.end();
    await primary.settled;
    if (primary.failed) failure = { part: 'storage', message: primary.failed };
    // secondaries get a bounded time to finish after the primary
    await Promise.all(sinks.filter((s) => s !== primary).map(async (s) => {
      await settledWithin(s.settled, stallMs);
      if (!s.done && !s.failed) dropSecondary(s, `did not finish within ${Math.round(stallMs / 1000)}s of the primary`);
    }));
  }

  if (failure) {
    // abort every upload; wait for each to clean up (partial files, multipart uploads)
    for (const s of sinks) {
      if (!s.done) {
        s.ac.abort(new Error(failure.message));
        s.pt.destroy(new Error(failure.message));
      }
    }
    // wait (bounded) for each upload to clean up after itself; a hung destination is not waited for forever
    await Promise.all(sinks.map((s) => settledWithin(s.settled, stallMs)));
    // a destination that completed before the failure was known must not keep a final-named object
    await Promise.all(sinks.filter((s) => s.done).map((s) => s.d.storage.delete(o.key).catch(() => {})));
  }

  return {
    ok: !failure,
    error: failure ? redactSecrets(failure.message) : undefined,
    failedPart: failure?.part,
    sha256: hash.digest('hex'),
    sizeBytes: size,
    ...(plain ? { plaintextSha256: plain.digest(), plaintextBytes: plain.bytes } : {}),
    rawBytes: scan?.bytes ?? size,
    tables: scan?.tables,
    trailer: scan?.trailer,
    exit,
    destinations: sinks.map((s) => ({
      destination: s.d.name,
      primary: s === primary,
      ok: !failure && s.done && !s.failed,
      key: o.key,
      ...(s.failed ? { error: s.failed } : failure ? { error: `not kept: ${redactSecrets(failure.message)}` } : {}),
    })),
    warnings,
  };
}
