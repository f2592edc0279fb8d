import type { IncomingMessage } from 'node:http';
import { PlinthError } from '@plinth/core/contract';

/**
 * Reads a JSON body up to `limit` bytes. Too large → 413 (checked on
 * Content-Length first, then while streaming); wrong media type → 415;
 * malformed JSON → 400. An empty body reads as `undefined`.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return (await readJsonBodyText(req, limit)).value;
}

/** `readJsonBody`, also answering the body's exact text (what a signed webhook's signature covers). */
export async function readJsonBodyText(req: IncomingMessage, limit: number): Promise<{ value: unknown; text: string | undefined }> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return { value: undefined, text: undefined };
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new PlinthError('request.unsupported_media_type', 'Send the body as application/json');
  }
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    throw new PlinthError('request.unsupported_media_type', 'Compressed request bodies are not accepted');
  }
  const text = Buffer.concat(chunks, size).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message quotes the body: keep client input out of the answer and the logs.
    throw new PlinthError('request.malformed_json', 'The body is not valid JSON');
  }
  if (/\\u0000/i.test(text) && containsNul(value)) throw nulError();
  return { value, text };
}

function tooLarge(limit: number): PlinthError {
  return new PlinthError('request.body_too_large', `The body is larger than the limit of ${limit} bytes`, {
    details: { limit },
  });
}

/** NUL cannot be stored in PostgreSQL text and has no business in an API value. */
export function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value && typeof value === 'object') return Object.entries(value).some(([k, v]) => k.includes('\0') || containsNul(v));
  return false;
}

export function nulError(): PlinthError {
  return new PlinthError('request.invalid_characters', 'Text must not contain NUL characters');
}
