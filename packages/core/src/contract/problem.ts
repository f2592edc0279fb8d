import { z } from 'zod';

/** RFC 9457 problem details, as every Plinth error answers (`application/problem+json`). */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    /** Stable machine code, e.g. `validation.failed`. */
    code: z.string(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string(), code: z.string() })).optional(),
  })
  .catchall(z.unknown());

export type Problem = z.infer<typeof problemSchema>;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The problem `type` URI for a code. */
export function problemType(code: string): string {
  return `https://plinth.dev/problems/${code}`;
}
