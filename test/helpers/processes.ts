import { readdirSync, readFileSync } from 'node:fs';

/** The command lines of the running processes (Linux /proc), each as its argv. */
function commandLines(): Array<{ pid: number; argv: string[] }> {
  const out: Array<{ pid: number; argv: string[] }> = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try { out.push({ pid: Number(p), argv: readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0') }); } catch { /* gone meanwhile */ }
  }
  return out;
}

/** Pids of running programs named `name` (Debian's pg_wrapper execs /usr/lib/postgresql/N/bin/…) whose command line mentions `needle`. */
export function processes(name: string, needle: string): number[] {
  const named = new RegExp(`(^|/)${name}$`);
  return commandLines().filter((c) => named.test(c.argv[0]!) && c.argv.join('\0').includes(needle)).map((c) => c.pid);
}

/** Pids of the processes with `arg` as one of their arguments. */
export function processesWith(arg: string): number[] {
  return commandLines().filter((c) => c.argv.includes(arg)).map((c) => c.pid);
}
