import { type CompiledQuery, Kysely, type QueryResult, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, sql, type Dialect } from 'kysely';
import { mayWrite, withErrorMapping } from '../error-mapping.js';
import type { Storage } from '../storage.js';
import { SqliteDriver, type SqliteDriverOptions } from './sqlite-driver.js';
import { mapSqliteError } from './sqlite-errors.js';
import { sqliteFullText } from './sqlite-full-text.js';
import { TransactionBatcher } from './transaction-batch.js';

export function createSqliteStorage(options: SqliteDriverOptions): Storage {
  const driver = new SqliteDriver(options);
  const dialect: Dialect = {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => driver,
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
  const writes = { count: 0 };
  const db = new Kysely<any>({ dialect: withErrorMapping(dialect, mapSqliteError, writes) });
  // A batched transaction's statements, run at once on the connection it holds: errors mapped and writes counted as above.
  const runHeld = <R>(query: CompiledQuery): QueryResult<R> => {
    try {
      return driver.executeHeld<R>(query);
    } catch (error) {
      throw mapSqliteError(error);
    } finally {
      if (mayWrite(query)) writes.count++;
    }
  };
  const batcher = new TransactionBatcher(db, runHeld);
  let closed = false;

  return {
    dialect: 'sqlite',
    db,
    types: { json: 'text', timestamp: 'text', serialPrimaryKey: 'integer', boolean: 'integer' },
    writableCtes: false,
    toJson: (value) => JSON.stringify(value),
    fromJson: <T>(raw: unknown) => (typeof raw === 'string' ? (JSON.parse(raw) as T) : (raw as T)),
    fromBoolean: (raw) => raw === 1 || raw === true || raw === '1',
    // BEGIN IMMEDIATE already holds the one write lock for the whole transaction.
    forUpdate: (qb) => qb,
    forUpdateSkipLocked: (qb) => qb,
    fullText: sqliteFullText,
    async lockMigrations(trx) {
      // The first statement writes, so the transaction takes the write lock now
      // (waiting up to busy_timeout) instead of failing later on upgrade.
      await sql`create table if not exists plinth_migration_lock (id integer primary key, locked_at text)`.execute(trx);
      await sql`insert into plinth_migration_lock (id, locked_at) values (1, ${new Date().toISOString()})
        on conflict (id) do update set locked_at = excluded.locked_at`.execute(trx);
    },
    // One process holds the database: its own writers wake its workers directly.
    listen: async () => async () => {},
    async ping() {
      await sql`select 1`.execute(db);
    },
    poolStats: () => ({ total: closed ? 0 : 1, idle: closed ? 0 : 1, waiting: 0 }),
    // Both only grow, so their sum changes whenever either does.
    changeVersion: () => writes.count + driver.dataVersion(),
    seesOtherProcesses: true,
    groupCommitStats: () => driver.walSyncStats(),
    batchedTransaction: (fn) => batcher.run(fn),
    transactionBatchStats: () => ({ ...batcher.stats }),
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}
