/**
 * `kernel.cache`: hot reads served from memory, never stale after a write
 * through the same instance, after another process's commit on SQLite, or
 * beyond `cache.maxAgeMs` on PostgreSQL (SQLite entries need no age limit).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type CreatePlinthOptions, createManualClock, defineModule, type Plinth } from '../src/index.js';
import { dialects } from '../src/testing/index.js';
import { useHarness } from './support/harness.js';

const notesModule = defineModule({
  name: 'notes',
  migrations: [
    {
      name: '0001-create-notes',
      up: (db) => db.schema.createTable('notes').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('text', 'text', (c) => c.notNull()).execute(),
      down: (db) => db.schema.dropTable('notes').execute(),
    },
  ],
});

/** A cached read of one note that counts how often it really hits the database. */
function noteReader(plinth: Plinth) {
  const reader = {
    loads: 0,
    read: (id: string) =>
      plinth.cache.get(`note:${id}`, async () => {
        reader.loads++;
        const row = await plinth.db.selectFrom('notes').select(['id', 'text']).where('id', '=', id).executeTakeFirst();
        return row ?? null;
      }),
  };
  return reader;
}

describe.each(dialects)('read cache on %s', (dialect) => {
  const h = useHarness();

  async function setUp(options: CreatePlinthOptions = {}) {
    const { url } = await h.database(dialect);
    const plinth = h.plinth(url, { modules: [notesModule], ...options });
    await plinth.start();
    await plinth.db.insertInto('notes').values({ id: 'n1', text: 'first' }).execute();
    return { url, plinth };
  }

  it('serves a repeated read from memory, frozen', async () => {
    const { plinth } = await setUp();
    const notes = noteReader(plinth);
    const first = await notes.read('n1');
    const second = await notes.read('n1');
    expect(second).toEqual({ id: 'n1', text: 'first' });
    expect(second).toBe(first);
    expect(notes.loads).toBe(1);
    expect(Object.isFrozen(second)).toBe(true);
    expect(() => {
      (second as { text: string }).text = 'changed';
    }).toThrow(TypeError);
  });

  it('reloads after any write through the instance, in or out of a transaction, committed or rolled back', async () => {
    const { plinth } = await setUp();
    const notes = noteReader(plinth);
    await notes.read('n1');

    await plinth.db.updateTable('notes').set({ text: 'second' }).where('id', '=', 'n1').execute();
    expect(await notes.read('n1')).toEqual({ id: 'n1', text: 'second' });

    await plinth.transaction(async (tx) => {
      await tx.db.updateTable('notes').set({ text: 'third' }).where('id', '=', 'n1').execute();
    });
    expect(await notes.read('n1')).toEqual({ id: 'n1', text: 'third' });

    await expect(
      plinth.transaction(async (tx) => {
        await tx.db.updateTable('notes').set({ text: 'never' }).where('id', '=', 'n1').execute();
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await notes.read('n1')).toEqual({ id: 'n1', text: 'third' });
    expect(notes.loads).toBe(4);
  });

  it('is bypassed inside a transaction: uncommitted data never reaches other callers', async () => {
    const { plinth } = await setUp();
    const notes = noteReader(plinth);
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inside: unknown;
    const tx = plinth.transaction(async (t) => {
      await t.db.updateTable('notes').set({ text: 'uncommitted' }).where('id', '=', 'n1').execute();
      inside = await notes.read('n1');
      await held;
      throw new Error('roll back');
    });
    while (inside === undefined) await nextTurn();
    expect(inside).toEqual({ id: 'n1', text: 'uncommitted' });
    if (dialect === 'postgres') {
      // Another caller reads the committed row (on SQLite it would wait for the one connection).
      expect(await notes.read('n1')).toEqual({ id: 'n1', text: 'first' });
    }
    release();
    await expect(tx).rejects.toThrow('roll back');
    expect(await notes.read('n1')).toEqual({ id: 'n1', text: 'first' });
  });

  it('sees a commit by another instance on the same database (SQLite at once, PostgreSQL after maxAgeMs)', async () => {
    const clock = createManualClock();
    const { url, plinth } = await setUp({ clock, cache: { maxAgeMs: 1000 } });
    const other = h.plinth(url, { modules: [notesModule] });
    await other.start();
    const notes = noteReader(plinth);
    expect(await notes.read('n1')).toEqual({ id: 'n1', text: 'first' });

    await other.db.updateTable('notes').set({ text: 'from elsewhere' }).where('id', '=', 'n1').execute();
    await nextTurn(); // SQLite's data_version is read once per event-loop turn
    if (dialect === 'sqlite') {
      expect(await notes.read('n1')).toEqual({ id: 'n1', text: 'from elsewhere' });
    } else {
      expect(await notes.read('n1')).toEqual({ id: 'n1', text: 'first' });
      clock.advance(1000);
      expect(await notes.read('n1')).toEqual({ id: 'n1', text: 'from elsewhere' });
    }
  });

  it('has no age limit on SQLite (its change version sees every commit); reloads after maxAgeMs on PostgreSQL', async () => {
    const clock = createManualClock();
    const { plinth } = await setUp({ clock, cache: { maxAgeMs: 1000 } });
    const notes = noteReader(plinth);
    expect(await notes.read('n1')).toEqual({ id: 'n1', text: 'first' });
    clock.advance(60_000);
    await nextTurn();
    expect(await notes.read('n1')).toEqual({ id: 'n1', text: 'first' });
    expect(notes.loads).toBe(dialect === 'sqlite' ? 1 : 2);
  });

  it.skipIf(dialect !== 'postgres')('past maxAgeMs, checks the commit watermark: another instance\'s commit is seen, its own reads are not counted as writes', async () => {
    const clock = createManualClock();
    const { url, plinth } = await setUp({ clock, cache: { maxAgeMs: 1000 } });
    const other = h.plinth(url, { modules: [notesModule] });
    await other.start();
    const notes = noteReader(plinth);
    await notes.read('n1');
    await new Promise((resolve) => setTimeout(resolve, 200)); // the first watermark reading, started by that load
    clock.advance(1000);
    await notes.read('n1'); // loaded again, now with a watermark
    const version = plinth.storage.changeVersion();
    await other.db.updateTable('notes').set({ text: 'from elsewhere' }).where('id', '=', 'n1').execute();
    clock.advance(1000);
    expect(await notes.read('n1')).toEqual({ id: 'n1', text: 'from elsewhere' });
    expect(notes.loads).toBe(3);
    expect(plinth.storage.changeVersion()).toBe(version); // readings are not writes: they drop nothing
  });

  it('can be turned off', async () => {
    const { plinth } = await setUp({ cache: { maxEntries: 0 } });
    const notes = noteReader(plinth);
    await notes.read('n1');
    await notes.read('n1');
    expect(notes.loads).toBe(2);
    const { plinth: noAge } = await setUp({ cache: { maxAgeMs: 0 } });
    const other = noteReader(noAge);
    await other.read('n1');
    await other.read('n1');
    expect(other.loads).toBe(2);
  });
});
