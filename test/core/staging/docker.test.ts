/**
 * Authenticated remote Docker (issue 16, item 2).
 *
 * The rules of dockerConnection (nothing is contacted: a refusal happens before any connection), then a
 * second, TLS-only dockerd on 127.0.0.1 with client-certificate verification (test/helpers/tls-dockerd.ts):
 * a restore test runs through it with the client certificate — the core staging API (create, restore,
 * verify, destroy) and runRestoreTest configured with docker.host + docker.tls — and it is refused
 * without a client certificate, with one from another CA, and when the server certificate does not verify.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import Docker from 'dockerode';
import { dockerConnection, dockerFromConfig, pingDocker, sshFingerprint } from '../../../src/core/staging/docker.js';
import { createStaging, destroyStaging, waitReady, type Staging } from '../../../src/core/staging/container.js';
import { ensureImage } from '../../../src/core/staging/image.js';
import { restoreIntoStaging } from '../../../src/core/staging/restore.js';
import { verifyStaging } from '../../../src/core/verify/staging.js';
import { runRestoreTest } from '../../../src/operations/restore-test.js';
import { fillSampleDatabase } from '../../../src/core/demo-database.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.js';
import { testConfig } from '../../helpers/config.js';
import { testContext } from '../../helpers/context.js';
import { copyImage, startTlsDockerd, type TlsDockerd } from '../../helpers/tls-dockerd.js';
import { backupOf, pgDump, sha256 } from '../../operations/restore-test-fixtures.js';

describe('dockerConnection: what is accepted and what is refused (nothing contacted)', () => {
  const refusal = /a remote Docker engine without TLS client authentication is refused: .*Set docker\.tls: \{ ca, cert, key \} \(or DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH holding ca\.pem, cert\.pem and key\.pem\) for TLS with a client certificate, or docker\.allowInsecure: true to accept it anyway/;

  it('the local socket; a plain tcp:// engine on loopback', () => {
    expect(dockerConnection({}, {})).toMatchObject({ transport: 'socket', options: { socketPath: '/var/run/docker.sock', host: undefined } });
    expect(dockerConnection({ host: 'unix:///run/other.sock' }, { DOCKER_HOST: 'tcp://10.0.0.9:2375' })).toMatchObject({ transport: 'socket', options: { socketPath: '/run/other.sock', host: undefined } });
    expect(dockerConnection({ host: 'tcp://127.0.0.1:2375' }, {})).toMatchObject({ transport: 'http', clientCertificate: false, options: { protocol: 'http', host: '127.0.0.1', port: 2375 } });
    expect(dockerConnection({ host: 'tcp://[::1]:2375' }, {})).toMatchObject({ transport: 'http', options: { host: '::1' } });
  });

  it('plain tcp:// (and https:// without a client certificate) to another host is refused, naming docker.tls and docker.allowInsecure', () => {
    expect(() => dockerConnection({ host: 'tcp://10.1.2.3:2375' }, {})).toThrow(refusal);
    expect(() => dockerConnection({ host: 'tcp://10.1.2.3:2375' }, {})).toThrow(/^docker\.host tcp:\/\/10\.1\.2\.3:2375: /);
    expect(() => dockerConnection({ host: 'https://staging.example.com:2376' }, {})).toThrow(refusal);
    expect(() => dockerConnection({}, { DOCKER_HOST: 'tcp://10.1.2.3:2375' })).toThrow(/^DOCKER_HOST tcp:\/\/10\.1\.2\.3:2375: a remote Docker engine/);
    // DOCKER_TLS_VERIFY does not apply to an explicit http:// address.
    expect(() => dockerConnection({ host: 'http://10.1.2.3:2375' }, { DOCKER_TLS_VERIFY: '1' })).toThrow(refusal);
    expect(dockerConnection({ host: 'tcp://10.1.2.3:2375', allowInsecure: true }, {})).toMatchObject({ transport: 'http', options: { host: '10.1.2.3', port: 2375 } });
  });

  it('TLS material that cannot be read is an error naming the key or the variable', () => {
    expect(() => dockerConnection({ host: 'tcp://10.1.2.3:2376', tls: { ca: '/nonexistent/ca.pem', cert: '/x', key: '/y' } }, {}))
      .toThrow(/^cannot read docker\.tls\.ca \(\/nonexistent\/ca\.pem\): .*ENOENT/);
    expect(() => dockerConnection({ host: 'tcp://10.1.2.3:2376' }, { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/nonexistent' }))
      .toThrow(/^cannot read ca\.pem of DOCKER_CERT_PATH \(DOCKER_TLS_VERIFY is set\) \(\/nonexistent\/ca\.pem\)/);
  });

  it('ssh://: the host key must be pinned (docker.ssh.hostKey) unless allowInsecure; the pin is checked by the SSH client', () => {
    expect(() => dockerConnection({ host: 'ssh://deploy@staging.example.com' }, {})).toThrow(/the SSH host key of the Docker engine is not pinned.*Set docker\.ssh\.hostKey .* or docker\.allowInsecure: true/);
    const key = Buffer.from('an ssh host key blob');
    const c = dockerConnection({ host: 'ssh://deploy@staging.example.com:2222', ssh: { hostKey: sshFingerprint(key) } }, { SSH_AUTH_SOCK: '/run/agent.sock' });
    expect(c).toMatchObject({ transport: 'ssh', options: { protocol: 'ssh', host: 'staging.example.com', port: 2222, username: 'deploy' } });
    const verify = (c.options as { sshOptions: { hostVerifier: (k: Buffer) => boolean; agent?: string } }).sshOptions;
    expect(verify.agent).toBe('/run/agent.sock');
    expect(verify.hostVerifier(key)).toBe(true);
    expect(verify.hostVerifier(Buffer.from('another key'))).toBe(false);
  });

  it('unknown schemes and garbage are clear errors', () => {
    expect(() => dockerConnection({ host: 'ftp://x' }, {})).toThrow('docker.host ftp://x: unsupported scheme ftp (accepted: unix, tcp, https, ssh)');
    expect(() => dockerConnection({ host: 'tcp://[bad' }, {})).toThrow(/is not a Docker address/);
  });
});

describe('a TLS-only second dockerd on 127.0.0.1 with client-certificate verification', () => {
  const main = new Docker();
  let d: TlsDockerd;
  let src: TestDatabase;
  let loadMs = 0;

  // The host's interfaces before: the main engine's docker0 must survive the second engine.
  const links = () => spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(': ')[1]?.split('@')[0] ?? '').filter((l) => l !== '');
  let linksBefore: string[] = [];

  beforeAll(async () => {
    linksBefore = links();
    const t0 = performance.now();
    d = await startTlsDockerd();
    const t1 = performance.now();
    await copyImage(main, d.local, 'postgres:15');
    loadMs = performance.now() - t1;
    console.log(`[tls-dockerd] started in ${(t1 - t0).toFixed(0)} ms, postgres:15 loaded in ${loadMs.toFixed(0)} ms`);
    src = await createTestDatabase('bbt_tls_src');
    await fillSampleDatabase(src.url);
  }, 300_000);

  afterAll(async () => {
    await src?.drop();
    await d?.stop();
    if (d) {
      // Stopped, and its directories (data root, exec root, socket, certificates) are gone.
      const { existsSync } = await import('node:fs');
      expect(existsSync(d.dir)).toBe(false);
      // Its bridge (bbt<port>) is gone, and every interface of the host (docker0 of the main engine) is still there.
      // Another test file's engine (restore-test-engines) may start or stop its own bbt bridge meanwhile.
      expect(links()).not.toContain(`bbt${d.port}`);
      expect(links()).toEqual(expect.arrayContaining(linksBefore.filter((l) => !l.startsWith('veth') && !l.startsWith('bbt'))));
    }
  }, 120_000);

  it('with the client certificate (docker.tls): create, restore over the hijacked exec stream, verify and destroy', async () => {
    const config = { docker: { host: d.host, tls: { ca: d.ca, cert: d.cert, key: d.key } } };
    expect(dockerConnection(config.docker, {})).toMatchObject({ transport: 'https', clientCertificate: true, tlsFrom: 'docker.tls', options: { host: '127.0.0.1', port: d.port } });
    const docker = dockerFromConfig(config, {});
    await pingDocker(docker, d.host);
    await expect(ensureImage(docker, 'postgres:15')).resolves.toMatchObject({ major: 15 });
    let s: Staging | undefined;
    try {
      s = await createStaging(docker, { engine: 'postgres', image: 'postgres:15', runId: 'tls1', client: 'tlstest', memoryMb: 512, cpus: 1 });
      await waitReady(s, { timeoutMs: 180_000 });
      const dump = gzipSync(await pgDump(src.url));
      const r = await restoreIntoStaging(s, { open: async () => Readable.from([dump]), what: 'tls.sql.gz', format: 'plain', gzip: true, expected: { sha256: sha256(dump), sizeBytes: dump.length } });
      expect(r.bytes).toBe(dump.length);
      const v = await verifyStaging(s, { minTables: 10, tables: ['lotes', 'movimientos'], checks: [], runId: 'tls1', client: 'tlstest' });
      expect(v.counts).toEqual({ lotes: { staging: 200, production: null }, movimientos: { staging: 1000, production: null } });
    } finally {
      if (s) expect(await destroyStaging(s)).toEqual([]);
    }
    expect(await d.local.listContainers({ all: true })).toEqual([]);
  }, 300_000);

  it('DOCKER_HOST + DOCKER_TLS_VERIFY + DOCKER_CERT_PATH (read as the docker CLI reads them): runRestoreTest passes through it', async () => {
    const env = { DOCKER_HOST: d.host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: d.certDir };
    expect(dockerConnection({}, env)).toMatchObject({ transport: 'https', clientCertificate: true, tlsFrom: `DOCKER_CERT_PATH=${d.certDir}` });
    await expect(dockerFromConfig({ docker: {} }, env).version()).resolves.toMatchObject({ ApiVersion: expect.any(String) });

    // The operation, configured through docker.host + docker.tls (the environment of this process is not touched).
    const state = await createTestDatabase('bbt_tls_state');
    const dir = await mkdtemp(join(tmpdir(), 'bbt-tls-'));
    const ctx = await testContext(testConfig({
      stateUrl: state.url, demoUrl: src.url, storageDir: dir,
      raw: { docker: { host: d.host, tls: { ca: d.ca, cert: d.cert, key: d.key } } },
      client: { verify: { minTables: 10, tables: ['lotes', 'movimientos'], checks: [] }, restoreTest: { timeout: '4m', memoryMb: 512, cpus: 1 } },
    }));
    try {
      const b = await backupOf(ctx, 'demo', src.url, ['lotes', 'movimientos']);
      const out = await runRestoreTest(ctx, { client: 'demo', backupKey: b.key, actor: 'U0OPER', trigger: 'cli', notify: false });
      expect(out.error).toBeUndefined();
      expect(out.ok).toBe(true);
      expect(out.checks.find((c) => c.name === 'rows movimientos')).toMatchObject({ ok: true, detail: '1000 rows = production' });
      expect(await d.local.listContainers({ all: true })).toEqual([]);
    } finally {
      await ctx.close();
      await state.drop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('refused without a client certificate, with a certificate of another CA, and when the server certificate does not verify', async () => {
    const { readFileSync } = await import('node:fs');
    const ca = readFileSync(d.ca);
    // TLS that verifies the server but presents no client certificate: the engine ends the handshake.
    const noCert = new Docker({ protocol: 'https', host: '127.0.0.1', port: d.port, ca });
    await expect(pingDocker(noCert, d.host)).rejects.toThrow(/cannot reach the Docker daemon at tcp:\/\/127\.0\.0\.1:\d+: .*(certificate|handshake|alert|socket hang up|ECONNRESET)/i);
    // A client certificate from another CA.
    const rogue = dockerFromConfig({ docker: { host: d.host, tls: { ca: d.ca, cert: d.rogue.cert, key: d.rogue.key } } }, {});
    await expect(pingDocker(rogue, d.host)).rejects.toThrow(/cannot reach the Docker daemon at tcp:\/\/127\.0\.0\.1:\d+: .*(certificate|alert|socket hang up|ECONNRESET)/i);
    // Our CA does not vouch for the server: refused by this side before anything is sent.
    const wrongCa = dockerFromConfig({ docker: { host: d.host, tls: { ca: d.rogue.ca, cert: d.cert, key: d.key } } }, {});
    await expect(pingDocker(wrongCa, d.host)).rejects.toThrow(/cannot reach the Docker daemon at tcp:\/\/127\.0\.0\.1:\d+: .*(self[- ]signed|unable to verify|unable to get local issuer)/i);
    // Plain HTTP to the TLS port gets nothing either.
    const plain = dockerFromConfig({ docker: { host: d.host } }, {});
    await expect(pingDocker(plain, d.host)).rejects.toThrow(/cannot reach the Docker daemon/);
    // The engine saw the failed handshakes (and no request got through).
    expect(d.log()).toMatch(/tls|certificate|handshake/i);
  }, 120_000);
});
