/**
 * The same `POST /v1/bench-notes` as plinth-create, each request with a fresh
 * Idempotency-Key: the key's claim (an insert) before the handler and its record
 * (an update with the encrypted answer) after it, on top of the same work.
 */
import { BODIES, notesApp } from './lib-notes.mjs';

export const summary = 'Plinth POST /v1/bench-notes with a new Idempotency-Key per request';

export async function start({ tmpDir }) {
  const app = await notesApp(tmpDir);
  return {
    url: app.url,
    target: { path: '/v1/bench-notes', method: 'POST', bodies: BODIES, uniqueHeader: 'idempotency-key' },
    sample: { method: 'POST', path: '/v1/bench-notes', requestBody: BODIES[0], headers: { 'idempotency-key': 'bench-sample' }, keys: ['id', 'text'] },
    close: app.close,
  };
}
