import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import {
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { S3Storage, ObjectLockedError, StorageError } from '../../../src/core/storage/s3.js';
import { createStorage } from '../../../src/core/storage/index.js';
import type { S3StorageConfig } from '../../../src/config/schema.js';
import { startS3, type TestS3 } from '../../helpers/s3.js';

const BUCKET = 'backups';
const MiB = 1024 * 1024;

let s3: TestS3;

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
});
afterAll(async () => {
  await s3?.close();
});
afterEach(() => s3.setFault(undefined));

function cfg(over: Partial<S3StorageConfig> = {}): S3StorageConfig {
  return {
    type: 's3', bucket: BUCKET, prefix: 'prod', endpoint: s3.endpoint, region: 'auto', forcePathStyle: true,
    accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', partSizeMb: 5, queueSize: 2,
    ...over,
  };
}

function raw(): S3Client {
  return new S3Client({ endpoint: s3.endpoint, region: 'auto', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
}

async function openUploads(prefix = ''): Promise<string[]> {
  const r = await raw().send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
  return (r.Uploads ?? []).map((u) => u.Key!);
}

async function rawKeys(prefix = ''): Promise<string[]> {
  const r = await raw().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key!).sort();
}

/** `total` bytes of random data in 256 KiB chunks, produced lazily (never held in memory at once). */
function source(total: number, opts: { failAfter?: number; seed?: Buffer } = {}): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    read() {
      if (opts.failAfter !== undefined && sent >= opts.failAfter) {
        this.destroy(new Error('pg_dump exited with code 1 halfway'));
        return;
      }
      if (sent >= total) { this.push(null); return; }
      const n = Math.min(256 * 1024, total - sent);
      const chunk = randomBytes(n);
      hash.update(chunk);
      sent += n;
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The most UploadPart requests the storage's client had in flight at once. */
function countPartsInFlight(storage: S3Storage): { most: number } {
  const out = { most: 0 };
  let now = 0;
  storage.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName !== 'UploadPartCommand') return next(args);
    out.most = Math.max(out.most, ++now);
    try { return await next(args); } finally { now--; }
  }, { step: 'initialize', name: 'countParts' });
  return out;
}

/** The names of the commands the storage's client sends, in order. */
function recordCommands(storage: S3Storage): string[] {
  const requests: string[] = [];
  storage.client.middlewareStack.add((next, context) => async (args) => {
    requests.push(context.commandName ?? '?');
    return next(args);
  }, { step: 'initialize', name: 'recordCommands' });
  return requests;
}

describe('S3Storage against s3rver', () => {
  it('puts an 11 MiB stream as a multipart upload under the prefix, gets, stats, lists and deletes it', async () => {
    expect(createStorage('r2', cfg()).description).toBe('s3://backups/prod');
    const storage = new S3Storage('r2', cfg());
    const src = source(11 * MiB);
    const requests = recordCommands(storage);

    const { size } = await storage.put('demo/backup_2026-01-04_03-00-00.sql.gz', src.stream);
    expect(size).toBe(11 * MiB);
    // 11 MiB in 5 MiB parts: a real multipart upload of 3 parts.
    expect(requests.filter((r) => r === 'UploadPartCommand')).toHaveLength(3);
    expect(requests).toContain('CreateMultipartUploadCommand');
    expect(requests).toContain('CompleteMultipartUploadCommand');

    expect(await rawKeys()).toEqual(['prod/demo/backup_2026-01-04_03-00-00.sql.gz']);
    const st = await storage.stat('demo/backup_2026-01-04_03-00-00.sql.gz');
    expect(st).toMatchObject({ key: 'demo/backup_2026-01-04_03-00-00.sql.gz', size: 11 * MiB });
    expect(sha(await buffer(await storage.get('demo/backup_2026-01-04_03-00-00.sql.gz')))).toBe(src.sha256());
    expect((await storage.list('demo/')).map((o) => o.key)).toEqual(['demo/backup_2026-01-04_03-00-00.sql.gz']);
    expect(await storage.list('other/')).toEqual([]);

    await storage.delete('demo/backup_2026-01-04_03-00-00.sql.gz');
    expect(await storage.stat('demo/backup_2026-01-04_03-00-00.sql.gz')).toBeUndefined();
    expect(await rawKeys()).toEqual([]);
    await storage.delete('demo/backup_2026-01-04_03-00-00.sql.gz'); // absent is fine
    expect(await openUploads()).toEqual([]);
  });

  it('odd-sized chunks (regrouped into parts) arrive byte for byte, empty chunks included', async () => {
    const storage = createStorage('r2', cfg());
    const chunks = [randomBytes(1), Buffer.alloc(0), ...Array.from({ length: 70 }, (_, i) => randomBytes(100_003 + i * 7)), randomBytes(MiB), randomBytes(MiB - 1), randomBytes(3)];
    const all = Buffer.concat(chunks);
    const r = await storage.put('demo/odd.sql.gz', Readable.from(chunks));
    expect(r.size).toBe(all.length);
    const back = await buffer(await storage.get('demo/odd.sql.gz'));
    expect(back.length).toBe(all.length);
    expect(sha(back)).toBe(sha(all));
    await storage.delete('demo/odd.sql.gz');
  });

  it('a small object, an empty one and one of exactly one part each go up in one PutObject', async () => {
    const storage = new S3Storage('r2', cfg());
    const requests = recordCommands(storage);
    const body = Buffer.from('{"client":"demo"}');
    await storage.put('demo/small.manifest.json', Readable.from([body]), { contentType: 'application/json' });
    expect(await buffer(await storage.get('demo/small.manifest.json'))).toEqual(body);
    expect((await storage.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'prod/demo/small.manifest.json' }))).ContentType).toBe('application/json');
    expect((await storage.put('demo/empty', Readable.from([]))).size).toBe(0);
    expect(await storage.stat('demo/empty')).toMatchObject({ size: 0 });
    const exact = randomBytes(5 * MiB);
    expect((await storage.put('demo/exact.sql.gz', Readable.from([exact.subarray(0, MiB), exact.subarray(MiB)]))).size).toBe(5 * MiB);
    expect(sha(await buffer(await storage.get('demo/exact.sql.gz')))).toBe(sha(exact));
    expect(requests.filter((r) => r.startsWith('PutObject'))).toHaveLength(3);
    expect(requests.filter((r) => /Multipart|UploadPart/.test(r))).toEqual([]);
    for (const k of ['demo/small.manifest.json', 'demo/empty', 'demo/exact.sql.gz']) await storage.delete(k);
  });

  it('parts are assembled in queueSize + 1 reused buffers: never more than queueSize in flight, every byte in place', async () => {
    for (const queueSize of [1, 2]) {
      const storage = new S3Storage('r2', cfg({ queueSize }));
      const parts = countPartsInFlight(storage);
      // 7 parts through queueSize + 1 buffers: each buffer is refilled while the others upload.
      const src = source(33 * MiB);
      expect((await storage.put('demo/reused.sql.gz', src.stream)).size).toBe(33 * MiB);
      expect(parts.most).toBeGreaterThanOrEqual(1);
      expect(parts.most).toBeLessThanOrEqual(queueSize);
      expect(sha(await buffer(await storage.get('demo/reused.sql.gz')))).toBe(src.sha256());
      await storage.delete('demo/reused.sql.gz');
    }
  });

  it('an object that needs more parts than S3 allows: refused with what to change, the upload aborted, nothing under the key', async () => {
    const storage = new S3Storage('r2', cfg(), { maxParts: 2 });
    const src = source(16 * MiB);
    const err = await storage.put('demo/huge.sql.gz', src.stream).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as Error).message).toBe('storage "r2" (s3://backups/prod): upload of demo/huge.sql.gz failed: the object is larger than 2 parts of 5 MiB (S3\'s limit on a multipart upload); raise partSizeMb for this destination');
    expect(await s3.storedKeys(BUCKET, 'prod/demo/huge')).toEqual([]);
    expect(await openUploads()).toEqual([]);
  });

  it('list follows continuation tokens', async () => {
    const storage = new S3Storage('r2', cfg({ prefix: 'paged' }), { listPageSize: 2 });
    for (let i = 0; i < 5; i++) await storage.put(`demo/f${i}`, Readable.from([Buffer.from(String(i))]));
    const keys = (await storage.list('demo/')).map((o) => o.key).sort();
    expect(keys).toEqual(['demo/f0', 'demo/f1', 'demo/f2', 'demo/f3', 'demo/f4']);
    for (const k of keys) await storage.delete(k);
  });

  it('a source stream that fails halfway: put rejects with that error, nothing under the key, no open multipart upload', async () => {
    const storage = createStorage('r2', cfg());
    const src = source(11 * MiB, { failAfter: 7 * MiB });
    await expect(storage.put('demo/broken.sql.gz', src.stream)).rejects.toThrow('pg_dump exited with code 1 halfway');
    expect(await s3.storedKeys(BUCKET, 'prod/demo/broken')).toEqual([]);
    expect(await rawKeys('prod/demo/')).toEqual([]);
    expect(await openUploads()).toEqual([]);
  });

  it('an abort signal halfway: put rejects, nothing under the key, no open multipart upload', async () => {
    const storage = createStorage('r2', cfg());
    const ac = new AbortController();
    let produced = 0;
    const stream = new Readable({
      read() {
        produced += MiB;
        if (produced === 8 * MiB) setImmediate(() => ac.abort(new Error('backup cancelled by U0OPER')));
        if (produced > 20 * MiB) { this.push(null); return; }
        this.push(randomBytes(MiB));
      },
    });
    await expect(storage.put('demo/aborted.sql.gz', stream, { signal: ac.signal })).rejects.toThrow('backup cancelled by U0OPER');
    expect(produced).toBeLessThan(20 * MiB);
    expect(await s3.storedKeys(BUCKET, 'prod/demo/aborted')).toEqual([]);
    expect(await openUploads()).toEqual([]);
  });

  it('aborted while CompleteMultipartUpload is on the server: the completed object is deleted, put rejects', async () => {
    const storage = createStorage('r2', cfg());
    const ac = new AbortController();
    s3.setFault(({ method, query }) => {
      if (method !== 'POST' || !query.has('uploadId')) return undefined;
      // The server completes the object but holds its answer; the abort lands meanwhile.
      setTimeout(() => ac.abort(new Error('backup cancelled by U0OPER')), 50);
      return { delayMs: 300 };
    });
    await expect(storage.put('demo/completing.sql.gz', source(11 * MiB).stream, { signal: ac.signal })).rejects.toThrow('backup cancelled by U0OPER');
    s3.setFault(undefined);
    expect(await s3.storedKeys(BUCKET, 'prod/demo/completing')).toEqual([]);
    expect(await openUploads()).toEqual([]);
  });

  it('a completed object that cannot be deleted after an abort: the error says it may still be there', async () => {
    const storage = createStorage('r2', cfg());
    const ac = new AbortController();
    s3.setFault(({ method, query }) => {
      if (method === 'POST' && query.has('uploadId')) {
        setTimeout(() => ac.abort(new Error('backup cancelled by U0OPER')), 50);
        return { delayMs: 300 };
      }
      if (method === 'DELETE' && !query.has('uploadId')) return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
      return undefined;
    });
    const err = await storage.put('demo/undeletable.sql.gz', source(11 * MiB).stream, { signal: ac.signal }).catch((e: unknown) => e);
    s3.setFault(undefined);
    expect((err as Error).message).toMatch(/^storage "r2" \(s3:\/\/backups\/prod\): upload of demo\/undeletable\.sql\.gz aborted; it had been stored before the failure and deleting it failed \(access denied while deleting demo\/undeletable\.sql\.gz \(AccessDenied\).*\), so it may still be under its final name$/);
    expect(await s3.storedKeys(BUCKET, 'prod/demo/undeletable')).toEqual(['prod/demo/undeletable.sql.gz']);
    await storage.delete('demo/undeletable.sql.gz');
  });

  it('credentials that may not list multipart uploads: a failed upload is still aborted, by its id', async () => {
    const storage = createStorage('r2', cfg());
    s3.setFault(({ method, query }) => {
      if (method === 'GET' && query.has('uploads')) return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
      if (method === 'PUT' && query.get('partNumber') === '2') return { status: 400, code: 'InvalidPart', message: 'bad part' };
      return undefined;
    });
    const err = await storage.put('demo/nolist.sql.gz', source(12 * MiB).stream).catch((e: unknown) => e);
    s3.setFault(undefined);
    expect((err as Error).message).toMatch(/upload of demo\/nolist\.sql\.gz failed: InvalidPart/);
    expect((err as Error).message).not.toContain('could not be aborted');
    expect(await openUploads()).toEqual([]);
    expect(await s3.storedKeys(BUCKET, 'prod/demo/nolist')).toEqual([]);
  });

  it('a server error on a part: put rejects naming the destination, the multipart upload is aborted', async () => {
    const storage = createStorage('r2', cfg());
    let seen = 0;
    s3.setFault(({ method, query }) => {
      if (method === 'PUT' && query.get('partNumber') === '2') {
        seen++;
        return { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' };
      }
      return undefined;
    });
    const src = source(16 * MiB);
    const err = await storage.put('demo/server-error.sql.gz', src.stream).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as Error).message).toMatch(/^storage "r2" \(s3:\/\/backups\/prod\): upload of demo\/server-error\.sql\.gz failed: InternalError/);
    expect(seen).toBe(3); // maxAttempts: retried, then given up
    s3.setFault(undefined);
    expect(await s3.storedKeys(BUCKET, 'prod/demo/server-error')).toEqual([]);
    expect(await openUploads()).toEqual([]);
  });

  it('when the first abort does not happen (aws-sdk-js-v3 #8299), the leftover upload is found and aborted', async () => {
    const storage = createStorage('r2', cfg());
    let aborts = 0;
    // The first AbortMultipartUpload "fails", as if the upload had thrown without aborting.
    s3.setFault(({ method, query }) => {
      if (method === 'DELETE' && query.has('uploadId') && aborts++ === 0) return { status: 400, code: 'InvalidRequest', message: 'simulated abort failure' };
      if (method === 'PUT' && query.get('partNumber') === '2') return { status: 400, code: 'InvalidPart', message: 'bad part' };
      return undefined;
    });
    await expect(storage.put('demo/leftover.sql.gz', source(12 * MiB).stream)).rejects.toThrow(/InvalidPart/);
    expect(aborts).toBeGreaterThanOrEqual(2);
    s3.setFault(undefined);
    expect(await openUploads()).toEqual([]);
  });

  it('cleanupPartials aborts open multipart uploads under the prefix, respecting olderThanMs', async () => {
    const c = raw();
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'prod/demo/crashed.sql.gz' }));
    await c.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'prod/demo/crashed.sql.gz', UploadId, PartNumber: 1, Body: randomBytes(1024) }));
    await c.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'prod/other/crashed.sql.gz' }));
    const storage = createStorage('r2', cfg());
    expect(await storage.cleanupPartials('demo/', { olderThanMs: 3_600_000 })).toBe(0);
    expect(await openUploads('prod/demo/')).toEqual(['prod/demo/crashed.sql.gz']);
    expect(await storage.cleanupPartials('demo/')).toBe(1);
    expect(await openUploads()).toEqual(['prod/other/crashed.sql.gz']);
    expect(await storage.cleanupPartials('')).toBe(1);
    expect(await openUploads()).toEqual([]);
  });

  it('a stopped storage fails within seconds with a message naming the destination and the endpoint', async () => {
    const gone = await startS3([BUCKET]);
    const storage = createStorage('r2', { ...cfg(), endpoint: gone.endpoint });
    await storage.put('demo/x', Readable.from([Buffer.from('x')]));
    await gone.close();
    const t0 = Date.now();
    const err = await storage.put('demo/y.sql.gz', source(6 * MiB).stream).catch((e: unknown) => e);
    const elapsed = Date.now() - t0;
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).kind).toBe('unreachable');
    expect((err as Error).message).toContain(`storage "r2" (s3://backups/prod): cannot reach the endpoint ${gone.endpoint} (ECONNREFUSED)`);
    expect((err as Error).message).toContain('check "endpoint" in the config and that the storage service is running');
    expect(elapsed).toBeLessThan(5_000);
    const t1 = Date.now();
    await expect(storage.list('demo/')).rejects.toThrow(/storage "r2" \(s3:\/\/backups\/prod\): cannot reach the endpoint .*while listing demo\//);
    await expect(storage.get('demo/x')).rejects.toThrow(/cannot reach the endpoint/);
    expect(Date.now() - t1).toBeLessThan(5_000);
  });

  it('an unknown access key: a message about the key, never the secret (s3rver checks the key id, not V4 signatures)', async () => {
    const storage = createStorage('r2', cfg({ accessKeyId: 'AKIAWRONGKEY', secretAccessKey: 'super-secret-value-42' }));
    for (const attempt of [
      () => storage.put('demo/z.sql.gz', Readable.from([Buffer.from('z')])),
      () => storage.list('demo/'),
      () => storage.get('demo/z.sql.gz'),
    ]) {
      const err = (await attempt().catch((e: unknown) => e)) as StorageError;
      expect(err).toBeInstanceOf(StorageError);
      expect(err.kind).toBe('credentials');
      expect(err.message).toMatch(/^storage "r2" \(s3:\/\/backups\/prod\): the access key is not known to http:\/\/127\.0\.0\.1:\d+ \(InvalidAccessKeyId\); check "accessKeyId"/);
      expect(err.message).not.toContain('super-secret-value-42');
      expect(err.message).not.toContain('AKIAWRONGKEY');
    }
  });

  it('SignatureDoesNotMatch (answered by the server) names the secret key setting', async () => {
    s3.setFault(() => ({ status: 403, code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided.' }));
    const storage = createStorage('r2', cfg({ secretAccessKey: 'wrong-secret-value' }));
    await expect(storage.list('')).rejects.toThrow('storage "r2" (s3://backups/prod): the secret key does not match the access key (SignatureDoesNotMatch); check "secretAccessKey"');
  });

  it('a missing bucket: "the bucket does not exist" for put, get and list', async () => {
    const storage = createStorage('r2', cfg({ bucket: 'no-such-bucket' }));
    const expected = /^storage "r2" \(s3:\/\/no-such-bucket\/prod\): the bucket "no-such-bucket" does not exist \(NoSuchBucket\)/;
    await expect(storage.put('demo/a.sql.gz', Readable.from([Buffer.from('a')]))).rejects.toThrow(expected);
    await expect(storage.put('demo/b.sql.gz', source(6 * MiB).stream)).rejects.toThrow(expected);
    await expect(storage.list('demo/')).rejects.toThrow(expected);
    await expect(storage.get('demo/a.sql.gz')).rejects.toThrow(expected);
  });

  it('get of a missing key says so', async () => {
    const storage = createStorage('r2', cfg());
    await expect(storage.get('demo/nothing.sql.gz')).rejects.toThrow('storage "r2" (s3://backups/prod): reading demo/nothing.sql.gz: no such object');
  });

  it.each(['WHEN_REQUIRED', 'WHEN_SUPPORTED'] as const)('checksum setting %s: round trip works, CRC32 headers only with WHEN_SUPPORTED', async (mode) => {
    const storage = new S3Storage('r2', cfg({ requestChecksumCalculation: mode, responseChecksumValidation: mode }));
    const headers: string[] = [];
    storage.client.middlewareStack.add((next) => async (args) => {
      const req = args.request as { headers?: Record<string, string> };
      headers.push(...Object.keys(req.headers ?? {}).filter((h) => h.toLowerCase().startsWith('x-amz-checksum') || h.toLowerCase() === 'x-amz-sdk-checksum-algorithm'));
      return next(args);
    }, { step: 'finalizeRequest', name: 'recordChecksumHeaders' });
    const src = source(6 * MiB);
    await storage.put(`demo/checksum-${mode}.sql.gz`, src.stream);
    expect(sha(await buffer(await storage.get(`demo/checksum-${mode}.sql.gz`)))).toBe(src.sha256());
    if (mode === 'WHEN_REQUIRED') expect(headers).toEqual([]);
    else expect(headers.some((h) => /x-amz-checksum-crc32/i.test(h))).toBe(true);
    await storage.delete(`demo/checksum-${mode}.sql.gz`);
  });

  it('a server that rejects the checksum header gets a hint about WHEN_REQUIRED', async () => {
    s3.setFault(({ method }) => (method === 'PUT' ? { status: 501, code: 'NotImplemented', message: "Header 'x-amz-checksum-crc32' with value 'abc' not implemented" } : undefined));
    const storage = createStorage('r2', cfg({ requestChecksumCalculation: 'WHEN_SUPPORTED' }));
    await expect(storage.put('demo/c.sql.gz', Readable.from([Buffer.from('c')]))).rejects.toThrow(/set requestChecksumCalculation and responseChecksumValidation to WHEN_REQUIRED/);
  });

  it('AccessDenied on delete of a locked object is an ObjectLockedError; a plain AccessDenied is not', async () => {
    const storage = createStorage('r2', cfg());
    await storage.put('demo/locked.sql.gz', Readable.from([Buffer.from('l')]));
    s3.setFault(({ method }) => (method === 'DELETE' ? { status: 403, code: 'AccessDenied', message: 'Access Denied because object protected by object lock.' } : undefined));
    const locked = await storage.delete('demo/locked.sql.gz').catch((e: unknown) => e);
    expect(locked).toBeInstanceOf(ObjectLockedError);
    expect((locked as ObjectLockedError).key).toBe('demo/locked.sql.gz');
    expect((locked as Error).message).toBe('storage "r2" (s3://backups/prod): demo/locked.sql.gz is protected by Object Lock and cannot be deleted yet');

    // Plain AccessDenied: the retention/legal-hold probes (NotImplemented on s3rver) do not confirm a lock.
    s3.setFault(({ method }) => (method === 'DELETE' ? { status: 403, code: 'AccessDenied', message: 'Access Denied' } : undefined));
    const denied = await storage.delete('demo/locked.sql.gz').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(StorageError);
    expect(denied).not.toBeInstanceOf(ObjectLockedError);
    expect((denied as Error).message).toMatch(/access denied deleting demo\/locked\.sql\.gz \(AccessDenied\); check that the credentials allow s3:DeleteObject/);
    s3.setFault(undefined);
    await storage.delete('demo/locked.sql.gz');
  });

  it('refuses keys that escape the prefix', async () => {
    const storage = createStorage('r2', cfg());
    await expect(storage.put('../etc/passwd', Readable.from([Buffer.from('x')]))).rejects.toThrow(/not a valid key/);
    await expect(storage.get('/abs')).rejects.toThrow(/not a valid key/);
  });
});

/**
 * s3rver implements neither Object Lock nor server-side encryption (it ignores the headers), so these tests
 * check what the SDK sends: the HTTP requests leaving the client (after signing), captured in middleware.
 */
describe('S3Storage: server-side encryption and Object Lock on every put', () => {
  interface Sent { command: string; headers: Record<string, string> }
  function capture(storage: S3Storage): Sent[] {
    const sent: Sent[] = [];
    storage.client.middlewareStack.add((next, context) => async (args) => {
      const req = args.request as { headers: Record<string, string> };
      sent.push({ command: context.commandName ?? '?', headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v])) });
      return next(args);
    }, { step: 'finalizeRequest', name: 'captureHeaders', priority: 'low' });
    return sent;
  }
  const creates = (sent: Sent[]) => sent.filter((s) => s.command === 'PutObjectCommand' || s.command === 'CreateMultipartUploadCommand');

  it('sse AES256: x-amz-server-side-encryption on PutObject and CreateMultipartUpload, not on parts', async () => {
    const storage = new S3Storage('r2', cfg({ sse: 'AES256' }));
    const sent = capture(storage);
    await storage.put('demo/small.sql.gz', Readable.from([randomBytes(1000)]));
    await storage.put('demo/big.sql.gz', source(11 * MiB).stream);
    expect(creates(sent).map((s) => s.command)).toEqual(['PutObjectCommand', 'CreateMultipartUploadCommand']);
    for (const s of creates(sent)) {
      expect(s.headers['x-amz-server-side-encryption']).toBe('AES256');
      expect(s.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBeUndefined();
    }
    expect(sent.filter((s) => s.command === 'UploadPartCommand').every((s) => s.headers['x-amz-server-side-encryption'] === undefined)).toBe(true);
    expect(await rawKeys('prod/demo/')).toEqual(['prod/demo/big.sql.gz', 'prod/demo/small.sql.gz']);
  });

  it('sse aws:kms with kmsKeyId: both headers on every creating request', async () => {
    const storage = new S3Storage('r2', cfg({ sse: 'aws:kms', kmsKeyId: 'alias/backup-bot' }));
    const sent = capture(storage);
    await storage.put('demo/kms1.sql.gz', Readable.from([randomBytes(10)]));
    await storage.put('demo/kms2.sql.gz', source(6 * MiB).stream);
    expect(creates(sent)).toHaveLength(2);
    for (const s of creates(sent)) {
      expect(s.headers['x-amz-server-side-encryption']).toBe('aws:kms');
      expect(s.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('alias/backup-bot');
    }
  });

  it('objectLock: mode and retain-until on PutObject and CreateMultipartUpload, and a checksum on every data request', async () => {
    const storage = new S3Storage('r2', cfg({ objectLock: { mode: 'COMPLIANCE', days: 30 } })); // WHEN_REQUIRED checksums
    const sent = capture(storage);
    const until = new Date('2031-01-02T03:04:05.000Z');
    const t0 = Date.now();
    await storage.put('demo/lock-default.sql.gz', Readable.from([randomBytes(100)]));
    await storage.put('demo/lock-given.sql.gz', source(11 * MiB).stream, { retainUntil: until });
    const [single, multi] = creates(sent);
    expect(single!.headers['x-amz-object-lock-mode']).toBe('COMPLIANCE');
    const d = Date.parse(single!.headers['x-amz-object-lock-retain-until-date']!);
    expect(d).toBeGreaterThanOrEqual(t0 + 30 * 86_400_000 - 1000);
    expect(d).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000 + 1000);
    expect(multi!.headers['x-amz-object-lock-mode']).toBe('COMPLIANCE');
    expect(Date.parse(multi!.headers['x-amz-object-lock-retain-until-date']!)).toBe(until.getTime());
    // S3 refuses Object Lock uploads without Content-MD5 or a checksum: one is sent even with WHEN_REQUIRED
    expect(single!.headers['x-amz-checksum-crc32']).toBeDefined();
    expect(multi!.headers['x-amz-checksum-algorithm']).toBe('CRC32');
    const parts = sent.filter((s) => s.command === 'UploadPartCommand');
    expect(parts).toHaveLength(3);
    for (const p of parts) expect(p.headers['x-amz-checksum-crc32']).toBeDefined();
    expect(await rawKeys('prod/demo/lock-')).toEqual(['prod/demo/lock-default.sql.gz', 'prod/demo/lock-given.sql.gz']);
  });

  it('without sse and objectLock nothing of the kind is sent', async () => {
    const storage = new S3Storage('r2', cfg());
    const sent = capture(storage);
    await storage.put('demo/none.sql.gz', Readable.from([randomBytes(10)]));
    expect(Object.keys(creates(sent)[0]!.headers).filter((h) => /server-side|object-lock|checksum/.test(h))).toEqual([]);
  });

  it('objectLock: delete reads the retention first and never sends DeleteObject for a locked object', async () => {
    const storage = new S3Storage('r2', cfg({ objectLock: { mode: 'GOVERNANCE', days: 1 } }));
    await storage.put('demo/held.sql.gz', Readable.from([Buffer.from('x')]));
    const commands = recordCommands(storage);
    const until = new Date(Date.now() + 5 * 86_400_000);
    // s3rver has no Object Lock: the answer of HeadObject carries the retention a locked bucket would report.
    storage.client.middlewareStack.add((next) => async (args) => {
      const r = await next(args);
      const h = (r.response as { headers: Record<string, string> }).headers;
      h['x-amz-object-lock-mode'] = 'GOVERNANCE';
      h['x-amz-object-lock-retain-until-date'] = until.toISOString();
      h['x-amz-version-id'] = 'v-123';
      return r;
    }, { step: 'deserialize', name: 'fakeLock', priority: 'low' }); // inside the deserializer: sees the raw answer
    const err = await storage.delete('demo/held.sql.gz').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectLockedError);
    expect((err as ObjectLockedError).retainUntil?.toISOString()).toBe(until.toISOString());
    expect((err as Error).message).toBe(`storage "r2" (s3://backups/prod): demo/held.sql.gz is locked until ${until.toISOString()} (Object Lock GOVERNANCE); not deleted`);
    expect(commands).toEqual(['HeadObjectCommand']);
    expect(await rawKeys('prod/demo/held')).toEqual(['prod/demo/held.sql.gz']);
  });

  it('objectLock: an expired lock is deleted by its version id (a versioned bucket would otherwise keep it behind a delete marker)', async () => {
    const storage = new S3Storage('r2', cfg({ objectLock: { mode: 'COMPLIANCE', days: 1 } }));
    await storage.put('demo/expired.sql.gz', Readable.from([Buffer.from('x')]));
    const sent: Array<{ command: string; query: Record<string, string> }> = [];
    storage.client.middlewareStack.add((next, context) => async (args) => {
      sent.push({ command: context.commandName ?? '?', query: { ...(args.request as { query: Record<string, string> }).query } });
      const r = await next(args);
      if (context.commandName === 'HeadObjectCommand') {
        const h = (r.response as { headers: Record<string, string> }).headers;
        h['x-amz-object-lock-mode'] = 'COMPLIANCE';
        h['x-amz-object-lock-retain-until-date'] = new Date(Date.now() - 1000).toISOString();
        h['x-amz-version-id'] = 'null';
      }
      return r;
    }, { step: 'deserialize', name: 'fakeExpired', priority: 'low' });
    await storage.delete('demo/expired.sql.gz');
    expect(sent.map((s) => s.command)).toEqual(['HeadObjectCommand', 'DeleteObjectCommand']);
    expect(sent[1]!.query.versionId).toBe('null');
    expect(await rawKeys('prod/demo/expired')).toEqual([]);
    await expect(storage.delete('demo/expired.sql.gz')).resolves.toBeUndefined(); // absent is fine
  });
});
