/**
 * A module an application could write: `POST /v1/notes` inserts a row, with no
 * idempotency code in its handler. The probe counts handler runs and makes the
 * handler fail, conflict or wait when a test asks it to.
 */
import { z } from 'zod';
import { defineModule, implement, PlinthError } from '../../src/index.js';
import { defineRoute } from '../../src/contract/index.js';

export interface NotesProbe {
  /** Handler runs so far. */
  calls: number;
  /** Runs that throw a plain error (a 500) before writing anything, for `text: 'boom'`. */
  failures: number;
  /** Held by `text: 'slow'` requests until resolved. */
  gate: Promise<void> | undefined;
}

export const noteRoutes = {
  createNote: defineRoute({
    method: 'POST', path: '/v1/notes', operationId: 'createNote', summary: 'Create a note.', auth: 'optional', status: 201,
    body: z.object({ text: z.string().min(1).max(200) }).strict(),
    response: z.object({ id: z.string(), text: z.string(), ownerId: z.string().nullable() }),
  }),
  archiveNotes: defineRoute({
    method: 'POST', path: '/v1/notes/archive', operationId: 'archiveNotes', summary: 'Archive every note (answers 204).', auth: 'optional', status: 204,
    response: z.unknown(),
  }),
} as const;

export function notesModule(probe: NotesProbe) {
  return defineModule({
    name: 'notes',
    migrations: [
      {
        name: '0001-create-notes',
        up: (db) => db.schema.createTable('notes').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('text', 'text', (c) => c.notNull()).addColumn('owner_id', 'text').addColumn('archived', 'integer', (c) => c.notNull().defaultTo(0)).execute(),
        down: (db) => db.schema.dropTable('notes').execute(),
      },
    ],
    routes: [
      implement(noteRoutes.createNote, async ({ body, actor, kernel, setHeader }) => {
        probe.calls++;
        if (body.text === 'boom' && probe.failures > 0) {
          probe.failures--;
          throw new Error('the disk is on fire');
        }
        if (body.text === 'conflict') throw new PlinthError('notes.full', 'There is no room for more notes', { status: 409 });
        if (body.text === 'slow') await probe.gate;
        const note = { id: kernel.ids.next(), text: body.text, ownerId: actor && actor.kind !== 'system' ? actor.userId : null };
        await kernel.transaction((tx) => tx.db.insertInto('notes').values({ id: note.id, text: note.text, owner_id: note.ownerId }).execute());
        setHeader('location', `/v1/notes/${note.id}`);
        return note;
      }),
      implement(noteRoutes.archiveNotes, async ({ kernel }) => {
        probe.calls++;
        await kernel.db.updateTable('notes').set({ archived: 1 }).execute();
      }),
    ],
  });
}

export function newProbe(): NotesProbe {
  return { calls: 0, failures: 0, gate: undefined };
}
