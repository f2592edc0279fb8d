import BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import type { DialectName, Storage } from '../storage/storage.js';
import { appliedMigrations, kyselyQuery, listTables, type Query, quoteIdent, type TableInfo } from './introspect.js';

/**
 * A consistent, read-only view of a database to copy rows from: a SQLite file
 * nobody writes to (a snapshot or a native backup) or one PostgreSQL
 * `REPEATABLE READ` transaction. Values come as the drivers give them, with
 * 64-bit integers exact (bigint) and JSON documents as text.
 */
export interface RowSource {
  readonly dialect: DialectName;
  readonly migrations: string[];
  readonly tables: TableInfo[];
  count(table: TableInfo): Promise<number>;
  /** The rows of a table in batches, each row an array in `table.columns` order. */
  batches(table: TableInfo, size: number): AsyncIterable<unknown[][]>;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Opens a SQLite file read-only and hands it to `fn` as a row source. */
export async function withSqliteFileSource<T>(path: string, fn: (source: RowSource) => Promise<T>): Promise<T> {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    db.defaultSafeIntegers(true);
    const query: Query = async (text, parameters = []) => db.prepare(text).all(...(parameters as unknown[])) as Record<string, unknown>[];
    const tables = await listTables(query, 'sqlite');
    const source: RowSource = {
      dialect: 'sqlite',
      migrations: await appliedMigrations(query, 'sqlite'),
      tables,
      async count(table) {
        return Number(db.prepare(`select count(*) from ${quoteIdent(table.name)}`).pluck().get());
      },
      async *batches(table, size) {
        const columns = table.columns.map((c) => quoteIdent(c.name)).join(', ');
        // better-sqlite3 is synchronous: hand the event loop back between batches.
        const rows = db.prepare(`select ${columns} from ${quoteIdent(table.name)}`).raw(true).iterate() as IterableIterator<unknown[]>;
        let batch: unknown[][] = [];
        for (const row of rows) {
          batch.push(row);
          if (batch.length >= size) {
            yield batch;
            batch = [];
            await yieldToEventLoop();
          }
        }
        if (batch.length) yield batch;
      },
    };
    return await fn(source);
  } finally {
    db.close();
  }
}

/** PostgreSQL types read as the driver gives them; every other type is read as its text form. */
const NATIVE_PG_TYPES = new Set(['bool', 'int2', 'int4', 'int8', 'float4', 'float8', 'bytea', 'timestamptz', 'timestamp', 'text', 'varchar', 'bpchar']);

function pgSelectList(table: TableInfo): string {
  return table.columns
    .map((c) => (NATIVE_PG_TYPES.has(c.type) ? quoteIdent(c.name) : `${quoteIdent(c.name)}::text as ${quoteIdent(c.name)}`))
    .join(', ');
}

/** int8 beyond 2^53 comes from the pool as a string: make it a bigint again. */
function pgRow(table: TableInfo, row: Record<string, unknown>, names: string[]): unknown[] {
  return names.map((name, i) => {
    const value = row[name];
    return typeof value === 'string' && table.columns[i]!.type === 'int8' ? BigInt(value) : value;
  });
}

/**
 * Runs `fn` inside one `REPEATABLE READ READ ONLY` transaction: every table is
 * read from the same snapshot while writers go on. `fn` also gets the
 * transaction, e.g. to export the snapshot to pg_dump.
 */
export async function withPostgresSnapshot<T>(storage: Storage, fn: (source: RowSource, trx: Kysely<any>) => Promise<T>): Promise<T> {
  return storage.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      const query = kyselyQuery(trx);
      const tables = await listTables(query, 'postgres');
      const migrations = await appliedMigrations(query, 'postgres');
      let cursors = 0;
      const source: RowSource = {
        dialect: 'postgres',
        migrations,
        tables,
        async count(table) {
          const [row] = await query(`select count(*)::int8 as n from ${quoteIdent(table.name)}`);
          return Number(row?.n ?? 0);
        },
        async *batches(table, size) {
          const cursor = `plinth_backup_${++cursors}`;
          const names = table.columns.map((c) => c.name);
          await sql.raw(`declare ${cursor} no scroll cursor for select ${pgSelectList(table)} from ${quoteIdent(table.name)}`).execute(trx);
          try {
            for (;;) {
              const { rows } = await sql.raw<Record<string, unknown>>(`fetch ${Math.floor(size)} from ${cursor}`).execute(trx);
              if (!rows.length) break;
              yield rows.map((r) => pgRow(table, r, names));
              if (rows.length < size) break;
            }
          } finally {
            // After a failed statement the transaction is aborted and this fails too; the first error is the one to report.
            await sql.raw(`close ${cursor}`).execute(trx).catch(() => undefined);
          }
        },
      };
      return fn(source, trx);
    });
}
