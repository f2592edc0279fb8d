import type { CompiledQuery, Kysely, SelectQueryBuilder } from 'kysely';
import type { FullTextSearch } from './full-text.js';

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
  /** Data-modifying statements in WITH (PostgreSQL): two writes in one round trip. */
  readonly writableCtes: boolean;
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
  /** Full-text search: FTS5 on SQLite, `tsvector` on PostgreSQL. */
  readonly fullText: FullTextSearch;
  /** Serializes migrations across processes; call first inside the migration transaction. */
  lockMigrations(trx: Kysely<any>): Promise<void>;
  /**
   * Calls `onNotify` when a committed transaction signals `channel` (PostgreSQL
   * LISTEN/NOTIFY on a dedicated connection that reconnects by itself). On SQLite,
   * where one process owns the database, nothing arrives: callers poll as well.
   * Answers a function that stops listening.
   */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  /**
   * PostgreSQL: runs `text` as the named prepared statement `name` (parsed and
   * planned once per connection, then only bound and executed), outside any
   * transaction, errors mapped like every other statement. For hot fixed
   * statements (the job claim); `text` must be the same for a given `name`.
   * Undefined on SQLite.
   */
  prepared?<R>(name: string, text: string, values: readonly unknown[]): Promise<R[]>;
  /**
   * PostgreSQL: `text` with `values` as a query that runs as the named prepared statement `name`
   * on whichever connection executes it (`kernel.db`, so inside a transaction too): parsed and
   * planned once per connection. For hot fixed statements run in transactions; `text` must be
   * the same for a given `name`. Undefined on SQLite (run `CompiledQuery.raw(text, values)`).
   */
  preparedQuery?(name: string, text: string, values: readonly unknown[]): CompiledQuery;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  poolStats(): PoolStats;
  /**
   * A number that changes whenever the data may have changed: after every
   * statement other than a SELECT run through this instance (commits and
   * rollbacks included) and, when `seesOtherProcesses`, after a commit by any
   * other connection or process. Read caches compare it; cheap to call.
   */
  changeVersion(): number;
  /**
   * SQLite group commit (`synchronous: full`): how many writers waited for the
   * disk and how many WAL syncs served them. Undefined elsewhere.
   */
  groupCommitStats?(): { flushes: number; syncs: number } | undefined;
  /**
   * SQLite: runs `fn` as a transaction whose commit may be shared (see `TransactionBatcher`):
   * transactions waiting for the one connection run one after another in one `BEGIN
   * IMMEDIATE` … `COMMIT`, each in a savepoint of its own (a failure rolls back only its own
   * writes), and resolve after that commit. Undefined on PostgreSQL (one transaction per connection).
   */
  batchedTransaction?<T>(fn: (trx: Kysely<any>) => Promise<T>): Promise<T>;
  /** SQLite: how many transactions committed, in how many SQLite commits (see `batchedTransaction`). */
  transactionBatchStats?(): { transactions: number; commits: number };
  /** SQLite: `changeVersion` also sees other processes' commits. PostgreSQL: it cannot, so caches bound staleness by age. */
  readonly seesOtherProcesses: boolean;
  /**
   * PostgreSQL: a value that changes whenever any transaction may have written, by any process
   * (the WAL insert position, server-wide, so other databases' writes move it too: it errs only
   * towards "changed"). Read caches compare two readings to learn that nothing was committed
   * between them, and keep serving entries past their age limit. Undefined on SQLite, whose
   * `changeVersion` already sees everything.
   */
  commitWatermark?(): Promise<string>;
  close(): Promise<void>;
}
