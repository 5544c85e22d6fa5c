import { types } from 'node:util';
/** A mistake in what the user asked for (config, arguments, Slack text): exit code 2, no stack trace. */
export class UserError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A run that could not do its work (unreachable server, failed check): exit code 1, no stack trace. */
export class OperationError extends Error {
  readonly exitCode = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OperationError';
  }
}

/** Anything thrown, as an Error (graphile-worker's coerceError). */
export function coerceError(err: unknown): Error {
  // isNativeError also recognises errors of another realm (Node's core streams under a vm context).
  if (err instanceof Error || types.isNativeError(err)) return err as Error;
  if (typeof err === 'string') return new Error(err);
  try {
    return new Error(JSON.stringify(err));
  } catch {
    return new Error(String(err));
  }
}

export function errorMessage(err: unknown): string {
  const e = coerceError(err);
  const agg = e as Error & { errors?: unknown[] };
  if (!e.message && Array.isArray(agg.errors) && agg.errors.length > 0) {
    return agg.errors.map((x) => coerceError(x).message).join('; ');
  }
  return e.message || e.name;
}
