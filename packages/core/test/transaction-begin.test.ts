/**
 * On PostgreSQL a transaction's BEGIN waits for its first statement and goes out with it (one
 * round trip), and `storage.preparedQuery` runs fixed texts as named prepared statements on
 * whichever connection executes them. Whatever the first statement (with parameters, named,
 * plain text, failing), the transaction is real: its writes commit together or roll back
 * together; a transaction that ran nothing commits or rolls back without a trace.
 */
import { CompiledQuery, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { defineModule, isPlinthError } from '../src/index.js';
import { dialects } from '../src/testing/index.js';
import { useHarness } from './support/harness.js';

const notesModule = defineModule({
  name: 'notes',
  migrations: [
    {
      name: '0001-create-notes',
      async up(db) {
        await db.schema.createTable('notes').addColumn('id', 'text', (c) => c.primaryKey()).execute();
      },
      async down(db) {
        await db.schema.dropTable('notes').execute();
      },
    },
  ],
});

const INSERT = { sqlite: 'insert into "notes" ("id") values (?)', postgres: 'insert into "notes" ("id") values ($1)' } as const;

describe.each(dialects)('transactions on %s', (dialect) => {
  const h = useHarness();

  async function setup() {
    const { url } = await h.database(dialect);
    const plinth = h.plinth(url, { modules: [notesModule], database: { poolMax: 2 } });
    await plinth.start();
    const notes = async () => (await plinth.db.selectFrom('notes').select('id').orderBy('id').execute()).map((r) => r.id as string);
    const insert = (id: string) => {
      const text = INSERT[plinth.storage.dialect];
      return plinth.db.executeQuery(plinth.storage.preparedQuery?.('test_notes_insert', text, [id]) ?? CompiledQuery.raw(text, [id]));
    };
    const rollback = new Error('roll back');
    const rolledBack = (fn: () => Promise<unknown>) => plinth.transaction(async () => {
      await fn();
      throw rollback;
    }).catch((error: unknown) => {
      if (error !== rollback) throw error;
    });
    return { plinth, notes, insert, rolledBack };
  }

  it('rolls back whatever statement came first: with parameters, named, or plain text', async () => {
    const { plinth, notes, insert, rolledBack } = await setup();
    await rolledBack(() => plinth.db.insertInto('notes').values({ id: 'a' }).execute());
    await rolledBack(() => insert('b'));
    await rolledBack(() => sql`insert into notes (id) values ('c')`.execute(plinth.db));
    await rolledBack(async () => {
      await sql`select 1`.execute(plinth.db);
      await insert('d');
    });
    expect(await notes()).toEqual([]);
    // And commits them together.
    await plinth.transaction(async () => {
      await insert('e');
      await plinth.db.insertInto('notes').values({ id: 'f' }).execute();
    });
    await plinth.transaction(() => sql`insert into notes (id) values ('g')`.execute(plinth.db));
    expect(await notes()).toEqual(['e', 'f', 'g']);
  });

  it('a failing first statement fails its transaction, which rolls back; the connections stay usable', async () => {
    const { plinth, notes, insert } = await setup();
    await insert('x');
    for (let i = 0; i < 4; i++) {
      const error = await plinth.transaction(async () => {
        await insert('x'); // a duplicate
        await insert(`never-${i}`);
      }).catch((e: unknown) => e);
      expect(isPlinthError(error) && error.code).toBe('storage.conflict');
    }
    const late = await plinth.transaction(async () => {
      await insert('y');
      await insert('x');
    }).catch((e: unknown) => e);
    expect(isPlinthError(late) && late.code).toBe('storage.conflict');
    expect(await notes()).toEqual(['x']);
    await plinth.transaction(() => insert('z'));
    expect(await notes()).toEqual(['x', 'z']);
  });

  it('a named statement that failed to parse in a transaction is parsed again next time', async () => {
    const { plinth } = await setup();
    const text = { sqlite: 'insert into "later" ("id") values (?)', postgres: 'insert into "later" ("id") values ($1)' }[plinth.storage.dialect];
    const insert = (id: string) => plinth.db.executeQuery(plinth.storage.preparedQuery?.('test_later_insert', text, [id]) ?? CompiledQuery.raw(text, [id]));
    for (let i = 0; i < 3; i++) {
      const error = await plinth.transaction(() => insert(`early-${i}`)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error); // no such table yet, on each connection
    }
    await sql`create table later (id text primary key)`.execute(plinth.db);
    await Promise.all([plinth.transaction(() => insert('a')), plinth.transaction(() => insert('b'))]);
    await plinth.transaction(() => insert('c'));
    expect((await plinth.db.selectFrom('later').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('a transaction that ran no statement commits, or rolls back, without a trace', async () => {
    const { plinth, notes, insert } = await setup();
    expect(await plinth.transaction(async () => 'nothing')).toBe('nothing');
    const error = await plinth.transaction(async () => {
      throw new Error('before any statement');
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('before any statement');
    // Both connections of the pool still start their transactions afresh.
    await Promise.all([plinth.transaction(() => insert('p')), plinth.transaction(() => insert('q'))]);
    expect(await notes()).toEqual(['p', 'q']);
  });
});
