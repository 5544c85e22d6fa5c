import { PassThrough, Writable, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { errorMessage } from '../errors.js';

export interface ExecResult {
  /** null when the daemon could not tell (the container died or was removed under the exec). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Bytes written to the program's stdin. */
  stdinBytes: number;
}

export interface ExecOptions {
  /** Streamed into the program's stdin (hijacked connection, half-closed at the end). */
  stdin?: Readable;
  /** `NAME=value` pairs: secrets travel here, never in Cmd. */
  env?: string[];
  user?: string;
  workingDir?: string;
  signal?: AbortSignal;
  /** Keep at most this many characters of stdout (the head) and of stderr (the tail). Default 64 KiB. */
  maxOutput?: number;
  /** Called with every stderr chunk (progress, error counting). */
  onStderr?: (chunk: Buffer) => void;
}

/** Thrown when the stdin source fails (gunzip error, download error): the exec is cut off. */
export class ExecInputError extends Error {
  constructor(override readonly cause: unknown) {
    super(messageOf(cause));
    this.name = 'ExecInputError';
  }
}

/** The message of anything thrown (also errors from another realm, e.g. zlib under a test VM). */
export function messageOf(e: unknown): string {
  const m = (e as { message?: unknown } | null)?.message;
  return typeof m === 'string' && m ? m : errorMessage(e);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Collects up to `max` characters: the head (stdout) or the tail (stderr). */
function collector(max: number, keep: 'head' | 'tail', onChunk?: (c: Buffer) => void): { stream: Writable; text(): string } {
  let buf = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      onChunk?.(chunk);
      if (keep === 'head') {
        if (buf.length < max) buf += chunk.toString('utf8').slice(0, max - buf.length);
      } else {
        buf += chunk.toString('utf8');
        if (buf.length > max * 2) buf = buf.slice(-max);
      }
      cb();
    },
  });
  return { stream, text: () => (keep === 'tail' && buf.length > max ? buf.slice(-max) : buf) };
}

/**
 * Runs a program inside a container (docker exec) and returns its exit code and output.
 *
 * Without a TTY the output is multiplexed (8-byte frame headers), so it is split with
 * `modem.demuxStream` and never decoded as text on the raw stream. The exit code is read with
 * `exec.inspect()` after the stream has ended; callers must treat a non-zero (or unknown) code as a
 * failure whatever the output says.
 */
export async function execIn(container: Docker.Container, cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const max = opts.maxOutput ?? 64 * 1024;
  // Listen to the input from the start: it can fail (a gzip error on the first block) while the exec
  // is being created, and an error emitted before anyone listens would leave the program waiting forever.
  let inputError: unknown = opts.stdin?.errored ?? undefined;
  let cutOff = () => {};
  opts.stdin?.on('error', (e) => {
    inputError ??= e;
    cutOff();
  });
  const exec = await container.exec({
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: Boolean(opts.stdin),
    Tty: false,
    Env: opts.env,
    User: opts.user,
    WorkingDir: opts.workingDir,
  });
  const stream = (await exec.start({ hijack: true, stdin: Boolean(opts.stdin) })) as unknown as NodeJS.ReadWriteStream & { destroy(err?: Error): void };
  const out = collector(max, 'head');
  const err = collector(max, 'tail', opts.onStderr);
  container.modem.demuxStream(stream, out.stream, err.stream);

  let aborted = false;
  let stdinBytes = 0;
  const onAbort = () => {
    aborted = true;
    opts.stdin?.destroy();
    stream.destroy();
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const ended = new Promise<void>((resolve) => {
    let done = false;
    const finish = () => { if (!done) { done = true; resolve(); } };
    stream.on('end', finish);
    stream.on('close', finish);
    // EPIPE/ECONNRESET when the program (or its container) dies while we still write: the exit code tells.
    stream.on('error', finish);
  });

  if (opts.stdin) {
    const src = opts.stdin;
    const counter = new PassThrough();
    counter.on('data', (c: Buffer) => { stdinBytes += c.length; });
    // Cut the program off: it must not see a clean end of input after a broken source.
    cutOff = () => stream.destroy();
    if (inputError !== undefined || (src.destroyed && !src.readableEnded)) {
      inputError ??= new Error('the input stream was closed before it ended');
      cutOff();
    } else {
      src.pipe(counter).pipe(stream as unknown as NodeJS.WritableStream);
    }
    void ended.then(() => { src.unpipe(counter); counter.unpipe(); if (!src.destroyed && !src.readableEnded) src.destroy(); });
  }

  await ended;
  opts.signal?.removeEventListener('abort', onAbort);
  if (inputError !== undefined) throw new ExecInputError(inputError);
  if (aborted) throw opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('aborted');

  // The stream can end a moment before the daemon records the exit code.
  let exitCode: number | null = null;
  try {
    let info = await exec.inspect();
    for (let i = 0; info.Running && i < 200; i++) {
      await sleep(10);
      info = await exec.inspect();
    }
    exitCode = info.Running ? null : info.ExitCode;
  } catch {
    exitCode = null; // container gone
  }
  return { exitCode, stdout: out.text(), stderr: err.text(), stdinBytes };
}

/** Splits a non-TTY `docker logs` buffer (frame headers) into text; a TTY buffer is returned as is. */
export function demuxLogBuffer(buf: Buffer): string {
  const parts: string[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const type = buf[i];
    if ((type !== 0 && type !== 1 && type !== 2) || buf[i + 1] !== 0 || buf[i + 2] !== 0 || buf[i + 3] !== 0) return buf.toString('utf8');
    const len = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + len).toString('utf8'));
    i += 8 + len;
  }
  return parts.join('');
}
