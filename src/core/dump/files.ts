import { spawnDump, type DumpProcess } from './process.js';

/**
 * `tar --create --file=- --directory=/ -- <path without the leading />`: an argument array, so a path such
 * as `/srv/$(touch x)` is archived literally (it is a file name, never shell text). The tar stream is
 * gzipped by the pipeline (same level as the dump), not by `tar -z`.
 */
export function tarArgs(path: string): string[] {
  if (!path.startsWith('/')) throw new Error(`files path must be absolute: ${path}`);
  const rel = path.replace(/^\/+/, '') || '.';
  return ['--create', '--file=-', '--directory=/', '--warning=no-file-changed', '--', rel];
}

export function spawnTar(path: string, program = 'tar'): DumpProcess {
  return spawnDump(program, tarArgs(path), { ...process.env, LC_ALL: 'C' });
}

/** GNU tar exits 1 when a file changed while it was read: the archive is complete, so that is a warning. */
export function tarExitAcceptable(code: number | null, signal: NodeJS.Signals | null): boolean {
  return signal === null && (code === 0 || code === 1);
}
