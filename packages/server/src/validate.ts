import type { z } from 'zod';
import { type FieldError, PlinthError } from '@plinth/core/contract';
import { nulError } from './body.js';

/** Parses input with a route schema; failures are 422 `validation.failed` with one entry per field. */
export function validate<S extends z.ZodType>(schema: S | undefined, value: unknown, where: 'params' | 'query' | 'body'): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors: FieldError[] = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
    code: issue.code,
  }));
  throw new PlinthError('validation.failed', `The request ${where} is invalid`, { errors });
}

/** URLSearchParams → plain object; a repeated key becomes an array. */
export function queryObject(search: string): Record<string, string | string[]> {
  // No prototype: keys such as `constructor` or `__proto__` are plain data, not inherited members.
  const out: Record<string, string | string[]> = Object.create(null);
  if (!search) return out;
  for (const [key, value] of new URLSearchParams(search)) {
    if (key.includes('\0') || value.includes('\0')) throw nulError();
    const existing = out[key];
    if (existing === undefined) out[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[key] = [existing, value];
  }
  return out;
}
