/**
 * A process killed in the middle of a SQLite transaction loses that
 * transaction and nothing else: the file opens cleanly, committed rows and
 * events are there, uncommitted ones are not.
 */
import { existsSync, statSync } from 'node:fs';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineModule, parseDatabaseUrl } from '../src/index.js';
import { useHarness } from './support/harness.js';
import { ensureBuiltCore, exited, spawnNode, waitForLine } from './support/node-child.js';

const notesModule = defineModule({
  name: 'notes',
  migrations: [
    {
      name: '0001-create-notes',
      async up(db) {
        await db.schema
          .createTable('notes')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('body', 'text', (c) => c.notNull())
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('notes').execute();
      },
    },
  ],
  events: { 'note.written': z.object({ count: z.number().int() }) },
});

/**
 * The child: the same module through the built package; one transaction that
 * writes 24,000 rows (about 24 MB, more than the 16 MB page cache
 * better-sqlite3 uses, so dirty pages spill into the WAL) and an event, says READY, and never finishes.
 */
const child = `
  import { z } from 'zod';
  const { createPlinth, defineModule } = await import(process.env.PLINTH_CORE_URL);
  const notes = defineModule({
    name: 'notes',
    migrations: [{
      name: '0001-create-notes',
      async up(db) { await db.schema.createTable('notes').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('body', 'text', (c) => c.notNull()).execute(); },
      async down(db) { await db.schema.dropTable('notes').execute(); },
    }],
    events: { 'note.written': z.object({ count: z.number().int() }) },
  });
  const plinth = createPlinth({ databaseUrl: process.env.DB_URL, processEnv: false, logLevel: 'silent', builtins: false, modules: [notes] });
  await plinth.start();
  setInterval(() => {}, 60_000); // keep the process alive: an unsettled promise alone would not
  await plinth.transaction(async (tx) => {
    const body = 'x'.repeat(1000);
    for (let batch = 0; batch < 48; batch++) {
      const rows = Array.from({ length: 500 }, (_, i) => ({ id: 'uncommitted-' + (batch * 500 + i), body }));
      await tx.db.insertInto('notes').values(rows).execute();
    }
    await tx.emit({ type: 'note.written', payload: { count: 24000 } });
    console.log('READY');
    await new Promise(() => {});
  });
`;

describe('SQLite after a crash mid-transaction', () => {
  const h = useHarness();

  beforeAll(async () => {
    await ensureBuiltCore();
  }, 90_000);

  it('keeps committed rows, drops the uncommitted transaction and passes integrity_check', async () => {
    const db = await h.database('sqlite');
    const before = h.plinth(db.url, { modules: [notesModule] });
    await before.start();
    await before.transaction(async (tx) => {
      await tx.db
        .insertInto('notes')
        .values(Array.from({ length: 100 }, (_, i) => ({ id: `committed-${i}`, body: 'kept' })))
        .execute();
      await tx.emit({ type: 'note.written', payload: { count: 100 } });
    });
    await before.close();

    const worker = spawnNode(child, { DB_URL: db.url });
    h.defer(() => worker.kill('SIGKILL')); // never leave it running, even when an assertion fails first
    const result = exited(worker);
    await waitForLine(worker, 'READY');
    const target = parseDatabaseUrl(db.url);
    if (target.dialect !== 'sqlite') throw new Error('expected a SQLite database');
    const wal = `${target.filename}-wal`;
    // The open transaction has written pages to the WAL, without a commit frame.
    expect(existsSync(wal) && statSync(wal).size).toBeGreaterThan(1024 * 1024);
    worker.kill('SIGKILL');
    expect(await result).toMatchObject({ signal: 'SIGKILL' });

    const after = h.plinth(db.url, { modules: [notesModule] });
    await after.start();
    const { rows: integrity } = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(after.db);
    expect(integrity).toEqual([{ integrity_check: 'ok' }]);

    const notes = await after.db.selectFrom('notes').select(['id', 'body']).execute();
    expect(notes).toHaveLength(100);
    expect(notes.every((n) => String(n.id).startsWith('committed-') && n.body === 'kept')).toBe(true);
    const events = await after.db.selectFrom('plinth_outbox').select(['type', 'payload']).execute();
    expect(events.map((e) => [e.type, after.storage.fromJson(e.payload)])).toEqual([['note.written', { count: 100 }]]);

    // The dead process's write lock is gone: new transactions commit.
    await after.transaction(async (tx) => {
      await tx.db.insertInto('notes').values({ id: 'after-crash', body: 'new' }).execute();
      await tx.emit({ type: 'note.written', payload: { count: 1 } });
    });
    expect(await after.db.selectFrom('notes').select('id').where('id', '=', 'after-crash').execute()).toHaveLength(1);
  });
});
