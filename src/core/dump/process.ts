import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { redactSecrets } from '../redact.js';

export interface DumpExit { code: number | null; signal: NodeJS.Signals | null; stderr: string }

/** A running dump program: its stdout is the dump; `exited` resolves (never rejects) when it ends. */
export interface DumpProcess {
  program: string;
  pid: number | undefined;
  stdout: Readable;
  exited: Promise<DumpExit>;
  kill(signal?: NodeJS.Signals): void;
}

const STDERR_CAP = 64 * 1024;

/**
 * Spawns a dump program with an argument array (never a shell); secrets only in `env`.
 * stderr is kept (last 64 KiB) for the error message; a spawn failure (ENOENT) becomes an exit with code null.
 */
export function spawnDump(program: string, args: string[], env: NodeJS.ProcessEnv): DumpProcess {
  const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
    if (stderr.length > STDERR_CAP) stderr = stderr.slice(-STDERR_CAP);
  });
  const exited = new Promise<DumpExit>((resolve) => {
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
      // 'close' still follows an 'error' from spawn
    });
    child.on('close', (code, signal) => {
      const msg = spawnError ? `${program} could not be started: ${(spawnError as NodeJS.ErrnoException).code ?? spawnError.message}` : stderr;
      resolve({ code: spawnError ? null : code, signal, stderr: msg });
    });
  });
  return {
    program,
    pid: child.pid,
    stdout: child.stdout,
    exited,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** Why a dump program failed, in one line: its last meaningful stderr lines, redacted. */
export function describeExit(program: string, e: DumpExit): string {
  const lines = redactSecrets(e.stderr).split('\n').map((l) => l.trim()).filter(Boolean);
  const tail = lines.slice(-3).join(' / ').slice(0, 600);
  const how = e.signal ? `was killed by ${e.signal}` : e.code === null ? 'could not run' : `exited with code ${e.code}`;
  return `${program} ${how}${tail ? `: ${tail}` : ''}`;
}

export function exitOk(e: DumpExit): boolean {
  return e.code === 0 && e.signal === null;
}
