import type { Migration } from '../../migrations/migration.js';

export const notificationsMigrations: Migration[] = [
  {
    name: '0001-create-notifications',
    async up(db, { types }) {
      // Staff edits of templates: one row per version; version 0 (the built-in text) lives in code.
      await db.schema
        .createTable('notification_templates')
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('subject', 'text')
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text')
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('notification_templates_pk', ['key', 'channel', 'version'])
        .execute();

      await db.schema
        .createTable('notification_preferences')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('category', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('enabled', types.boolean, (c) => c.notNull())
        .addColumn('updated_at', types.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('notification_preferences_pk', ['user_id', 'category', 'channel'])
        .execute();

      // Every message, any channel: delivery tracking, and the in-app inbox (channel in_app).
      await db.schema
        .createTable('notification_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('template_key', 'text', (c) => c.notNull())
        .addColumn('template_version', 'integer', (c) => c.notNull())
        .addColumn('category', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text', (c) => c.notNull())
        // In-app: the rendered title and text. Email and SMS: rendered at send time from the
        // variables, kept encrypted (a reset link is a credential).
        .addColumn('title', 'text')
        .addColumn('body', 'text')
        .addColumn('variables', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('provider', 'text')
        .addColumn('provider_message_id', 'text')
        .addColumn('error', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('dedupe_key', 'text', (c) => c.unique())
        .addColumn('read_at', types.timestamp)
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('updated_at', types.timestamp, (c) => c.notNull())
        .addColumn('sent_at', types.timestamp)
        .execute();
      await db.schema.createIndex('notification_deliveries_inbox_idx').on('notification_deliveries').columns(['user_id', 'channel', 'id']).execute();
      await db.schema.createIndex('notification_deliveries_status_idx').on('notification_deliveries').columns(['status', 'id']).execute();
      await db.schema.createIndex('notification_deliveries_provider_idx').on('notification_deliveries').columns(['provider', 'provider_message_id']).execute();
    },
    async down(db) {
      await db.schema.dropTable('notification_deliveries').execute();
      await db.schema.dropTable('notification_preferences').execute();
      await db.schema.dropTable('notification_templates').execute();
    },
  },
];
