import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
// s3rver has no types of its own.
// @ts-expect-error untyped module
import S3rver from 's3rver';

export interface TestS3 {
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  /** s3rver's data directory (objects, open multipart uploads). */
  directory: string;
  close(): Promise<void>;
  createBucket(name: string): Promise<void>;
  /**
   * Makes the server answer matching requests with an S3 error (a fault of the storage service,
   * e.g. a failing UploadPart); `undefined` removes it.
   */
  setFault(fault: S3Fault | undefined): void;
  /**
   * The object keys s3rver holds in `bucket` (under `prefix`), read from its directory rather than over HTTP:
   * what the storage service really stores, independent of the client under test.
   */
  storedKeys(bucket: string, prefix?: string): Promise<string[]>;
}

/**
 * Returns the error to answer with, `{ delayMs }` to handle the request normally but hold its answer
 * that long (the server has done the work, the client is still waiting), or undefined to let it through.
 */
type S3Fault = (req: { method: string; path: string; query: URLSearchParams }) =>
  { status: number; code: string; message?: string } | { delayMs: number } | undefined;

interface KoaCtx { method: string; url: string; headers: Record<string, string | undefined>; status: number; type: string; body: unknown }
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  middleware: Array<(ctx: KoaCtx, next: () => Promise<void>) => Promise<void>>;
  httpServer?: Server;
  store: { getResourcePath(bucket: string, key: string | undefined, resource: string): string };
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function xmlError(ctx: KoaCtx, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`;
}

/**
 * s3rver 3.7 answers ListMultipartUploads with NotImplemented and AbortMultipartUpload with
 * MethodNotAllowed. These two standard S3 operations are added here (path-style requests), reading
 * s3rver's own store of open uploads (`<bucket>/._S3rver_uploads/<uploadId>/{key,metadata,<part>}`),
 * so tests can check that a failed upload leaves nothing open.
 */
function multipartExtensions(server: S3rverInstance, directory: string, fault: () => S3Fault | undefined) {
  return async (ctx: KoaCtx, next: () => Promise<void>): Promise<void> => {
    const url = new URL(ctx.url, 'http://s3rver.local');
    const injected = fault()?.({ method: ctx.method, path: decodeURIComponent(url.pathname), query: url.searchParams });
    if (injected && 'delayMs' in injected) {
      await next();
      await new Promise((r) => setTimeout(r, injected.delayMs));
      return;
    }
    if (injected) return xmlError(ctx, injected.status, injected.code, injected.message ?? injected.code);
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const isList = ctx.method === 'GET' && parts.length === 1 && url.searchParams.has('uploads');
    const isAbort = ctx.method === 'DELETE' && parts.length >= 2 && url.searchParams.has('uploadId');
    if (!isList && !isAbort) return next();
    // The same access-key check s3rver makes (it does not verify V4 signatures).
    const cred = /Credential=([^/,\s]+)/.exec(ctx.headers.authorization ?? '')?.[1];
    if (cred && cred !== 'S3RVER') return xmlError(ctx, 403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    const bucket = parts[0]!;
    if (!(await stat(join(directory, bucket)).catch(() => undefined))) return xmlError(ctx, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    const uploadsDir = server.store.getResourcePath(bucket, undefined, 'uploads');
    if (isAbort) {
      const id = url.searchParams.get('uploadId') ?? '';
      const dir = join(uploadsDir, id);
      if (!/^[0-9a-f]+$/.test(id) || !(await stat(join(dir, 'key')).catch(() => undefined))) return xmlError(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
      await rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = '';
      return;
    }
    const prefix = url.searchParams.get('prefix') ?? '';
    const uploads: { key: string; id: string; initiated: Date }[] = [];
    for (const id of await readdir(uploadsDir).catch(() => [] as string[])) {
      const key = await readFile(join(uploadsDir, id, 'key'), 'utf8').catch(() => undefined);
      if (key === undefined || !key.startsWith(prefix)) continue; // a part that raced in after an abort has no `key`
      const s = await stat(join(uploadsDir, id, 'key'));
      uploads.push({ key, id, initiated: s.mtime });
    }
    uploads.sort((a, b) => a.key.localeCompare(b.key) || a.id.localeCompare(b.id));
    ctx.status = 200;
    ctx.type = 'application/xml';
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
      `<Bucket>${xmlEscape(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><Prefix>${xmlEscape(prefix)}</Prefix>` +
      `<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>` +
      uploads.map((u) => `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.id}</UploadId><Initiated>${u.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`).join('') +
      `</ListMultipartUploadsResult>`;
  };
}

/**
 * s3rver 3.7 encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 17+) no longer
 * offers: any truncated V2 listing fails with InternalError. This runs a V2 listing as s3rver's V1 listing
 * (marker = the last key, the same thing s3rver's token holds) and hands out the key as the token.
 * It sits right before s3rver's router, so the response body is still an object here.
 */
function listV2Pagination() {
  return async (ctx: KoaCtx & { query: Record<string, string>; path: string }, next: () => Promise<void>): Promise<void> => {
    const isV2 = ctx.method === 'GET' && ctx.query['list-type'] === '2' && /^\/[^/]+\/?$/.test(ctx.path);
    if (!isV2) return next();
    const { 'list-type': _v, 'continuation-token': token, 'start-after': startAfter, ...rest } = ctx.query;
    const marker = token ? Buffer.from(token, 'base64url').toString('utf8') : startAfter;
    ctx.query = { ...rest, ...(marker ? { marker } : {}) };
    await next();
    const body = ctx.body as { ListBucketResult?: Record<string, unknown> } | undefined;
    const r = body?.ListBucketResult;
    if (!r) return;
    const contents = (r.Contents as { Key: string }[] | undefined) ?? [];
    delete r.Marker;
    delete r.NextMarker;
    r.KeyCount = contents.length;
    if (token) r.ContinuationToken = token;
    if (r.IsTruncated && contents.length) r.NextContinuationToken = Buffer.from(contents[contents.length - 1]!.Key, 'utf8').toString('base64url');
  };
}

/** s3rver stores an object `a/b` as `<bucket>/a/b._S3rver_object` (beside its metadata files). */
const OBJECT_SUFFIX = '._S3rver_object';

/** s3rver on 127.0.0.1 (a random port), with its own directory. */
export async function startS3(buckets: string[] = []): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) }) as S3rverInstance;
  let fault: S3Fault | undefined;
  server.middleware.unshift(multipartExtensions(server, directory, () => fault));
  server.middleware.splice(server.middleware.length - 1, 0, listV2Pagination() as never);
  const addr = await server.run();
  const endpoint = `http://127.0.0.1:${addr.port}`;
  let closed = false;
  return {
    endpoint,
    port: addr.port,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    directory,
    setFault(f) { fault = f; },
    async storedKeys(bucket: string, prefix = '') {
      const root = join(directory, bucket);
      const keys: string[] = [];
      const walk = async (dir: string, rel: string): Promise<void> => {
        for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
          if (e.name.startsWith('._S3rver')) continue; // open multipart uploads, not objects
          if (e.isDirectory()) await walk(join(dir, e.name), `${rel}${e.name}/`);
          else if (e.name.endsWith(OBJECT_SUFFIX)) keys.push(`${rel}${e.name.slice(0, -OBJECT_SUFFIX.length)}`);
        }
      };
      await walk(root, '');
      return keys.filter((k) => k.startsWith(prefix)).sort();
    },
    async createBucket(name: string) {
      const res = await fetch(`${endpoint}/${name}`, { method: 'PUT' });
      if (!res.ok && res.status !== 409) throw new Error(`create bucket ${name}: ${res.status}`);
    },
    async close() {
      if (closed) return;
      closed = true;
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
