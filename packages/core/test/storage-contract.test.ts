/**
 * The storage contract: one suite, run unchanged against every dialect. What
 * passes here is what modules may rely on, whichever database they run on.
 */
import type { Kysely } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createManualClock, defineModule, kernelModule, type Migration, type Plinth, PlinthError } from '../src/index.js';
import { dialects } from '../src/testing/index.js';
import { useHarness } from './support/harness.js';
import { ensureBuiltCore, exited, spawnNode } from './support/node-child.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** An application module, written the way a user would write one. */
const inventory = defineModule({
  name: 'inventory',
  migrations: [
    {
      name: '0001-create-warehouses',
      async up(db) {
        await db.schema
          .createTable('warehouses')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('warehouses').execute();
      },
    },
    {
      name: '0002-create-items',
      async up(db) {
        await db.schema
          .createTable('items')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('warehouse_id', 'text', (c) => c.notNull().references('warehouses.id'))
          .addColumn('sku', 'text', (c) => c.notNull().unique())
          .addColumn('quantity', 'integer', (c) => c.notNull())
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('items').execute();
      },
    },
    {
      name: '0003-create-counters',
      async up(db) {
        await db.schema
          .createTable('counters')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('value', 'integer', (c) => c.notNull())
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('counters').execute();
      },
    },
    {
      name: '0004-create-documents',
      async up(db, { types }) {
        await db.schema
          .createTable('documents')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('body', types.json)
          .addColumn('at', types.timestamp)
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('documents').execute();
      },
    },
  ],
  events: {
    'warehouse.opened': z.object({ name: z.string().min(1) }),
  },
  services: (kernel) => ({
    /** Opens a warehouse and records the event; joins the caller's transaction if there is one. */
    openWarehouse: (id: string, name: string) =>
      kernel.transaction(async (tx) => {
        await tx.db.insertInto('warehouses').values({ id, name }).execute();
        return tx.emit({ type: 'warehouse.opened', aggregate: { type: 'warehouse', id }, payload: { name } });
      }),
  }),
});

type InventoryServices = ReturnType<NonNullable<typeof inventory.services>>;

/** The kernel's own migrations (outbox, idempotency keys, jobs), whatever they are. */
const kernelIds = (kernelModule.migrations ?? []).map((m) => `kernel/${m.name}`);
const inventoryIds = inventory.migrations.map((m) => `inventory/${m.name}`);
const allIds = [...kernelIds, ...inventoryIds];

async function tableNames(plinth: Plinth): Promise<string[]> {
  return (await plinth.db.introspection.getTables()).map((t) => t.name);
}

async function count(db: Kysely<any>, table: string): Promise<number> {
  const row = await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

async function recordedMigrations(plinth: Plinth): Promise<string[]> {
  const rows = await plinth.db.selectFrom('plinth_migrations').select('id').orderBy('seq').execute();
  return rows.map((r) => r.id as string);
}

beforeAll(async () => {
  // Child processes import the built package; build it first if the sources are newer.
  await ensureBuiltCore();
}, 90_000);

describe.each(dialects)('storage contract on %s', (dialect) => {
  const h = useHarness();

  /** A fresh database with the inventory module migrated. */
  async function migrated(options: { clock?: ReturnType<typeof createManualClock> } = {}) {
    const db = await h.database(dialect);
    const plinth = h.plinth(db.url, { modules: [inventory], ...options });
    await plinth.start();
    return plinth;
  }

  describe('migrations', () => {
    it('applies, reverts and re-applies migrations, keeping plinth_migrations in step with status()', async () => {
      const clock = createManualClock(Date.UTC(2026, 2, 4, 5, 6, 7, 89));
      const db = await h.database(dialect);
      const plinth = h.plinth(db.url, { modules: [inventory], clock });

      expect((await plinth.migrator.pending()).map((s) => s.id)).toEqual(allIds);
      expect(await plinth.migrator.up()).toEqual({ ids: allIds });
      expect(await tableNames(plinth)).toEqual(expect.arrayContaining(['plinth_outbox', 'warehouses', 'items', 'counters', 'documents']));
      const status = await plinth.migrator.status();
      expect(status.map((s) => [s.id, s.appliedAt])).toEqual(allIds.map((id) => [id, '2026-03-04T05:06:07.089Z']));
      expect(await recordedMigrations(plinth)).toEqual(allIds);

      expect(await plinth.migrator.down(2)).toEqual({ ids: ['inventory/0004-create-documents', 'inventory/0003-create-counters'] });
      let tables = await tableNames(plinth);
      expect(tables).not.toContain('documents');
      expect(tables).not.toContain('counters');
      expect(tables).toEqual(expect.arrayContaining(['warehouses', 'items']));
      expect((await plinth.migrator.pending()).map((s) => s.id)).toEqual(['inventory/0003-create-counters', 'inventory/0004-create-documents']);
      expect(await recordedMigrations(plinth)).toEqual(allIds.slice(0, -2));

      expect(await plinth.migrator.down()).toEqual({ ids: ['inventory/0002-create-items'] });
      tables = await tableNames(plinth);
      expect(tables).not.toContain('items');
      expect(tables).toContain('warehouses');

      clock.advance(60_000);
      expect(await plinth.migrator.up()).toEqual({ ids: inventoryIds.slice(1) });
      expect(await tableNames(plinth)).toEqual(expect.arrayContaining(['warehouses', 'items', 'counters', 'documents']));
      const again = await plinth.migrator.status();
      expect(again.every((s) => s.appliedAt !== null)).toBe(true);
      expect(again.find((s) => s.id === 'inventory/0002-create-items')?.appliedAt).toBe('2026-03-04T05:07:07.089Z');
      expect(await recordedMigrations(plinth)).toEqual(again.map((s) => s.id));
    });

    it('treats a second up() as a no-op', async () => {
      const plinth = await migrated();
      const before = await plinth.migrator.status();
      expect(await plinth.migrator.up()).toEqual({ ids: [] });
      expect(await plinth.migrator.status()).toEqual(before);
      expect(await count(plinth.db, 'plinth_migrations')).toBe(allIds.length);
    });

    it('lets two instances migrate one database at once, applying each migration exactly once', async () => {
      const db = await h.database(dialect);
      const a = h.plinth(db.url, { modules: [inventory] });
      const b = h.plinth(db.url, { modules: [inventory] });
      const [ra, rb] = await Promise.all([a.migrator.up(), b.migrator.up()]);
      expect([...ra.ids, ...rb.ids].sort()).toEqual([...allIds].sort());
      expect(ra.ids.filter((id) => rb.ids.includes(id))).toEqual([]);
      expect(await recordedMigrations(a)).toEqual(allIds);
      expect(await b.migrator.pending()).toEqual([]);
    });

    it('lets two processes migrate one database at once, applying each migration exactly once', async () => {
      const db = await h.database(dialect);
      // The first migration holds the migration lock for a while, so the
      // other process has to wait for it rather than finish first.
      const child = `
        const { createPlinth, defineModule } = await import(process.env.PLINTH_CORE_URL);
        const table = (name, pause) => ({
          name: '0001-create-' + name,
          async up(db) {
            await db.schema.createTable(name).addColumn('id', 'text', (c) => c.primaryKey()).execute();
            await new Promise((r) => setTimeout(r, pause));
          },
          async down(db) { await db.schema.dropTable(name).execute(); },
        });
        const fleet = defineModule({ name: 'fleet', migrations: [table('ships', 300), { ...table('ports', 0), name: '0002-create-ports' }] });
        const plinth = createPlinth({ databaseUrl: process.env.DB_URL, processEnv: false, logLevel: 'silent', builtins: false, modules: [fleet] });
        try {
          console.log(JSON.stringify(await plinth.migrator.up()));
        } finally {
          await plinth.close();
        }
      `;
      const runs = await Promise.all(
        [1, 2].map(() => {
          const worker = spawnNode(child, { DB_URL: db.url });
          h.defer(() => worker.kill('SIGKILL'));
          return exited(worker);
        }),
      );
      for (const run of runs) expect(run, run.stderr).toMatchObject({ code: 0 });
      const applied = runs.flatMap((run) => (JSON.parse(run.stdout) as { ids: string[] }).ids);
      const expected = [...kernelIds, 'fleet/0001-create-ships', 'fleet/0002-create-ports'];
      expect(applied.sort()).toEqual([...expected].sort());

      const plinth = h.plinth(db.url);
      expect(await recordedMigrations(plinth)).toEqual(expected);
      expect(await tableNames(plinth)).toEqual(expect.arrayContaining(['ships', 'ports']));
    });

    it('refuses to revert a recorded migration that no loaded module declares', async () => {
      const db = await h.database(dialect);
      const withInventory = h.plinth(db.url, { modules: [inventory] });
      await withInventory.start();
      await withInventory.close();

      const kernelOnly = h.plinth(db.url);
      const status = await kernelOnly.migrator.status();
      expect(status.filter((s) => s.unknown).map((s) => s.id)).toEqual(inventoryIds);
      const error = await kernelOnly.migrator.down().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PlinthError);
      expect(error).toMatchObject({ code: 'migrations.unknown' });
      expect((error as Error).message).toContain('inventory/0004-create-documents');
      expect(await recordedMigrations(kernelOnly)).toEqual(allIds);
      expect(await tableNames(kernelOnly)).toContain('documents');
    });

    it('a failing migration changes nothing, and the pending ones before it in the same run are not applied either', async () => {
      const db = await h.database(dialect);
      const kernelOnly = h.plinth(db.url);
      await kernelOnly.start();

      const explode: Migration = {
        name: '0002-explode',
        async up(trx) {
          await trx.schema.createTable('second_table').addColumn('id', 'text').execute();
          throw new Error('kaboom');
        },
        async down() {},
      };
      const broken = defineModule({
        name: 'broken',
        migrations: [
          {
            name: '0001-create-first',
            async up(trx) {
              await trx.schema.createTable('first_table').addColumn('id', 'text').execute();
            },
            async down(trx) {
              await trx.schema.dropTable('first_table').execute();
            },
          },
          explode,
        ],
      });
      const plinth = h.plinth(db.url, { modules: [broken] });
      const error = await plinth.migrator.up().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PlinthError);
      expect(error).toMatchObject({ code: 'migrations.failed', status: 500 });
      expect((error as Error).message).toContain('broken/0002-explode');
      expect((error as Error).message).toContain('kaboom');

      const tables = await tableNames(plinth);
      expect(tables).not.toContain('first_table');
      expect(tables).not.toContain('second_table');
      expect(await recordedMigrations(plinth)).toEqual(kernelIds);
      expect((await plinth.migrator.pending()).map((s) => s.id)).toEqual(['broken/0001-create-first', 'broken/0002-explode']);
      await expect(plinth.start()).rejects.toMatchObject({ code: 'migrations.failed' });
    });

    it('rolls back the whole first run when a migration fails on an empty database', async () => {
      const db = await h.database(dialect);
      const broken = defineModule({
        name: 'broken',
        migrations: [
          {
            name: '0001-fail',
            async up() {
              throw new Error('no');
            },
            async down() {},
          },
        ],
      });
      const plinth = h.plinth(db.url, { modules: [broken] });
      await expect(plinth.migrator.up()).rejects.toMatchObject({ code: 'migrations.failed' });
      const tables = await tableNames(plinth);
      expect(tables).not.toContain('plinth_outbox');
      expect((await plinth.migrator.status()).every((s) => s.appliedAt === null)).toBe(true);
    });
  });

  describe('transactions and the outbox', () => {
    it('rolls back outbox events with the data', async () => {
      const plinth = await migrated();
      await expect(
        plinth.transaction(async (tx) => {
          await tx.db.insertInto('warehouses').values({ id: 'w1', name: 'North' }).execute();
          await tx.emit({ type: 'warehouse.opened', payload: { name: 'North' } });
          await plinth.emit({ type: 'warehouse.opened', payload: { name: 'North again' } });
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await count(plinth.db, 'warehouses')).toBe(0);
      expect(await count(plinth.db, 'plinth_outbox')).toBe(0);
    });

    it('commits outbox events with the data', async () => {
      const clock = createManualClock(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
      const plinth = await migrated({ clock });
      const event = await plinth.transaction(async (tx) => {
        await tx.db.insertInto('warehouses').values({ id: 'w1', name: 'North' }).execute();
        return tx.emit({
          type: 'warehouse.opened',
          aggregate: { type: 'warehouse', id: 'w1' },
          payload: { name: 'North', undeclared: 'is stripped by the schema' },
        });
      });
      expect(event).toMatchObject({ type: 'warehouse.opened', aggregateType: 'warehouse', aggregateId: 'w1', createdAt: '2026-01-02T03:04:05.678Z' });
      expect(event.id).toMatch(UUID_V7);

      expect(await plinth.db.selectFrom('warehouses').selectAll().execute()).toEqual([{ id: 'w1', name: 'North' }]);
      const rows = await plinth.db.selectFrom('plinth_outbox').selectAll().execute();
      expect(rows).toHaveLength(1);
      const row = rows[0]!;
      expect(row).toMatchObject({ id: event.id, type: 'warehouse.opened', aggregate_type: 'warehouse', aggregate_id: 'w1', created_at: '2026-01-02T03:04:05.678Z' });
      expect(plinth.storage.fromJson(row.payload)).toEqual({ name: 'North' });
    });

    it('joins nested transactions to the outer one, so inner rows roll back with it', async () => {
      const plinth = await migrated();
      const inventoryService = plinth.service<InventoryServices>('inventory');
      await expect(
        plinth.transaction(async (outer) => {
          await inventoryService.openWarehouse('w1', 'North');
          await plinth.transaction(async (inner) => {
            expect(inner).toBe(outer);
            await inner.db.insertInto('warehouses').values({ id: 'w2', name: 'South' }).execute();
          });
          expect(await count(outer.db, 'warehouses')).toBe(2);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await count(plinth.db, 'warehouses')).toBe(0);
      expect(await count(plinth.db, 'plinth_outbox')).toBe(0);

      await plinth.transaction(async () => {
        await inventoryService.openWarehouse('w3', 'East');
        await inventoryService.openWarehouse('w4', 'West');
      });
      expect(await count(plinth.db, 'warehouses')).toBe(2);
      expect(await count(plinth.db, 'plinth_outbox')).toBe(2);
    });

    it('makes plinth.db the current transaction inside transaction(), so it neither escapes it nor waits for it', async () => {
      const plinth = await migrated();
      await expect(
        plinth.transaction(async () => {
          await plinth.db.insertInto('warehouses').values({ id: 'w1', name: 'North' }).execute();
          expect(await count(plinth.db, 'warehouses')).toBe(1);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await count(plinth.db, 'warehouses')).toBe(0);
      await plinth.transaction(() => plinth.db.insertInto('warehouses').values({ id: 'w2', name: 'South' }).execute());
      expect(await count(plinth.db, 'warehouses')).toBe(1);
    });

    it('rejects emit() outside a transaction', async () => {
      const plinth = await migrated();
      const error = await plinth.emit({ type: 'warehouse.opened', payload: { name: 'North' } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PlinthError);
      expect(error).toMatchObject({ code: 'outbox.outside_transaction' });
      expect(await count(plinth.db, 'plinth_outbox')).toBe(0);
    });

    it('rejects an undeclared event type and rolls the transaction back', async () => {
      const plinth = await migrated();
      const error = await plinth
        .transaction(async (tx) => {
          await tx.db.insertInto('warehouses').values({ id: 'w1', name: 'North' }).execute();
          await tx.emit({ type: 'warehouse.closed', payload: {} });
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PlinthError);
      expect(error).toMatchObject({ code: 'outbox.unknown_event' });
      expect(await count(plinth.db, 'warehouses')).toBe(0);
      expect(await count(plinth.db, 'plinth_outbox')).toBe(0);
    });

    it('rejects an invalid event payload and rolls the transaction back', async () => {
      const plinth = await migrated();
      const error = await plinth
        .transaction(async (tx) => {
          await tx.db.insertInto('warehouses').values({ id: 'w1', name: 'North' }).execute();
          await tx.emit({ type: 'warehouse.opened', payload: { name: 'ok' } });
          await plinth.emit({ type: 'warehouse.opened', payload: { name: 42 } });
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PlinthError);
      expect(error).toMatchObject({ code: 'outbox.invalid_event' });
      expect(await count(plinth.db, 'warehouses')).toBe(0);
      expect(await count(plinth.db, 'plinth_outbox')).toBe(0);
    });

    it('does not lose updates when 20 transactions read-modify-write one row at once', async () => {
      const plinth = await migrated();
      await plinth.db.insertInto('counters').values({ id: 'hits', value: 0 }).execute();
      await Promise.all(
        Array.from({ length: 20 }, () =>
          plinth.transaction(async (tx) => {
            const row = await plinth.storage
              .forUpdate(tx.db.selectFrom('counters').select('value').where('id', '=', 'hits'))
              .executeTakeFirstOrThrow();
            // Widen the window between read and write: without a lock, updates would be lost here.
            await new Promise((resolve) => setTimeout(resolve, 2));
            await tx.db.updateTable('counters').set({ value: Number(row.value) + 1 }).where('id', '=', 'hits').execute();
          }),
        ),
      );
      const final = await plinth.db.selectFrom('counters').select('value').where('id', '=', 'hits').executeTakeFirstOrThrow();
      expect(Number(final.value)).toBe(20);
    });
  });

  describe('errors', () => {
    it('reports a unique violation as storage.conflict (409), inside and outside a transaction', async () => {
      const plinth = await migrated();
      await plinth.db.insertInto('warehouses').values({ id: 'w1', name: 'North' }).execute();

      const outside = await plinth.db.insertInto('warehouses').values({ id: 'w2', name: 'North' }).execute().catch((e: unknown) => e);
      expect(outside).toBeInstanceOf(PlinthError);
      expect(outside).toMatchObject({ code: 'storage.conflict', status: 409 });

      const samePrimaryKey = await plinth.db.insertInto('warehouses').values({ id: 'w1', name: 'Other' }).execute().catch((e: unknown) => e);
      expect(samePrimaryKey).toMatchObject({ code: 'storage.conflict', status: 409 });

      const inside = await plinth
        .transaction(async (tx) => {
          await tx.db.insertInto('warehouses').values({ id: 'w3', name: 'South' }).execute();
          await tx.db.insertInto('warehouses').values({ id: 'w4', name: 'North' }).execute();
        })
        .catch((e: unknown) => e);
      expect(inside).toBeInstanceOf(PlinthError);
      expect(inside).toMatchObject({ code: 'storage.conflict', status: 409 });

      // The failed transaction left nothing behind, and the connection is usable again.
      expect(await plinth.db.selectFrom('warehouses').select('id').orderBy('id').execute()).toEqual([{ id: 'w1' }]);
      await plinth.transaction((tx) => tx.db.insertInto('warehouses').values({ id: 'w5', name: 'West' }).execute());
      expect(await count(plinth.db, 'warehouses')).toBe(2);
    });

    it('reports a foreign-key violation as storage.foreign_key', async () => {
      const plinth = await migrated();
      const missingParent = await plinth.db
        .insertInto('items')
        .values({ id: 'i1', warehouse_id: 'nowhere', sku: 'SKU-1', quantity: 1 })
        .execute()
        .catch((e: unknown) => e);
      expect(missingParent).toBeInstanceOf(PlinthError);
      expect(missingParent).toMatchObject({ code: 'storage.foreign_key', status: 409 });
      expect(await count(plinth.db, 'items')).toBe(0);

      await plinth.db.insertInto('warehouses').values({ id: 'w1', name: 'North' }).execute();
      await plinth.db.insertInto('items').values({ id: 'i1', warehouse_id: 'w1', sku: 'SKU-1', quantity: 1 }).execute();
      const referenced = await plinth
        .transaction((tx) => tx.db.deleteFrom('warehouses').where('id', '=', 'w1').execute())
        .catch((e: unknown) => e);
      expect(referenced).toMatchObject({ code: 'storage.foreign_key' });
      expect(await count(plinth.db, 'warehouses')).toBe(1);
    });
  });

  describe('values', () => {
    it('round-trips JSON values through storage.fromJson', async () => {
      const plinth = await migrated();
      const values: unknown[] = [
        { name: 'North', nested: { list: [1, 2.5, { deep: null }], flag: true }, unicode: 'zß水🙂 "quoted" \\ back' },
        [1, 'two', false, null, { three: 3 }],
        'hello',
        '',
        42,
        -0.125,
        true,
        null,
        {},
        [],
      ];
      await plinth.db
        .insertInto('documents')
        .values(values.map((body, i) => ({ id: `d${String(i).padStart(2, '0')}`, body: plinth.storage.toJson(body) })))
        .execute();
      const rows = await plinth.db.selectFrom('documents').select(['id', 'body']).orderBy('id').execute();
      expect(rows.map((r) => plinth.storage.fromJson(r.body))).toEqual(values);
    });

    it('reads timestamps back as ISO strings', async () => {
      const plinth = await migrated();
      await plinth.db
        .insertInto('documents')
        .values([
          { id: 'from-string', at: '2026-03-04T05:06:07.089Z' },
          { id: 'from-date', at: new Date('2027-12-31T23:59:59.999Z') },
          { id: 'epoch', at: new Date(0).toISOString() },
        ])
        .execute();
      const rows = await plinth.db.selectFrom('documents').select(['id', 'at']).orderBy('at').execute();
      expect(rows).toEqual([
        { id: 'epoch', at: '1970-01-01T00:00:00.000Z' },
        { id: 'from-string', at: '2026-03-04T05:06:07.089Z' },
        { id: 'from-date', at: '2027-12-31T23:59:59.999Z' },
      ]);
      const later = await plinth.db.selectFrom('documents').select('id').where('at', '>', '2026-06-01T00:00:00.000Z').execute();
      expect(later).toEqual([{ id: 'from-date' }]);
    });
  });
});
