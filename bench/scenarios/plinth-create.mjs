/** `POST /v1/bench-notes` without an Idempotency-Key: validation, one insert in a transaction, 201. */
import { BODIES, notesApp } from './lib-notes.mjs';

export const summary = 'Plinth POST /v1/bench-notes (one insert per request, SQLite)';

export async function start({ tmpDir }) {
  const app = await notesApp(tmpDir);
  return {
    url: app.url,
    target: { path: '/v1/bench-notes', method: 'POST', bodies: BODIES },
    sample: { method: 'POST', path: '/v1/bench-notes', requestBody: BODIES[0], keys: ['id', 'text'] },
    close: app.close,
  };
}
