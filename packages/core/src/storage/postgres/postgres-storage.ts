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
  // What Kysely sends through a client: `query(text, values)`, and the transaction's own texts.
  pool.on('connect', (client) => {
    const send = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    let beginPending = false;
    (client as { query: unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
      if (typeof config !== 'string' || callback !== undefined) {
        if (beginPending) {
          beginPending = false;
          // Sent first (a client runs its queries in order); a submittable (a cursor) is answered as itself, not awaited.
          void send('begin').catch(() => {});
        }
        return send(config, values, callback);
      }
      const name = named.get(config);
      const parameters = (values ?? []) as unknown[];
      if (config === 'begin') {
        // A transaction's BEGIN waits for its first statement and goes out with it, in one round trip.
        // Kysely ends every transaction with `commit` or `rollback`, so the mark never outlives it.
        beginPending = true;
        return Promise.resolve(EMPTY_RESULT);
      }
      if (beginPending) {
        beginPending = false;
        // Nothing was sent: there is no transaction to end.
        if (config === 'commit' || config === 'rollback') return Promise.resolve(EMPTY_RESULT);
        // With it: an unnamed statement with parameters, or a named one this connection has parsed
        // (pg marks a name parsed on the first ParseComplete of its query, here BEGIN's).
        const parsed = (client as unknown as { connection: { parsedStatements: Record<string, string> } }).connection.parsedStatements;
        if (name === undefined ? parameters.length > 0 : parsed[name] === config) return afterBegin(send, { name, text: config, values: parameters });
        // On its own after BEGIN: a plain text (a savepoint), or a named statement's first use here.
        return send('begin').then(() => (name === undefined ? send(config, values) : send({ name, text: config, values: parameters })));
      }
      return name === undefined ? send(config, values) : send({ name, text: config, values: parameters });
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

/** What Kysely reads of an answer to `begin`, `commit` or `rollback`. */
const EMPTY_RESULT = { command: null, rowCount: null, rows: [], fields: [] };

/**
 * Runs `statement` (extended protocol: parameters, or a name already parsed on this connection) right after a BEGIN, both written
 * at once and answered together: `begin` is parsed, bound and executed unnamed ahead of the
 * statement's own messages, before its one Sync. The client sees one query with two results
 * (as for a multi-statement text) and answers the statement's. An error in either fails the
 * statement; the transaction is then open and failed, as after a failed first statement, and
 * the caller's rollback ends it.
 */
function afterBegin(send: (query: pg.Query) => unknown, statement: { name: string | undefined; text: string; values: unknown[] }): Promise<pg.QueryResult> {
  return new Promise((resolve, reject) => {
    const query = new pg.Query({
      text: statement.text,
      values: statement.values,
      ...(statement.name === undefined ? {} : { name: statement.name }),
      callback: (error: Error | null, result: pg.QueryResult | pg.QueryResult[]) => {
        if (error) reject(error);
        else resolve(Array.isArray(result) ? result[result.length - 1]! : result);
      },
    } as pg.QueryConfig);
    const internal = query as unknown as { submit(connection: ProtocolConnection): Error | null };
    const submit = internal.submit.bind(query);
    internal.submit = (connection) => {
      connection.stream.cork?.();
      try {
        connection.parse({ text: 'begin', name: '', types: [] });
        connection.bind({});
        connection.execute({});
        return submit(connection);
      } finally {
        connection.stream.uncork?.();
      }
    };
    send(query);
  });
}

/** The parts of pg's (untyped) protocol connection that `afterBegin` writes with. */
interface ProtocolConnection {
  stream: { cork?(): void; uncork?(): void };
  parse(message: { text: string; name: string; types: unknown[] }): void;
  bind(message: object): void;
  execute(message: object): void;
}

/** A fixed 64-bit key for `pg_advisory_xact_lock` ("plinth" in ASCII). */
const MIGRATION_LOCK_KEY = 0x706c696e7468;
