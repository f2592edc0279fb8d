import type { IncomingMessage } from 'node:http';
import { PlinthError } from '@plinth/core/contract';

/**
 * Reads a JSON body up to `limit` bytes. Too large → 413 (checked on
 * Content-Length first, then while streaming); wrong media type → 415;
 * malformed JSON → 400. An empty body reads as `undefined`.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new PlinthError('request.unsupported_media_type', 'Send the body as application/json');
  }
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    throw new PlinthError('request.unsupported_media_type', 'Compressed request bodies are not accepted');
  }
  const text = Buffer.concat(chunks, size).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    // The parser's message quotes the body: keep client input out of the answer and the logs.
    throw new PlinthError('request.malformed_json', 'The body is not valid JSON');
  }
}

function tooLarge(limit: number): PlinthError {
  return new PlinthError('request.body_too_large', `The body is larger than the limit of ${limit} bytes`, {
    details: { limit },
  });
}
