import type Docker from 'dockerode';
import type { ClientConfig } from '../../config/schema.js';
import { parseDuration } from '../../config/duration.js';
import { OperationError } from '../errors.js';
import { runProgram } from '../run-program.js';
import { redactSecrets } from '../redact.js';

/**
 * Stops and starts a client's application around a production restore (SOP-001 9.2 steps 3 and 10):
 * named Docker containers through dockerode, or configured commands; then polls the health URL.
 */
export type AppConfig = NonNullable<ClientConfig['app']>;

async function runCommand(cmd: string[], what: string): Promise<void> {
  const [prog, ...args] = cmd;
  const r = await runProgram(prog!, args, { timeoutMs: 300_000 }).catch((err: Error) => { throw new OperationError(`${what}: cannot run ${prog}: ${err.message}`); });
  if (r.code !== 0) throw new OperationError(`${what}: ${prog} exited with ${r.code ?? r.signal}${r.stderr.trim() ? `: ${redactSecrets(r.stderr.trim().slice(-300))}` : ''}`);
}

export async function stopApp(docker: Docker, app: AppConfig | undefined): Promise<string> {
  if (!app) return 'no application configured (nothing to stop)';
  if (app.containers.length) {
    for (const name of app.containers) {
      const c = docker.getContainer(name);
      const info = await c.inspect().catch((err: Error) => { throw new OperationError(`container ${name}: ${err.message}`); });
      if (info.State.Running) await c.stop({ t: 30 }).catch((err: { statusCode?: number; message: string }) => { if (err.statusCode !== 304) throw new OperationError(`stopping container ${name}: ${err.message}`); });
      const after = await c.inspect();
      if (after.State.Running) throw new OperationError(`container ${name} is still running after stop`);
    }
    return `stopped ${app.containers.join(', ')}`;
  }
  if (app.stop) {
    await runCommand(app.stop, 'stopping the application');
    return 'stop command done';
  }
  return 'no stop configured';
}

export async function startApp(docker: Docker, app: AppConfig | undefined): Promise<string> {
  if (!app) return 'no application configured (nothing to start)';
  if (app.containers.length) {
    for (const name of app.containers) {
      const c = docker.getContainer(name);
      const info = await c.inspect().catch((err: Error) => { throw new OperationError(`container ${name}: ${err.message}`); });
      if (!info.State.Running) await c.start().catch((err: { statusCode?: number; message: string }) => { if (err.statusCode !== 304) throw new OperationError(`starting container ${name}: ${err.message}`); });
      const after = await c.inspect();
      if (!after.State.Running) throw new OperationError(`container ${name} did not stay running (status ${after.State.Status})`);
    }
    return `started ${app.containers.join(', ')}`;
  } else if (app.start) {
    await runCommand(app.start, 'starting the application');
  }
  return 'started';
}

/** Polls the health URL until it answers 200 (or the timeout passes). */
export async function checkHealth(app: AppConfig | undefined, opts: { intervalMs?: number } = {}): Promise<string> {
  if (!app?.healthUrl) return 'no health URL configured';
  const timeoutMs = parseDuration(app.healthTimeout) ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(app.healthUrl, { signal: AbortSignal.timeout(Math.min(10_000, Math.max(1000, deadline - Date.now()))) });
      if (res.status === 200) return `health check ${redactSecrets(app.healthUrl)} answered 200`;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
  }
  throw new OperationError(`the application did not become healthy within ${app.healthTimeout}: ${redactSecrets(app.healthUrl)} last answered ${last || 'nothing'}`);
}
