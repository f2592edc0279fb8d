import { sql } from 'kysely';
import type { Migration } from '../../migrations/migration.js';

export const paymentsMigrations: Migration[] = [
  {
    name: '0001-create-payments',
    async up(db, { types }) {
      await db.schema
        .createTable('payment_intents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('provider_ref', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('refunded', 'bigint', (c) => c.notNull())
        .addColumn('failure_code', 'text')
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('updated_at', types.timestamp, (c) => c.notNull())
        .addColumn('succeeded_at', types.timestamp)
        // Backs the refund rule up: never more refunded than captured.
        .addCheckConstraint('payment_intents_refunded_check', sql`refunded >= 0 and refunded <= amount`)
        .execute();
      await db.schema.createIndex('payment_intents_order_idx').on('payment_intents').columns(['order_id', 'id']).execute();
      // At most one open intent per order, whatever the concurrency.
      await db.schema
        .createIndex('payment_intents_open_uq')
        .on('payment_intents')
        .column('order_id')
        .unique()
        .where(sql.ref('status'), '=', 'requires_confirmation')
        .execute();

      await db.schema
        .createTable('payment_refunds')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('intent_id', 'text', (c) => c.notNull().references('payment_intents.id'))
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('restock', 'boolean', (c) => c.notNull())
        .addColumn('provider_ref', 'text')
        .addColumn('created_by', 'text')
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('payment_refunds_intent_idx').on('payment_refunds').columns(['intent_id', 'id']).execute();

      // Provider events applied: the primary key makes a replayed event a no-op, in the transaction of its effect.
      await db.schema
        .createTable('payment_events')
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('intent_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('received_at', types.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('payment_events_pk', ['provider', 'event_id'])
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('payment_events').execute();
      await db.schema.dropTable('payment_refunds').execute();
      await db.schema.dropTable('payment_intents').execute();
    },
  },
];
