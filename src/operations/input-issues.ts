import type { z } from 'zod';

/** What was wrong with an interaction's input, one `path: message` per issue (the refusal text of the use cases). */
export function describeInputIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
}
