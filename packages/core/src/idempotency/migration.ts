import type { Migration } from '../migrations/migration.js';

export const IDEMPOTENCY_TABLE = 'plinth_idempotency_keys';

/**
 * One row per `(scope, key)`: the unique constraint, not a cache, is what makes
 * a key single-use across processes. `lease` changes on every take-over, so a
 * request that lost its key (its lock expired) cannot write over the new holder.
 */
export const idempotencyMigration: Migration = {
  name: '0002-create-idempotency-keys',
  async up(db, { types }) {
    await db.schema
      .createTable(IDEMPOTENCY_TABLE)
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('scope', 'text', (c) => c.notNull()) // who: user:<id>, api_key:<id>, anon:<mac of the request>
      .addColumn('key', 'text', (c) => c.notNull()) // the Idempotency-Key header
      .addColumn('fingerprint', 'text', (c) => c.notNull()) // HMAC of method, path and canonical body
      .addColumn('lease', 'text', (c) => c.notNull())
      .addColumn('locked_until', types.timestamp) // set while in flight
      .addColumn('status', 'integer') // null while in flight
      .addColumn('response', 'text') // secret box: { headers, body }
      .addColumn('created_at', types.timestamp, (c) => c.notNull())
      .addColumn('expires_at', types.timestamp, (c) => c.notNull())
      .addUniqueConstraint('plinth_idempotency_keys_scope_key', ['scope', 'key'])
      .execute();
    await db.schema.createIndex('plinth_idempotency_keys_expires_idx').on(IDEMPOTENCY_TABLE).column('expires_at').execute();
  },
  async down(db) {
    await db.schema.dropTable(IDEMPOTENCY_TABLE).execute();
  },
};
