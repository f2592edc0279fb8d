import type { Migration } from '../../migrations/migration.js';

export const ordersMigrations: Migration[] = [
  {
    name: '0001-create-orders',
    async up(db, { types }) {
      await db.schema
        .createTable('orders')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.references('users.id'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('subtotal', 'bigint', (c) => c.notNull())
        .addColumn('discount', 'bigint', (c) => c.notNull())
        .addColumn('tax', 'bigint', (c) => c.notNull())
        .addColumn('total', 'bigint', (c) => c.notNull())
        .addColumn('refunded', 'bigint', (c) => c.notNull())
        .addColumn('payment_id', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('expires_at', types.timestamp)
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('updated_at', types.timestamp, (c) => c.notNull())
        .addColumn('paid_at', types.timestamp)
        .addColumn('fulfilled_at', types.timestamp)
        .addColumn('cancelled_at', types.timestamp)
        .execute();
      await db.schema.createIndex('orders_user_idx').on('orders').columns(['user_id', 'id']).execute();
      await db.schema.createIndex('orders_status_idx').on('orders').columns(['status', 'id']).execute();
      // The expiry sweep: unpaid orders by deadline.
      await db.schema.createIndex('orders_expiry_idx').on('orders').columns(['status', 'expires_at']).execute();

      await db.schema
        .createTable('order_items')
        .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
        .addColumn('line', 'integer', (c) => c.notNull())
        .addColumn('sku', 'text', (c) => c.notNull())
        .addColumn('product_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('quantity', 'integer', (c) => c.notNull())
        .addColumn('unit_price', 'bigint', (c) => c.notNull())
        .addColumn('line_total', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('order_items_pk', ['order_id', 'line'])
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('order_items').execute();
      await db.schema.dropTable('orders').execute();
    },
  },
  {
    name: '0002-orders-time-indexes',
    async up(db) {
      // The console's dashboard and date filters: orders placed, and orders paid, in a window.
      await db.schema.createIndex('orders_created_idx').on('orders').column('created_at').execute();
      await db.schema.createIndex('orders_paid_idx').on('orders').column('paid_at').execute();
    },
    async down(db) {
      await db.schema.dropIndex('orders_paid_idx').execute();
      await db.schema.dropIndex('orders_created_idx').execute();
    },
  },
];
