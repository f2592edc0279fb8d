import type { Migration } from '../../migrations/migration.js';

export const accessMigrations: Migration[] = [
  {
    name: '0001-create-roles',
    async up(db, { types }) {
      await db.schema
        .createTable('roles')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('description', 'text')
        .addColumn('builtin', types.boolean, (c) => c.notNull().defaultTo(false as never))
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('role_permissions')
        .addColumn('role', 'text', (c) => c.notNull().references('roles.name').onDelete('cascade'))
        .addColumn('permission', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('role_permissions_pk', ['role', 'permission'])
        .execute();
      await db.schema
        .createTable('user_roles')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull().references('roles.name').onDelete('cascade'))
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('user_roles_pk', ['user_id', 'role'])
        .execute();
      await db.schema.createIndex('user_roles_role_idx').on('user_roles').columns(['role']).execute();
    },
    async down(db) {
      await db.schema.dropTable('user_roles').execute();
      await db.schema.dropTable('role_permissions').execute();
      await db.schema.dropTable('roles').execute();
    },
  },
  {
    name: '0002-create-organizations',
    async up(db, { types }) {
      await db.schema
        .createTable('organizations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('slug', 'text', (c) => c.notNull().unique())
        .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('memberships')
        .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull()) // owner | admin | member
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('memberships_pk', ['org_id', 'user_id'])
        .execute();
      await db.schema.createIndex('memberships_user_idx').on('memberships').columns(['user_id']).execute();
    },
    async down(db) {
      await db.schema.dropTable('memberships').execute();
      await db.schema.dropTable('organizations').execute();
    },
  },
  {
    name: '0003-seed-builtin-roles',
    // Built-in roles' permissions are not stored: they come from the loaded modules' declarations.
    async up(db) {
      const createdAt = new Date().toISOString();
      await db
        .insertInto('roles')
        .values([
          { name: 'admin', description: 'Everything, everywhere', builtin: true, created_at: createdAt },
          { name: 'staff', description: 'Support and operations: reads most things, changes what modules grant it', builtin: true, created_at: createdAt },
          { name: 'customer', description: 'A signed-up user: their own things', builtin: true, created_at: createdAt },
        ])
        .execute();
    },
    async down(db) {
      await db.deleteFrom('roles').where('name', 'in', ['admin', 'staff', 'customer']).execute();
    },
  },
  {
    name: '0004-add-role-version',
    // Optimistic concurrency for PUT /v1/roles/:name (If-Match / version).
    async up(db) {
      await db.schema.alterTable('roles').addColumn('version', 'integer', (c) => c.notNull().defaultTo(1)).execute();
    },
    async down(db) {
      await db.schema.alterTable('roles').dropColumn('version').execute();
    },
  },
];
