import { sql } from 'kysely';
import type { Migration } from '../../migrations/migration.js';

/** Identity tables. Secrets are stored hashed (tokens, codes, passwords) or encrypted (TOTP secrets, signing keys). */
export const identityMigrations: Migration[] = [
  {
    name: '0001-create-users',
    async up(db, { types }) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull()) // as typed, domain lower-cased
        .addColumn('email_key', 'text', (c) => c.notNull().unique()) // fully lower-cased: one account per mailbox
        .addColumn('name', 'text')
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('active')) // active | disabled | deleted
        .addColumn('email_verified_at', types.timestamp)
        .addColumn('mfa_enabled', types.boolean, (c) => c.notNull().defaultTo(false as never))
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('updated_at', types.timestamp, (c) => c.notNull())
        .addColumn('deleted_at', types.timestamp)
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema
        .createTable('user_passwords')
        .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('updated_at', types.timestamp, (c) => c.notNull())
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('user_passwords').execute();
      await db.schema.dropTable('users').execute();
    },
  },
  {
    name: '0002-create-sessions',
    async up(db, { types }) {
      // A session is one refresh-token family.
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('user_agent', 'text')
        .addColumn('ip', 'text')
        .addColumn('auth_method', 'text', (c) => c.notNull()) // password | mfa | oidc:<provider>
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('last_used_at', types.timestamp, (c) => c.notNull())
        .addColumn('expires_at', types.timestamp, (c) => c.notNull())
        .addColumn('revoked_at', types.timestamp)
        .addColumn('revoked_reason', 'text')
        .execute();
      await db.schema.createIndex('sessions_user_idx').on('sessions').columns(['user_id', 'id']).execute();
      await db.schema
        .createTable('refresh_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('expires_at', types.timestamp, (c) => c.notNull())
        .addColumn('rotated_at', types.timestamp) // set when a newer token replaced it
        .execute();
      await db.schema.createIndex('refresh_tokens_session_idx').on('refresh_tokens').columns(['session_id']).execute();
    },
    async down(db) {
      await db.schema.dropTable('refresh_tokens').execute();
      await db.schema.dropTable('sessions').execute();
    },
  },
  {
    name: '0003-create-signing-keys',
    async up(db, { types }) {
      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull()) // encrypted with the secret box
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('retired_at', types.timestamp) // no longer signs; verifies until retired_at + access-token TTL
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('signing_keys').execute();
    },
  },
  {
    name: '0004-create-email-tokens',
    async up(db, { types }) {
      await db.schema
        .createTable('email_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('purpose', 'text', (c) => c.notNull()) // verify_email | password_reset | change_email
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('expires_at', types.timestamp, (c) => c.notNull())
        .addColumn('used_at', types.timestamp)
        .execute();
      await db.schema.createIndex('email_tokens_user_idx').on('email_tokens').columns(['user_id', 'purpose']).execute();
    },
    async down(db) {
      await db.schema.dropTable('email_tokens').execute();
    },
  },
  {
    name: '0005-create-mfa',
    async up(db, { types }) {
      await db.schema
        .createTable('totp_credentials')
        .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
        .addColumn('secret', 'text', (c) => c.notNull()) // encrypted with the secret box
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('confirmed_at', types.timestamp)
        .addColumn('last_step', 'integer') // last accepted RFC 6238 time step: only later steps are accepted
        .execute();
      await db.schema
        .createTable('recovery_codes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('used_at', types.timestamp)
        .execute();
      await db.schema.createIndex('recovery_codes_user_idx').on('recovery_codes').columns(['user_id']).execute();
      // The second step of an MFA sign-in: an opaque, short-lived, single-use token.
      await db.schema
        .createTable('mfa_challenges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('expires_at', types.timestamp, (c) => c.notNull())
        .addColumn('used_at', types.timestamp)
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('mfa_challenges').execute();
      await db.schema.dropTable('recovery_codes').execute();
      await db.schema.dropTable('totp_credentials').execute();
    },
  },
  {
    name: '0006-create-api-keys',
    async up(db, { types }) {
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull()) // shown in lists: plk_ab12cd34
        .addColumn('key_hash', 'text', (c) => c.notNull().unique()) // SHA-256 of the whole key
        .addColumn('scopes', types.json, (c) => c.notNull())
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('expires_at', types.timestamp)
        .addColumn('last_used_at', types.timestamp)
        .addColumn('revoked_at', types.timestamp)
        .execute();
      await db.schema.createIndex('api_keys_user_idx').on('api_keys').columns(['user_id']).execute();
    },
    async down(db) {
      await db.schema.dropTable('api_keys').execute();
    },
  },
  {
    name: '0007-create-auth-throttles',
    async up(db, { types }) {
      // Failed sign-ins per key (`account:<email>`, `ip:<address>`).
      await db.schema
        .createTable('auth_throttles')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('window_started_at', types.timestamp, (c) => c.notNull())
        .addColumn('locked_until', types.timestamp)
        .addColumn('lockouts', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('auth_throttles').execute();
    },
  },
  {
    name: '0008-create-oidc',
    async up(db, { types }) {
      await db.schema
        .createTable('oidc_identities')
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('email', 'text')
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('oidc_identities_pk', ['provider', 'subject'])
        .execute();
      await db.schema
        .createTable('oidc_states')
        .addColumn('state_hash', 'text', (c) => c.primaryKey())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('code_verifier', 'text', (c) => c.notNull()) // encrypted with the secret box
        .addColumn('redirect_to', 'text')
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('expires_at', types.timestamp, (c) => c.notNull())
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('oidc_states').execute();
      await db.schema.dropTable('oidc_identities').execute();
    },
  },
  {
    // A session keeps every token it rotated; a refresh only touches its live one.
    // Without this, each rotation scanned the session's whole token history.
    name: '0009-index-live-refresh-tokens',
    async up(db) {
      await db.schema.createIndex('refresh_tokens_live_idx').on('refresh_tokens').column('session_id').where(sql.ref('rotated_at'), 'is', null).execute();
    },
    async down(db) {
      await db.schema.dropIndex('refresh_tokens_live_idx').execute();
    },
  },
];
