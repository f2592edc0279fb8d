import type { Migration } from '../../migrations/migration.js';

export const AUDIT_TABLE = 'audit_events';

export const auditMigrations: Migration[] = [
  {
    name: '0001-create-audit-events',
    async up(db, { types }) {
      await db.schema
        .createTable(AUDIT_TABLE)
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('actor_type', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target_type', 'text')
        .addColumn('target_id', 'text')
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('request_id', 'text')
        .addColumn('data', types.json, (c) => c.notNull())
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_events_action_idx').on(AUDIT_TABLE).columns(['action', 'id']).execute();
      await db.schema.createIndex('audit_events_actor_idx').on(AUDIT_TABLE).columns(['actor_id', 'id']).execute();
      await db.schema.createIndex('audit_events_target_idx').on(AUDIT_TABLE).columns(['target_id', 'id']).execute();
    },
    async down(db) {
      await db.schema.dropTable(AUDIT_TABLE).execute();
    },
  },
];
