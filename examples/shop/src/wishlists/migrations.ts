import type { Migration } from '@plinth/core';

/** Forward-only in production, reversible for development; the same SQL on SQLite and PostgreSQL. */
export const wishlistMigrations: Migration[] = [
  {
    name: '0001-create-wishlists',
    async up(db, { types }) {
      await db.schema
        .createTable('wishlist_items')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('sku', 'text', (c) => c.notNull().references('product_skus.sku'))
        .addColumn('note', 'text')
        .addColumn('available', 'bigint', (c) => c.notNull())
        .addColumn('notified_at', types.timestamp)
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addUniqueConstraint('wishlist_items_user_sku_key', ['user_id', 'sku'])
        .execute();
      // The back-in-stock job looks up waiting wishes by SKU.
      await db.schema.createIndex('wishlist_items_sku_idx').on('wishlist_items').columns(['sku', 'notified_at']).execute();

      await db.schema
        .createTable('wishlist_notices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        // One notice per wish: the unique key makes a re-run of the job harmless.
        .addColumn('wish_id', 'text', (c) => c.notNull().unique())
        .addColumn('sku', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('wishlist_notices_user_idx').on('wishlist_notices').columns(['user_id', 'id']).execute();
    },
    async down(db) {
      await db.schema.dropTable('wishlist_notices').execute();
      await db.schema.dropTable('wishlist_items').execute();
    },
  },
];
