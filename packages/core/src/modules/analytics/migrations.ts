import type { Migration } from '../../migrations/migration.js';

export const ROLLUPS_TABLE = 'analytics_rollups';
export const APPLIED_TABLE = 'analytics_applied_events';
export const ACTIVE_USERS_TABLE = 'analytics_active_users';
export const STATE_TABLE = 'analytics_state';

export const analyticsMigrations: Migration[] = [
  {
    name: '0001-create-rollups',
    async up(db, { types }) {
      // One counter per grain (hour/day), local bucket, metric and dimension (currency, product, category, SKU or '').
      await db.schema
        .createTable(ROLLUPS_TABLE)
        .addColumn('grain', 'text', (c) => c.notNull())
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('dim', 'text', (c) => c.notNull())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('analytics_rollups_pk', ['grain', 'bucket', 'metric', 'dim'])
        .execute();
      await db.schema.createIndex('analytics_rollups_metric_idx').on(ROLLUPS_TABLE).columns(['grain', 'metric', 'bucket']).execute();
      // The watermark: an event id is recorded in the transaction that adds its numbers, so it is counted once.
      await db.schema
        .createTable(APPLIED_TABLE)
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('event_at', types.timestamp, (c) => c.notNull())
        .addColumn('applied_at', types.timestamp, (c) => c.notNull())
        .execute();
      // Who did something on a local day (DAU; WAU and MAU are distinct counts over 7 and 30 days of it).
      await db.schema
        .createTable(ACTIVE_USERS_TABLE)
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('analytics_active_users_pk', ['day', 'user_id'])
        .execute();
      await db.schema
        .createTable(STATE_TABLE)
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', types.timestamp, (c) => c.notNull())
        .execute();
    },
    async down(db) {
      await db.schema.dropTable(STATE_TABLE).execute();
      await db.schema.dropTable(ACTIVE_USERS_TABLE).execute();
      await db.schema.dropTable(APPLIED_TABLE).execute();
      await db.schema.dropTable(ROLLUPS_TABLE).execute();
    },
  },
];
