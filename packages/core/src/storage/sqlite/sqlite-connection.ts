import type { Database, Statement } from 'better-sqlite3';
import { type CompiledQuery, type DatabaseConnection, type QueryResult, SelectQueryNode } from 'kysely';
import { LRUCache } from 'lru-cache';

/** better-sqlite3 binds numbers, strings, bigints, buffers and null; Plinth also takes booleans and Dates. */
function bindable(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  return value;
}

/**
 * The single SQLite connection, with a cache of prepared statements: the same
 * SQL text is parsed once, not on every query.
 */
export class SqliteConnection implements DatabaseConnection {
  readonly #db: Database;
  readonly #statements = new LRUCache<string, Statement>({ max: 500 });
  /** Whether a statement that may write has run since `takeWritten()` was last called. */
  #written = false;

  constructor(db: Database) {
    this.#db = db;
  }

  #prepare(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `query` at once (better-sqlite3 is synchronous); throws the driver's error. */
  executeSync<R>(query: CompiledQuery): QueryResult<R> {
    const statement = this.#prepare(query.sql);
    const params = query.parameters.map(bindable);
    if (statement.reader) return { rows: statement.all(params) as R[] };
    const { changes, lastInsertRowid } = statement.run(params);
    if (!this.#written && !/^\s*begin\b/i.test(query.sql)) this.#written = true;
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return Promise.resolve(this.executeSync<R>(query));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(query.query)) throw new Error('SQLite can only stream SELECT queries');
    // A fresh statement: an iterating statement cannot be shared.
    const statement = this.#db.prepare(query.sql);
    for (const row of statement.iterate(query.parameters.map(bindable))) yield { rows: [row as R] };
  }

  /** Whether anything may have been written since the last call (then resets). */
  takeWritten(): boolean {
    const written = this.#written;
    this.#written = false;
    return written;
  }

  clearCache(): void {
    this.#statements.clear();
  }
}
