/**
 * The app of the write scenarios: a module whose `POST /v1/bench-notes` inserts one
 * row in a transaction and answers 201, as a module's create route does. No
 * idempotency code in it: the server adds that when a request carries the header.
 */
import { join } from 'node:path';
import { createPlinth, defineModule, implement } from '@plinth/core';
import { defineRoute } from '@plinth/core/contract';
import { createServer } from '@plinth/server';
import { z } from '../lib/zod.mjs';

const createNote = defineRoute({
  auth: 'public',
  method: 'POST',
  path: '/v1/bench-notes',
  operationId: 'createBenchNote',
  summary: 'Create a bench note.',
  status: 201,
  body: z.object({ text: z.string().min(1).max(200) }).strict(),
  response: z.object({ id: z.string(), text: z.string() }),
});

const notesModule = defineModule({
  name: 'bench-notes',
  migrations: [
    {
      name: '0001-create-bench-notes',
      up: (db) => db.schema.createTable('bench_notes').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('text', 'text', (c) => c.notNull()).execute(),
      down: (db) => db.schema.dropTable('bench_notes').execute(),
    },
  ],
  routes: [
    implement(createNote, async ({ body, kernel }) => {
      const note = { id: kernel.ids.next(), text: body.text };
      await kernel.transaction((tx) => tx.db.insertInto('bench_notes').values(note).execute());
      return note;
    }),
  ],
});

export const BODIES = Array.from({ length: 100 }, (_, i) => JSON.stringify({ text: `note number ${i}` }));

/** Starts the app on a fresh SQLite file (default pragmas: WAL, synchronous=FULL); `options` go to `createPlinth`. */
export async function notesApp(tmpDir, options = {}) {
  const plinth = createPlinth({ databaseUrl: `sqlite:${join(tmpDir, 'plinth.db')}`, processEnv: false, logLevel: 'warn', builtins: false, modules: [notesModule], ...options });
  await plinth.start();
  const server = createServer(plinth, { port: 0, host: '127.0.0.1' });
  const { url } = await server.listen();
  return { url, close: () => server.close() };
}
