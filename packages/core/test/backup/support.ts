import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { type BackupStore, createFsBackupStore, defineModule, type Migration, type Plinth } from '../../src/index.js';
import type { Harness } from '../support/harness.js';

/** A table with every type a backup must carry: JSON, timestamps, booleans, 64-bit integers, floats, bytes. */
export const notesV1: Migration = {
  name: '0001-create-notes',
  async up(db, { types, dialect }) {
    await db.schema
      .createTable('notes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('writer', 'integer', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('body', 'text')
      .addColumn('meta', types.json)
      .addColumn('pinned', types.boolean, (c) => c.notNull().defaultTo(false as never))
      .addColumn('big', 'bigint')
      .addColumn('ratio', 'double precision')
      .addColumn('blob', dialect === 'postgres' ? 'bytea' : 'blob')
      .addColumn('created_at', types.timestamp, (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('note_tags')
      .addColumn('note_id', 'text', (c) => c.notNull().references('notes.id').onDelete('cascade'))
      .addColumn('tag', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('note_tags_pk', ['note_id', 'tag'])
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('note_tags').execute();
    await db.schema.dropTable('notes').execute();
  },
};

/** A later migration: a column with a default, so rows of an older backup get it. */
export const notesV2: Migration = {
  name: '0002-notes-archived',
  async up(db, { types }) {
    await db.schema.alterTable('notes').addColumn('archived', types.boolean, (c) => c.notNull().defaultTo(false as never)).execute();
  },
  async down(db) {
    await db.schema.alterTable('notes').dropColumn('archived').execute();
  },
};

const events = { 'note.created': z.object({ id: z.string(), writer: z.number() }) };

export const notesModule = (version: 1 | 2 = 1) =>
  defineModule({ name: 'notes', migrations: version === 1 ? [notesV1] : [notesV1, notesV2], events });

/** Inserts one note and its outbox event in one transaction. */
export async function writeNote(plinth: Plinth, writer: number, seq: number, extra: Record<string, unknown> = {}): Promise<string> {
  const id = plinth.ids.next();
  await plinth.transaction(async (tx) => {
    await tx.db
      .insertInto('notes')
      .values({ id, writer, seq, body: `note ${writer}/${seq}`, meta: plinth.storage.toJson({ writer, seq }), created_at: new Date().toISOString(), ...extra })
      .execute();
    await tx.emit({ type: 'note.created', aggregate: { type: 'note', id }, payload: { id, writer } });
  });
  return id;
}

/** A folder store in a temp dir removed after the test. */
export function tempStore(h: Harness): { store: BackupStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-backups-'));
  h.defer(() => rmSync(dir, { recursive: true, force: true }));
  return { store: createFsBackupStore(dir), dir };
}
