/**
 * SQLite group commit: with `synchronous: full` (the default) a commit is
 * acknowledged only after an fdatasync of the WAL that started after it, and
 * concurrent commits share those syncs instead of paying one each.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { pbkdf2 } from 'node:crypto';
import { statSync } from 'node:fs';
import type { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createPlinth, defineModule } from '../src/index.js';
import { compileOnce } from '../src/storage/compile-once.js';
import { useHarness } from './support/harness.js';

const counters = defineModule({
  name: 'counters',
  migrations: [
    {
      name: '0001-create-hits',
      up: (db) => db.schema.createTable('hits').addColumn('id', 'text', (c) => c.primaryKey()).execute(),
      down: (db) => db.schema.dropTable('hits').execute(),
    },
  ],
});

describe('SQLite group commit', () => {
  const h = useHarness();

  async function open(synchronous?: 'full' | 'normal') {
    const { url } = await h.database('sqlite');
    const plinth = h.plinth(url, { modules: [counters], ...(synchronous ? { database: { sqliteSynchronous: synchronous } } : {}) });
    await plinth.start();
    return plinth;
  }

  it('acknowledges a commit only after a WAL sync that started after it', async () => {
    const plinth = await open();
    const before = { ...plinth.storage.groupCommitStats!()! };
    await plinth.transaction(async (tx) => {
      await tx.db.insertInto('hits').values({ id: 'one' }).execute();
    });
    const after = plinth.storage.groupCommitStats!()!;
    expect(after.flushes).toBe(before.flushes + 1);
    expect(after.syncs).toBeGreaterThan(before.syncs);
    // A statement outside a transaction is a commit too.
    await plinth.db.insertInto('hits').values({ id: 'two' }).execute();
    expect(plinth.storage.groupCommitStats!()!.flushes).toBe(before.flushes + 2);
    // Reads wait for nothing.
    await plinth.db.selectFrom('hits').selectAll().execute();
    expect(plinth.storage.groupCommitStats!()!.flushes).toBe(before.flushes + 2);
  });

  it('lets concurrent transactions share commits and syncs, and loses none of them', async () => {
    const plinth = await open();
    const before = { ...plinth.storage.groupCommitStats!()! };
    const batchesBefore = plinth.storage.transactionBatchStats!();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        plinth.transaction(async (tx) => {
          await tx.db.insertInto('hits').values({ id: `h${i}` }).execute();
        }),
      ),
    );
    const after = plinth.storage.groupCommitStats!()!;
    const batches = plinth.storage.transactionBatchStats!();
    // The 50 transactions shared SQLite commits (each in its own savepoint), and those commits shared syncs.
    expect(batches.transactions - batchesBefore.transactions).toBe(50);
    const commits = batches.commits - batchesBefore.commits;
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThan(50);
    expect(after.flushes - before.flushes).toBe(commits);
    expect(after.syncs - before.syncs).toBeGreaterThanOrEqual(1);
    expect(after.syncs - before.syncs).toBeLessThanOrEqual(commits);
    const { n } = (await plinth.db.selectFrom('hits').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()) as { n: number };
    expect(Number(n)).toBe(50);
    const metrics = await plinth.metrics.getSingleMetricAsString('plinth_db_group_commit_total');
    expect(metrics).toContain(`plinth_db_group_commit_total{kind="flushes"} ${after.flushes}`);
    expect(metrics).toContain(`plinth_db_group_commit_total{kind="transactions"} ${batches.transactions}`);
  });

  it('rolls back only the failing transaction of a shared commit; each runs in its caller\'s async context', async () => {
    const plinth = await open();
    const caller = new AsyncLocalStorage<number>();
    const seen: (number | undefined)[] = [];
    const batchesBefore = plinth.storage.transactionBatchStats!();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        caller.run(i, () =>
          plinth.transaction(async (tx) => {
            await tx.db.insertInto('hits').values({ id: `a${i}` }).execute();
            await new Promise((resolve) => setImmediate(resolve));
            seen[i] = caller.getStore();
            await tx.db.insertInto('hits').values({ id: `b${i}` }).execute();
            if (i % 5 === 3) throw new Error(`boom ${i}`);
            // A unique violation inside a transaction fails that transaction only.
            if (i === 7) await tx.db.insertInto('hits').values({ id: 'a0' }).execute();
          }),
        ),
      ),
    );
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(failed).toEqual([3, 7, 8, 13, 18]);
    expect((results[3] as PromiseRejectedResult).reason.message).toBe('boom 3');
    expect((results[7] as PromiseRejectedResult).reason.code).toBe('storage.conflict');
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const ids = (await plinth.db.selectFrom('hits').select('id').execute()).map((r) => r.id as string).sort();
    const kept = Array.from({ length: 20 }, (_, i) => i).filter((i) => !failed.includes(i));
    expect(ids).toEqual(kept.flatMap((i) => [`a${i}`, `b${i}`]).sort());
    const batches = plinth.storage.transactionBatchStats!();
    expect(batches.transactions - batchesBefore.transactions).toBe(kept.length);
    expect(batches.commits - batchesBefore.commits).toBeLessThan(kept.length);
  });

  it('runs compiled statements of a batched transaction at once, as Kysely would: same rows, errors, rollbacks and change counts', async () => {
    const plinth = await open();
    const insert = compileOnce(['id'], (v) => plinth.storage.db.insertInto('hits').values({ id: v.id }));
    const count = compileOnce([], () => plinth.storage.db.selectFrom('hits').select((eb) => eb.fn.countAll<number>().as('n')));
    let kept: Kysely<any> | undefined;
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        plinth.transaction(async (tx) => {
          kept = tx.db;
          const version = plinth.storage.changeVersion();
          const { numAffectedRows } = await insert.run(tx.db, { id: `c${i}` });
          expect(numAffectedRows).toBe(1n);
          expect(plinth.storage.changeVersion()).toBeGreaterThan(version); // a write, counted for the read caches
          // A built query sees what the compiled one wrote: one connection, one transaction.
          expect(await tx.db.selectFrom('hits').select('id').where('id', '=', `c${i}`).executeTakeFirst()).toEqual({ id: `c${i}` });
          if (i === 4) await insert.run(tx.db, { id: 'c0' }); // mapped like any statement's error; rolls back this one only
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 10 }, (_, i) => (i === 4 ? 'rejected' : 'fulfilled')));
    expect((results[4] as PromiseRejectedResult).reason.code).toBe('storage.conflict');
    expect((await count.run<{ n: number }>(plinth.db, {})).rows[0]!.n).toBe(9);
    // After its commit, the transaction refuses statements, compiled or built.
    await expect(Promise.resolve().then(() => insert.run(kept!, { id: 'late' }))).rejects.toThrow(/committed/);
    await expect(kept!.insertInto('hits').values({ id: 'late' }).execute()).rejects.toThrow(/committed/);
  });

  it('checkpoints in a worker, not in the committing connection: the database file fills while the WAL is far below SQLite\'s own threshold', async () => {
    const { url } = await h.database('sqlite');
    const file = url.slice('sqlite:'.length);
    const plinth = h.plinth(url, { modules: [counters] });
    await plinth.start();
    const before = statSync(file).size;
    const pad = 'x'.repeat(3000);
    // A few WAL pages per commit, 40 commits: SQLite alone would not checkpoint before 1000 pages.
    for (let i = 0; i < 40; i++) await plinth.db.insertInto('hits').values({ id: `${i}-${pad}` }).execute();
    const deadline = Date.now() + 5000;
    while (statSync(file).size < before + 40 * 3000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(statSync(file).size).toBeGreaterThanOrEqual(before + 40 * 3000);
    await plinth.close();
    // Everything committed reads back from the file after the last connection closed.
    const again = createPlinth({ databaseUrl: url, processEnv: false, logLevel: 'silent', builtins: false, modules: [counters] });
    await again.start();
    const { n } = (await again.db.selectFrom('hits').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()) as { n: number };
    expect(Number(n)).toBe(40);
    await again.close();
  });

  it("syncs on a thread of its own: a commit does not wait behind the tasks queued on libuv's pool (password hashes)", async () => {
    const plinth = await open();
    await plinth.db.insertInto('hits').values({ id: 'warm' }).execute(); // the sync thread is up
    // 40 CPU-bound tasks on libuv's pool (4 threads), as a burst of sign-ins queues its hashes there.
    let done = 0;
    const queued = Array.from(
      { length: 40 },
      () =>
        new Promise<void>((resolve, reject) =>
          pbkdf2('password', 'salt', 40_000, 32, 'sha256', (error) => {
            done++;
            if (error) reject(error);
            else resolve();
          }),
        ),
    );
    await plinth.transaction(async (tx) => {
      await tx.db.insertInto('hits').values({ id: 'during' }).execute();
    });
    // Through the pool, the commit's sync would have waited for at least 36 of them.
    const doneAtCommit = done;
    await Promise.all(queued);
    expect(doneAtCommit).toBeLessThan(20);
    expect(await plinth.db.selectFrom('hits').select('id').where('id', '=', 'during').executeTakeFirst()).toEqual({ id: 'during' });
  });

  it('does not wait for the disk with synchronous: normal', async () => {
    const plinth = await open('normal');
    await plinth.db.insertInto('hits').values({ id: 'x' }).execute();
    expect(plinth.storage.groupCommitStats!()).toBeUndefined();
  });
});
