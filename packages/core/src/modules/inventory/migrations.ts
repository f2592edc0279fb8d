import { sql } from 'kysely';
import type { Migration } from '../../migrations/migration.js';

export const inventoryMigrations: Migration[] = [
  {
    name: '0001-create-inventory',
    async up(db, { types }) {
      // One row per SKU that ever had stock; a SKU without a row has none.
      // Invariant: 0 <= reserved <= on_hand, kept by conditional updates (never read-modify-write).
      await db.schema
        .createTable('inventory_items')
        .addColumn('sku', 'text', (c) => c.primaryKey().references('product_skus.sku'))
        .addColumn('on_hand', 'bigint', (c) => c.notNull())
        .addColumn('reserved', 'bigint', (c) => c.notNull())
        .addColumn('low_stock_threshold', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', types.timestamp, (c) => c.notNull())
        .addCheckConstraint('inventory_items_reserved_check', sql`reserved >= 0 and on_hand - reserved >= 0`)
        .execute();

      await db.schema
        .createTable('inventory_adjustments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('sku', 'text', (c) => c.notNull().references('product_skus.sku'))
        .addColumn('delta', 'bigint', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('actor_id', 'text')
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('inventory_adjustments_sku_idx').on('inventory_adjustments').columns(['sku', 'id']).execute();

      // What a reference (an order) holds: taken at order time, then committed (paid) or released.
      await db.schema
        .createTable('inventory_reservations')
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('sku', 'text', (c) => c.notNull().references('product_skus.sku'))
        .addColumn('quantity', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('expires_at', types.timestamp)
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('updated_at', types.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('inventory_reservations_pk', ['reference', 'sku'])
        .execute();
      await db.schema.createIndex('inventory_reservations_status_idx').on('inventory_reservations').columns(['status', 'expires_at']).execute();
    },
    async down(db) {
      await db.schema.dropTable('inventory_reservations').execute();
      await db.schema.dropTable('inventory_adjustments').execute();
      await db.schema.dropTable('inventory_items').execute();
    },
  },
];
