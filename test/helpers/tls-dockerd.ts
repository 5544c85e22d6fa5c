/**
 * A second Docker engine for tests of the remote (TLS) staging engine: `dockerd` on 127.0.0.1 with
 * `--tlsverify` (client certificates required), its own data root, exec root, pid file, unix socket and
 * config file, its own default bridge (an interface created here; never `--bridge none`: a dockerd
 * started with it deletes the host's `docker0`, the main engine's bridge) and no iptables/ip-forward
 * changes, so it does not disturb the main engine. Certificates are made here with openssl: a CA, a server certificate for IP 127.0.0.1, a client
 * certificate, and a second "rogue" CA with its own client certificate.
 *
 * `stop()` always stops it (SIGTERM, then SIGKILL), kills a leftover containerd, unmounts whatever is
 * still mounted under its directory and removes the directory; it also runs at process exit.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Docker from 'dockerode';

export interface TlsDockerd {
  dir: string;
  /** `tcp://127.0.0.1:<port>` (TLS only). */
  host: string;
  port: number;
  /** Holds ca.pem, cert.pem, key.pem as the docker CLI expects them in DOCKER_CERT_PATH. */
  certDir: string;
  ca: string; cert: string; key: string;
  /** A client certificate and key issued by another CA, and that CA. */
  rogue: { ca: string; cert: string; key: string };
  /** The engine through its own unix socket (for loading images and checking leftovers). */
  local: Docker;
  log(): string;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr?.toString() ?? r.error?.message}`);
}

/** A CA (`<name>-ca.pem`, `<name>-ca-key.pem`) and leaf certificates it signs. */
function makeCa(dir: string, name: string): void {
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}-ca-key.pem`, '-out', `${name}-ca.pem`, '-days', '2', '-subj', `/CN=backup-bot test ${name} CA`], dir);
}
function makeLeaf(dir: string, ca: string, out: string, cn: string, ext: string): void {
  writeFileSync(join(dir, `${out}.ext`), ext);
  run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${out}-key.pem`, '-out', `${out}.csr`, '-subj', `/CN=${cn}`], dir);
  run('openssl', ['x509', '-req', '-in', `${out}.csr`, '-CA', `${ca}-ca.pem`, '-CAkey', `${ca}-ca-key.pem`, '-CAcreateserial', '-out', `${out}-cert.pem`, '-days', '2', '-extfile', `${out}.ext`], dir);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try { process.kill(pid, 0); return true; } catch { return false; }
}

function pidFrom(file: string): number | undefined {
  try { return Number(readFileSync(file, 'utf8').trim()) || undefined; } catch { return undefined; }
}

/** Unmounts everything under `dir` (deepest first) and removes it. Synchronous: also used at exit. */
function removeDir(dir: string): void {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m === dir || m.startsWith(`${dir}/`)).sort().reverse();
  for (const m of mounts) spawnSync('umount', ['-l', m.replace(/\\040/g, ' ')]);
  rmSync(dir, { recursive: true, force: true });
}

export async function startTlsDockerd(): Promise<TlsDockerd> {
  // Short path: the unix socket path must stay under 108 bytes.
  const dir = await mkdtemp('/tmp/bbt-dockerd-');
  let child: ChildProcess | undefined;
  let stopped = false;
  let bridge: string | undefined;
  const hardStop = () => {
    if (stopped) return;
    stopped = true;
    const containerd = pidFrom(join(dir, 'exec', 'containerd', 'containerd.pid'));
    if (alive(child?.pid)) try { process.kill(child!.pid!, 'SIGKILL'); } catch { /* gone */ }
    if (alive(containerd)) try { process.kill(containerd!, 'SIGKILL'); } catch { /* gone */ }
    if (bridge) spawnSync('ip', ['link', 'del', bridge]);
    try { removeDir(dir); } catch { /* best effort at exit */ }
  };
  process.once('exit', hardStop);
  try {
    makeCa(dir, 'test');
    makeLeaf(dir, 'test', 'server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    makeLeaf(dir, 'test', 'client', 'backup-bot', 'extendedKeyUsage=clientAuth\n');
    makeCa(dir, 'rogue');
    makeLeaf(dir, 'rogue', 'rogue-client', 'backup-bot', 'extendedKeyUsage=clientAuth\n');
    // DOCKER_CERT_PATH layout (ca.pem, cert.pem, key.pem).
    const certDir = join(dir, 'client');
    mkdirSync(certDir, { mode: 0o700 });
    writeFileSync(join(certDir, 'ca.pem'), readFileSync(join(dir, 'test-ca.pem')));
    writeFileSync(join(certDir, 'cert.pem'), readFileSync(join(dir, 'client-cert.pem')));
    writeFileSync(join(certDir, 'key.pem'), readFileSync(join(dir, 'client-key.pem')), { mode: 0o600 });
    writeFileSync(join(dir, 'daemon.json'), '{}\n');

    const port = await freePort();
    // The engine's default bridge: an interface of its own (interface names: at most 15 characters), on a
    // subnet no route of this host uses.
    const name = `bbt${port}`;
    const used = spawnSync('ip', ['-4', 'route'], { encoding: 'utf8' }).stdout ?? '';
    const third = Array.from({ length: 250 }, (_, i) => (port + i) % 250 + 1).find((n) => !used.includes(`10.213.${n}.`));
    if (third === undefined) throw new Error('no free 10.213.x.0/24 subnet for the test dockerd bridge');
    run('ip', ['link', 'add', 'name', name, 'type', 'bridge'], dir);
    bridge = name;
    run('ip', ['addr', 'add', `10.213.${third}.1/24`, 'dev', name], dir);
    run('ip', ['link', 'set', name, 'up'], dir);
    const socket = join(dir, 'docker.sock');
    const logFd = openSync(join(dir, 'dockerd.log'), 'a');
    child = spawn('dockerd', [
      '--config-file', join(dir, 'daemon.json'),
      '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'),
      '-H', `unix://${socket}`, '-H', `tcp://127.0.0.1:${port}`,
      '--tlsverify', '--tlscacert', join(dir, 'test-ca.pem'), '--tlscert', join(dir, 'server-cert.pem'), '--tlskey', join(dir, 'server-key.pem'),
      '--bridge', name, '--iptables=false', '--ip-forward=false', '--ip-masq=false', '--userland-proxy=false',
      '--exec-opt', 'native.cgroupdriver=cgroupfs', '--log-level', 'warn',
    ], { stdio: ['ignore', logFd, logFd], env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } });
    closeSync(logFd);
    const local = new Docker({ socketPath: socket });
    const readLog = () => { try { return readFileSync(join(dir, 'dockerd.log'), 'utf8'); } catch { return ''; } };
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`the test dockerd exited (${child.exitCode}): ${readLog().slice(-2000)}`);
      if (existsSync(socket) && await local.ping().then(() => true, () => false)) break;
      if (i > 600) throw new Error(`the test dockerd did not answer within 60 s: ${readLog().slice(-2000)}`);
      await sleep(100);
    }
    const c = child;
    const stop = async () => {
      if (stopped) return;
      if (alive(c.pid)) {
        c.kill('SIGTERM');
        for (let i = 0; i < 300 && c.exitCode === null && c.signalCode === null; i++) await sleep(100);
      }
      hardStop();
      process.removeListener('exit', hardStop);
    };
    return {
      dir, host: `tcp://127.0.0.1:${port}`, port, certDir,
      ca: join(dir, 'test-ca.pem'), cert: join(dir, 'client-cert.pem'), key: join(dir, 'client-key.pem'),
      rogue: { ca: join(dir, 'rogue-ca.pem'), cert: join(dir, 'rogue-client-cert.pem'), key: join(dir, 'rogue-client-key.pem') },
      local, log: readLog, stop,
    };
  } catch (err) {
    if (child && alive(child.pid)) {
      child.kill('SIGTERM');
      for (let i = 0; i < 100 && child.exitCode === null && child.signalCode === null; i++) await sleep(100);
    }
    hardStop();
    process.removeListener('exit', hardStop);
    throw err;
  }
}

/** Copies an image from one engine to another (`docker save | docker load`, streamed). */
export async function copyImage(from: Docker, to: Docker, image: string): Promise<void> {
  const tar = (await from.getImage(image).get()) as unknown as NodeJS.ReadableStream;
  const res = (await to.loadImage(tar, { quiet: true })) as unknown as NodeJS.ReadableStream;
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    res.on('data', (c: Buffer) => { text += c.toString(); });
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
  if (/"error"/.test(out)) throw new Error(`docker load of ${image} failed: ${out.slice(0, 500)}`);
}
