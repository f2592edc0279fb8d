/**
 * Inserts whose result nobody reads (outbox events, order lines, jobs with a fresh id) are
 * queued inside a transaction on PostgreSQL and go out as one statement just before the
 * transaction's next statement or its commit; on SQLite they run at once. Either way a
 * transaction reads its own rows, commits them, drops them on a rollback, and a failing one
 * fails (and rolls back) its transaction with the usual mapped error. And an
 * `idempotency: 'transaction'` claim on PostgreSQL (lock and insert in one statement) still
 * refuses a duplicate from another process at once.
 */
import { describe, expect, it } from 'vitest';
import { type Plinth, defineModule, isPlinthError } from '../src/index.js';
import { executeLater } from '../src/storage/error-mapping.js';
import { dialects } from '../src/testing/index.js';
import { useHarness } from './support/harness.js';

const linesModule = defineModule({
  name: 'lines',
  migrations: [
    {
      name: '0001-create-lines',
      async up(db) {
        await db.schema.createTable('heads').addColumn('id', 'text', (c) => c.primaryKey()).execute();
        await db.schema
          .createTable('lines')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('head_id', 'text', (c) => c.notNull().references('heads.id'))
          .addColumn('n', 'integer', (c) => c.notNull())
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('lines').execute();
        await db.schema.dropTable('heads').execute();
      },
    },
  ],
});

const ids = async (plinth: Plinth, table: string) => (await plinth.db.selectFrom(table).select('id').orderBy('id').execute()).map((r) => r.id as string);

describe.each(dialects)('inserts sent later on %s', (dialect) => {
  const h = useHarness();

  async function setUp() {
    const { url } = await h.database(dialect);
    const plinth = h.plinth(url, { modules: [linesModule] });
    await plinth.start();
    return { url, plinth };
  }

  it('a transaction reads its own queued rows, commits them, and PostgreSQL sends them together (a foreign key to a row of the same batch holds)', async () => {
    const { plinth } = await setUp();
    const before = plinth.storage.changeVersion();
    const seen = await plinth.transaction(async (tx) => {
      await executeLater(tx.db, tx.db.insertInto('heads').values({ id: 'h1' }));
      await executeLater(tx.db, tx.db.insertInto('lines').values([{ id: 'l1', head_id: 'h1', n: 1 }, { id: 'l2', head_id: 'h1', n: 2 }]));
      await executeLater(tx.db, tx.db.insertInto('lines').values({ id: 'l3', head_id: 'h1', n: 3 }));
      return (await tx.db.selectFrom('lines').select(['id', 'n']).orderBy('id').execute()).map((r) => r.id);
    });
    expect(seen).toEqual(['l1', 'l2', 'l3']);
    expect(await ids(plinth, 'lines')).toEqual(['l1', 'l2', 'l3']);
    // Each statement that may write counts once: begin, the inserts, commit (and on SQLite the
    // savepoint and its release that keep this transaction apart from others sharing the commit).
    expect(plinth.storage.changeVersion() - before).toBe(dialect === 'postgres' ? 3 : 7);
  });

  it('queued rows are sent at commit when nothing follows them, and dropped by a rollback', async () => {
    const { plinth } = await setUp();
    await plinth.transaction(async (tx) => {
      await executeLater(tx.db, tx.db.insertInto('heads').values({ id: 'h1' }));
    });
    expect(await ids(plinth, 'heads')).toEqual(['h1']);
    await expect(
      plinth.transaction(async (tx) => {
        await executeLater(tx.db, tx.db.insertInto('heads').values({ id: 'h2' }));
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await ids(plinth, 'heads')).toEqual(['h1']);
  });

  it('a failing queued row fails its transaction with the mapped error and leaves nothing of it', async () => {
    const { plinth } = await setUp();
    await plinth.db.insertInto('heads').values({ id: 'h1' }).execute();
    const failed = await plinth
      .transaction(async (tx) => {
        await executeLater(tx.db, tx.db.insertInto('heads').values({ id: 'h2' }));
        await executeLater(tx.db, tx.db.insertInto('lines').values({ id: 'l1', head_id: 'missing', n: 1 }));
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isPlinthError(failed) && failed.code).toBe('storage.foreign_key');
    const duplicate = await plinth
      .transaction(async (tx) => {
        await executeLater(tx.db, tx.db.insertInto('heads').values({ id: 'h3' }));
        await executeLater(tx.db, tx.db.insertInto('heads').values({ id: 'h1' }));
        await tx.db.selectFrom('heads').select('id').execute();
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isPlinthError(duplicate) && duplicate.code).toBe('storage.conflict');
    expect(await ids(plinth, 'heads')).toEqual(['h1']);
    expect(await ids(plinth, 'lines')).toEqual([]);
  });

  it('outside a transaction an insert runs at once; only INSERTs without RETURNING are taken', async () => {
    const { plinth } = await setUp();
    await executeLater(plinth.db, plinth.db.insertInto('heads').values({ id: 'h1' }));
    expect(await ids(plinth, 'heads')).toEqual(['h1']);
    await expect(executeLater(plinth.db, plinth.db.updateTable('heads').set({ id: 'h2' }))).rejects.toThrow('INSERT without RETURNING');
    await expect(executeLater(plinth.db, plinth.db.insertInto('heads').values({ id: 'h2' }).returning('id'))).rejects.toThrow('INSERT without RETURNING');
  });

  it.skipIf(dialect !== 'postgres')('a key claimed in a transaction is refused to another process at once (409), then replayed', async () => {
    const { url } = await setUp();
    const a = h.plinth(url);
    const b = h.plinth(url);
    await a.start();
    await b.start();
    const request = { actor: { kind: 'system' as const, name: 'test' }, key: 'key-1', method: 'POST', target: '/v1/things', body: { n: 1 } };
    let claimed!: () => void;
    const isClaimed = new Promise<void>((resolve) => (claimed = resolve));
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const first = a.transaction(async () => {
      const start = await a.idempotency.beginInTransaction(request);
      expect(start.kind).toBe('run');
      claimed();
      await finished;
      if (start.kind === 'run') expect(await start.lease.complete({ status: 201, headers: {}, body: '{"ok":true}' })).toBe(true);
    });
    await isClaimed;
    const startedAt = Date.now();
    const refused = await b.transaction(() => b.idempotency.beginInTransaction(request)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isPlinthError(refused) && refused.code).toBe('idempotency.in_flight');
    expect(Date.now() - startedAt).toBeLessThan(2000); // refused, not queued behind the first transaction
    finish();
    await first;
    const replay = await b.transaction(() => b.idempotency.beginInTransaction(request));
    expect(replay).toEqual({ kind: 'replay', response: { status: 201, headers: {}, body: '{"ok":true}' } });
  });
});
