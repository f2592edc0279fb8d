import type { Kysely } from 'kysely';
import type { FullTextSearch } from '../storage/full-text.js';
import type { ColumnTypes, DialectName } from '../storage/storage.js';

/** What a migration may know about the database it runs on. */
export interface MigrationContext {
  dialect: DialectName;
  types: ColumnTypes;
  /** Builds full-text indexes (FTS5 on SQLite, `tsvector` on PostgreSQL). */
  fullText: FullTextSearch;
}

/**
 * One reversible schema step. Names are ordered within a module
 * (`0001-create-users`, `0002-...`); `up` and `down` run inside the migration
 * transaction, so a failing step changes nothing.
 */
export interface Migration {
  name: string;
  up(db: Kysely<any>, ctx: MigrationContext): Promise<void>;
  down(db: Kysely<any>, ctx: MigrationContext): Promise<void>;
}
