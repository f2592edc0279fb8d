/**
 * Plinth's liveness route, `GET /healthz`, on the default SQLite storage: the
 * whole server pipeline (routing, headers, request id, trace context,
 * validation, metrics) around a handler that does no work.
 */
import { join } from 'node:path';
import { createPlinth } from '@plinth/core';
import { createServer } from '@plinth/server';

export const summary = 'Plinth GET /healthz (SQLite in a temp dir)';

export async function start({ tmpDir }) {
  const plinth = createPlinth({ databaseUrl: `sqlite:${join(tmpDir, 'plinth.db')}`, processEnv: false, logLevel: 'warn' });
  await plinth.start();
  const server = createServer(plinth, { port: 0, host: '127.0.0.1' });
  const { url } = await server.listen();
  return {
    url,
    target: { path: '/healthz' },
    sample: { path: '/healthz', body: { status: 'ok' } },
    close: () => server.close(),
  };
}
