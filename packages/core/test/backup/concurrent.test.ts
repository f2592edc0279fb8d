/** Backups taken while four writers insert: consistent snapshots, restored whole, writers never blocked. */
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createBackup, listBackups, restoreBackup, type Plinth } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { notesModule, tempStore, writeNote } from './support.js';

async function ids(plinth: Plinth, table: string, column = 'id'): Promise<Set<string>> {
  return new Set((await plinth.db.selectFrom(table).select(column).execute()).map((r) => String(r[column])));
}

describe.each(dialects)('backup under write load on %s', (dialect) => {
  const h = useHarness();

  for (const format of ['logical', 'native'] as const) {
    it(`takes a consistent ${format} backup while 4 writers insert, and restores every row committed before it`, async () => {
      const source = await h.database(dialect);
      const plinth = h.plinth(source.url, { modules: [notesModule()] });
      await plinth.start();
      // Enough rows that the backup takes a while.
      for (let batch = 0; batch < 20; batch++) {
        await plinth.transaction(async (tx) => {
          for (let i = 0; i < 250; i++) {
            const id = plinth.ids.next();
            await tx.db.insertInto('notes').values({ id, writer: 0, seq: batch * 250 + i, body: 'x'.repeat(200), meta: plinth.storage.toJson({ i }), created_at: new Date().toISOString() }).execute();
          }
        });
      }

      const committed: { id: string; at: number }[] = [];
      let running = true;
      const writers = [1, 2, 3, 4].map(async (writer) => {
        for (let seq = 0; running; seq++) {
          const id = await writeNote(plinth, writer, seq);
          committed.push({ id, at: performance.now() });
          await new Promise((resolve) => setImmediate(resolve));
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const { store } = tempStore(h);
      const before = committed.length;
      const startedAt = performance.now();
      const info = await createBackup(plinth, { store, format });
      const finishedAt = performance.now();
      const during = committed.filter((c) => c.at > startedAt && c.at < finishedAt).length;
      await new Promise((resolve) => setTimeout(resolve, 50));
      running = false;
      await Promise.all(writers);

      expect(before).toBeGreaterThan(0);
      // Native on PostgreSQL is a pg_dump archive when pg_dump is installed (it is on the test machines).
      expect([info.format, info.encoding]).toEqual(format === 'logical' ? ['logical', 'jsonl'] : ['native', dialect === 'sqlite' ? 'sqlite' : 'pg_dump']);
      // The writers kept committing while the backup ran.
      expect(during).toBeGreaterThan(0);
      expect((await listBackups(store)).map((b) => b.name)).toEqual([info.name]);

      const target = await h.database(dialect);
      const report = await restoreBackup({ databaseUrl: target.url, store, name: info.name, modules: [notesModule()], builtins: false });
      const restored = h.plinth(target.url, { modules: [notesModule()] });
      await restored.start();
      const notes = await ids(restored, 'notes');
      const events = await ids(restored, 'plinth_outbox', 'aggregate_id');
      expect(report.rows).toBe(info.rows);
      // Every note committed before the backup started is there...
      for (const c of committed) if (c.at < startedAt) expect(notes.has(c.id)).toBe(true);
      // ...none committed after it finished...
      for (const c of committed) if (c.at > finishedAt) expect(notes.has(c.id)).toBe(false);
      // ...and no transaction is torn: each writer's note came with its event.
      const seeded = (await restored.db.selectFrom('notes').select('id').where('writer', '=', 0).execute()).length;
      expect(seeded).toBe(5000);
      expect(notes.size - seeded).toBe(events.size);
      for (const id of events) expect(notes.has(id)).toBe(true);

      if (dialect === 'sqlite') {
        await restored.close();
        const db = new BetterSqlite3(target.url.replace(/^sqlite:/, ''), { readonly: true });
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(db.pragma('foreign_key_check')).toEqual([]);
        db.close();
      }
    });
  }
});
