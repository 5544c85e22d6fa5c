import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
// s3rver has no types of its own.
// @ts-expect-error untyped module
import S3rver from 's3rver';

export interface TestS3 { endpoint: string; port: number; accessKeyId: string; secretAccessKey: string; close(): Promise<void>; createBucket(name: string): Promise<void> }

/** s3rver on 127.0.0.1 (a random port), with its own directory. */
export async function startS3(buckets: string[] = []): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
  const addr = (await server.run()) as AddressInfo;
  const endpoint = `http://127.0.0.1:${addr.port}`;
  return {
    endpoint,
    port: addr.port,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async createBucket(name: string) {
      const res = await fetch(`${endpoint}/${name}`, { method: 'PUT' });
      if (!res.ok && res.status !== 409) throw new Error(`create bucket ${name}: ${res.status}`);
    },
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
