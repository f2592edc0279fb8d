import type { Kysely, SelectQueryBuilder } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

/** Column types that differ between dialects, for migrations. */
export interface ColumnTypes {
  /** JSON documents: `jsonb` on PostgreSQL, `text` on SQLite. */
  json: 'jsonb' | 'text';
  /** UTC timestamps: `timestamptz(3)` on PostgreSQL, RFC 3339 `text` on SQLite. Both read back as ISO strings. */
  timestamp: 'timestamptz(3)' | 'text';
  /** Auto-incrementing 64-bit key. */
  serialPrimaryKey: 'bigserial' | 'integer';
  /** Booleans: `boolean` on PostgreSQL, `integer` 0/1 on SQLite. */
  boolean: 'boolean' | 'integer';
}

export interface PoolStats {
  /** Open connections. */
  total: number;
  /** Open and idle connections. */
  idle: number;
  /** Callers waiting for a connection. */
  waiting: number;
}

/**
 * The storage seam. Everything that differs between SQLite and PostgreSQL is
 * named here, once; modules never test the dialect themselves.
 */
export interface Storage {
  readonly dialect: DialectName;
  // biome-ignore lint: the kernel's Kysely instance is untyped; modules bring their own table types.
  readonly db: Kysely<any>;
  readonly types: ColumnTypes;
  /** Encodes a value for a `types.json` column. */
  toJson(value: unknown): unknown;
  /** Decodes a `types.json` column. */
  fromJson<T = unknown>(raw: unknown): T;
  /** Decodes a `types.boolean` column. */
  fromBoolean(raw: unknown): boolean;
  /**
   * Locks the selected rows for a read-modify-write. On SQLite a Plinth
   * transaction already holds the database's write lock, so this is a no-op.
   */
  forUpdate<QB extends SelectQueryBuilder<any, any, any>>(qb: QB): QB;
  /** Row locks that skip rows locked by others (job and outbox claims). */
  forUpdateSkipLocked<QB extends SelectQueryBuilder<any, any, any>>(qb: QB): QB;
  /** Serializes migrations across processes; call first inside the migration transaction. */
  lockMigrations(trx: Kysely<any>): Promise<void>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  poolStats(): PoolStats;
  close(): Promise<void>;
}
