/**
 * `compileOnce`: a statement compiled once runs with each call's values in the right places,
 * keeps the constants written in it, joins the transaction it is given (and its rollback),
 * maps errors like any statement, and refuses a build that leaves a named value out.
 */
import { describe, expect, it } from 'vitest';
import { defineModule, isPlinthError } from '../src/index.js';
import { compileOnce, compileOncePerLength } from '../src/storage/compile-once.js';
import { dialects } from '../src/testing/index.js';
import { useHarness } from './support/harness.js';

const notesModule = defineModule({
  name: 'notes',
  migrations: [
    {
      name: '0001-create-notes',
      async up(db) {
        await db.schema
          .createTable('notes')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('body', 'text')
          .addColumn('kind', 'text', (c) => c.notNull())
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('notes').execute();
      },
    },
  ],
});

describe.each(dialects)('statements compiled once on %s', (dialect) => {
  const h = useHarness();

  async function setUp() {
    const { url } = await h.database(dialect);
    const plinth = h.plinth(url, { modules: [notesModule] });
    await plinth.start();
    const db = plinth.storage.db;
    const insert = compileOnce(['id', 'owner', 'body'], (v) => db.insertInto('notes').values({ id: v.id, owner: v.owner, body: v.body, kind: 'plain' }));
    // `owner` twice in the text, and a constant between the two placeholders.
    const byOwner = compileOnce(['a', 'b'], (v) => db.selectFrom('notes').select(['id', 'body', 'kind']).where('kind', '=', 'plain').where('owner', 'in', [v.a, v.b]).orderBy('id'));
    return { plinth, insert, byOwner };
  }

  it('binds each call its own values, in their places, and keeps the constants', async () => {
    const { plinth, insert, byOwner } = await setUp();
    await insert.run(plinth.db, { id: 'n1', owner: 'ann', body: 'first' });
    await insert.run(plinth.db, { id: 'n2', owner: 'bob', body: null });
    await insert.run(plinth.db, { body: 'third', owner: 'cy', id: 'n3' });
    expect((await byOwner.run(plinth.db, { a: 'ann', b: 'cy' })).rows).toEqual([
      { id: 'n1', body: 'first', kind: 'plain' },
      { id: 'n3', body: 'third', kind: 'plain' },
    ]);
    expect((await byOwner.run(plinth.db, { a: 'bob', b: 'bob' })).rows).toEqual([{ id: 'n2', body: null, kind: 'plain' }]);
    expect((await byOwner.run(plinth.db, { a: 'nobody', b: 'else' })).rows).toEqual([]);
  });

  it('runs inside the transaction it is given: seen there, dropped by its rollback', async () => {
    const { plinth, insert, byOwner } = await setUp();
    await expect(
      plinth.transaction(async (tx) => {
        await insert.run(tx.db, { id: 'n1', owner: 'ann', body: 'draft' });
        expect((await byOwner.run(tx.db, { a: 'ann', b: 'ann' })).rows).toHaveLength(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await byOwner.run(plinth.db, { a: 'ann', b: 'ann' })).rows).toEqual([]);
  });

  it('maps errors like any statement, and refuses a build that leaves a value out', async () => {
    const { plinth, insert } = await setUp();
    await insert.run(plinth.db, { id: 'n1', owner: 'ann', body: null });
    const duplicate = await insert.run(plinth.db, { id: 'n1', owner: 'bob', body: null }).catch((error: unknown) => error);
    expect(isPlinthError(duplicate) && duplicate.code).toBe('storage.conflict');
    const unused = compileOnce(['owner', 'id'], (v) => plinth.storage.db.selectFrom('notes').select('id').where('owner', '=', v.owner));
    await expect(unused.run(plinth.db, { owner: 'ann', id: 'n1' })).rejects.toThrow(/id not used/);
  });

  it('compiles a statement that follows a list once per length (compileOncePerLength), values in order', async () => {
    const { plinth, insert } = await setUp();
    for (const [id, owner] of [['n1', 'ann'], ['n2', 'bob'], ['n3', 'cy']]) await insert.run(plinth.db, { id, owner, body: null });
    // The first value is used twice; the others make the `in` list.
    const byOwners = compileOncePerLength((values) =>
      plinth.storage.db.selectFrom('notes').select('id').where('owner', 'in', values.slice(1)).where('id', '!=', values[0]!).where('owner', '!=', values[0]!).orderBy('id'),
    );
    const ids = async (values: string[]) => (await byOwners.run<{ id: string }>(plinth.db, values)).rows.map((r) => r.id);
    expect(await ids(['n2', 'ann', 'bob'])).toEqual(['n1']);
    expect(await ids(['x', 'ann', 'bob', 'cy'])).toEqual(['n1', 'n2', 'n3']);
    expect(await ids(['n1', 'ann'])).toEqual([]);
    expect(await ids(['x', 'cy', 'bob'])).toEqual(['n2', 'n3']);
  });
});
