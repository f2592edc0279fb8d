import type { Kysely } from 'kysely';
import type { ColumnTypes, DialectName } from '../storage/storage.js';

/** What a migration may know about the database it runs on. */
export interface MigrationContext {
  dialect: DialectName;
  types: ColumnTypes;
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
