import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { combinePostgresInserts, withErrorMapping } from '../error-mapping.js';
import type { Storage } from '../storage.js';
import { mapPostgresError } from './postgres-errors.js';
import { postgresFullText } from './postgres-full-text.js';
import { createPostgresListener } from './postgres-listener.js';

export interface PostgresStorageOptions {
  connectionString: string;
  poolMax: number;
}

const OID = { int8: 20, timestamptz: 1184, timestamp: 1114 } as const;

/**
 * Type parsers for this pool only: timestamps read back as RFC 3339 strings
 * (like SQLite), and 64-bit integers as numbers when they fit.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === OID.timestamptz || oid === OID.timestamp) {
      return (value: string) => {
        const date = new Date(oid === OID.timestamp ? `${value.replace(' ', 'T')}Z` : value);
        return Number.isNaN(date.getTime()) ? value : date.toISOString(); // 'infinity' stays as it is
      };
    }
    if (oid === OID.int8) {
      return (value: string) => {
        const n = Number(value);
        return Number.isSafeInteger(n) ? n : value;
      };
    }
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export function createPostgresStorage(options: PostgresStorageOptions): Storage {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolMax,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    types: types as pg.CustomTypesConfig,
  });
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => {});
  // `preparedQuery`: statement texts that run as named prepared statements, on every connection.
  const named = new Map<string, string>();
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    // Kysely sends `query(text, values)`: a registered text goes out as its named statement.
    (client as { query: unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
      const name = typeof config === 'string' ? named.get(config) : undefined;
      return name === undefined ? query(config, values, callback) : query({ name, text: config, values }, callback);
    };
  });
  const writes = { count: 0 };
  const db = new Kysely<any>({ dialect: withErrorMapping(new PostgresDialect({ pool }), mapPostgresError, writes, combinePostgresInserts) });
  let closed = false;

  return {
    dialect: 'postgres',
    db,
    types: { json: 'jsonb', timestamp: 'timestamptz(3)', serialPrimaryKey: 'bigserial', boolean: 'boolean' },
    writableCtes: true,
    toJson: (value) => JSON.stringify(value),
    // pg already parses json/jsonb columns; parsing again would break JSON string values ("hello").
    fromJson: <T>(raw: unknown) => raw as T,
    fromBoolean: (raw) => raw === true,
    forUpdate: (qb) => qb.forUpdate() as typeof qb,
    forUpdateSkipLocked: (qb) => qb.forUpdate().skipLocked() as typeof qb,
    fullText: postgresFullText,
    async lockMigrations(trx) {
      // Held until the migration transaction ends; advisory locks are per database.
      await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(trx);
    },
    async prepared<R>(name: string, text: string, values: readonly unknown[]): Promise<R[]> {
      try {
        const result = await pool.query({ name, text, values: values as unknown[] });
        return result.rows as R[];
      } catch (error) {
        throw mapPostgresError(error);
      } finally {
        writes.count++; // prepared statements are the hot writes (claims): count them for read caches
      }
    },
    preparedQuery(name, text, values) {
      const known = named.get(text);
      if (known !== name) {
        if (known !== undefined || [...named.values()].includes(name)) throw new Error(`The prepared statement "${name}" is already used for another text`);
        named.set(text, name);
      }
      return CompiledQuery.raw(text, values as unknown[]);
    },
    listen: (channel, onNotify) => createPostgresListener(options.connectionString, channel, onNotify),
    async ping() {
      await sql`select 1`.execute(db);
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    changeVersion: () => writes.count,
    seesOtherProcesses: false,
    async commitWatermark() {
      // The insert position, not the flushed one: an asynchronous commit is visible before its WAL is written.
      const result = await pool.query<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn');
      return result.rows[0]!.lsn;
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

/** A fixed 64-bit key for `pg_advisory_xact_lock` ("plinth" in ASCII). */
const MIGRATION_LOCK_KEY = 0x706c696e7468;
