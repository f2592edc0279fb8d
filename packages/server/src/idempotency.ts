/**
 * `Idempotency-Key` on POST, the HTTP half (the store is `plinth.idempotency` in the core):
 * which answers are recorded, which headers go with them, and how a replay is written.
 *
 * - Recorded: every answer of the handler, success or a 4xx problem it raised (a 409
 *   `insufficient_stock` replays as such). Not recorded: 429 and 408 (retry later means
 *   later), 5xx and crashes (the key is released so that a retry runs again). Validation
 *   and authentication failures happen before the key is claimed and record nothing.
 * - Replayed: the recorded status, the headers the handler set (`Location`, `ETag`,
 *   `Content-Type`, ...), the body, plus `Idempotent-Replayed: true`; the security headers,
 *   `X-Request-Id` and CORS are the retry's own.
 */
import { isPlinthError } from '@plinth/core/contract';
import type { RecordedResponse } from '@plinth/core';
import { type HeaderList, headerValue, putHeader } from './headers.js';

/** Whether a failure is an answer worth replaying (a 4xx the handler raised) rather than a reason to release the key. */
export function isRecordableFailure(error: unknown): boolean {
  if (!isPlinthError(error) || !error.expose) return false;
  return error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}

/** What to record of an answer: the headers the handler (or the problem) added, and the content type. */
export function recordOf(status: number, added: HeaderList | undefined, all: HeaderList, body: string): RecordedResponse {
  const headers: Record<string, string> = {};
  if (added) for (let i = 0; i < added.length; i += 2) headers[added[i] as string] = String(added[i + 1]);
  const type = headerValue(all, 'content-type');
  if (type !== undefined) headers['content-type'] = String(type);
  return { status, headers, body };
}

/** Adds a recorded answer's headers, and the replay marker, to a retry's base headers. */
export function replayHeaders(base: HeaderList, recorded: RecordedResponse): HeaderList {
  for (const [name, value] of Object.entries(recorded.headers)) putHeader(base, name, value);
  putHeader(base, 'idempotent-replayed', 'true');
  return base;
}
