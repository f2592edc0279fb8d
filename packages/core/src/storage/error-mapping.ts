import type { DatabaseConnection, Dialect, Driver, QueryCompiler, TransactionSettings, CompiledQuery, QueryResult } from 'kysely';
import { PlinthError } from '../errors.js';

export type ErrorMapper = (error: unknown) => unknown;

/** Counts statements that may change data (anything but a SELECT), for read caches. */
export interface WriteCounter {
  count: number;
}

/**
 * Wraps a Kysely dialect so that every driver error goes through `map`: unique
 * and foreign-key violations and the like become `PlinthError`s with stable
 * codes, wherever the query was issued. Every statement other than a SELECT
 * (transaction control included) bumps `writes` once it has run.
 */
export function withErrorMapping(inner: Dialect, map: ErrorMapper, writes: WriteCounter = { count: 0 }): Dialect {
  return {
    createAdapter: () => inner.createAdapter(),
    createIntrospector: (db) => inner.createIntrospector(db),
    createQueryCompiler: () => inner.createQueryCompiler(),
    createDriver: () => new MappedDriver(inner.createDriver(), map, writes),
  };
}

class MappedConnection implements DatabaseConnection {
  constructor(readonly inner: DatabaseConnection, private readonly map: ErrorMapper, private readonly writes: WriteCounter) {}
  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await this.inner.executeQuery<R>(query);
    } catch (error) {
      throw this.map(error);
    } finally {
      // After the statement, never before: a reader that saw the old count cannot keep data read before this write.
      if (mayWrite(query)) this.writes.count++;
    }
  }
  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(query, chunkSize);
    } catch (error) {
      throw this.map(error);
    }
  }
}

/** Anything but a SELECT (built, or raw text starting with `select`) may change data. */
function mayWrite(query: CompiledQuery): boolean {
  const kind = query.query?.kind;
  return kind !== 'SelectQueryNode' && !(kind === 'RawNode' && /^\s*select\b/i.test(query.sql));
}

const unwrap = (c: DatabaseConnection) => (c instanceof MappedConnection ? c.inner : c);

class MappedDriver implements Driver {
  constructor(private readonly inner: Driver, private readonly map: ErrorMapper, private readonly writes: WriteCounter) {}
  init() {
    return this.inner.init().catch((e) => {
      throw this.map(e);
    });
  }
  async acquireConnection() {
    try {
      return new MappedConnection(await this.inner.acquireConnection(), this.map, this.writes);
    } catch (error) {
      throw this.map(error);
    }
  }
  /** Maps errors; counts the step as a write once it has settled (commit and rollback make data visible or drop it). */
  private guard<T>(p: Promise<T>, mapErrors = true): Promise<T> {
    return p
      .catch((e) => {
        throw mapErrors ? this.map(e) : e;
      })
      .finally(() => {
        this.writes.count++;
      });
  }
  beginTransaction(c: DatabaseConnection, s: TransactionSettings) {
    return this.guard(this.inner.beginTransaction(unwrap(c), s));
  }
  commitTransaction(c: DatabaseConnection) {
    return this.guard(this.inner.commitTransaction(unwrap(c)));
  }
  rollbackTransaction(c: DatabaseConnection) {
    return this.guard(this.inner.rollbackTransaction(unwrap(c)), false);
  }
  async savepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    await this.guard(this.inner.savepoint!(unwrap(c), name, compile));
  }
  async rollbackToSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    await this.guard(this.inner.rollbackToSavepoint!(unwrap(c), name, compile), false);
  }
  async releaseSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    await this.guard(this.inner.releaseSavepoint!(unwrap(c), name, compile));
  }
  releaseConnection(c: DatabaseConnection) {
    return this.inner.releaseConnection(unwrap(c));
  }
  destroy() {
    return this.inner.destroy();
  }
}

/** Stable errors shared by both dialects. */
export const storageErrors = {
  conflict: (cause: unknown) =>
    new PlinthError('storage.conflict', 'A record with the same unique value already exists', { cause }),
  foreignKey: (cause: unknown) =>
    new PlinthError('storage.foreign_key', 'The record refers to, or is referred to by, another record', { cause }),
  notNull: (cause: unknown) => new PlinthError('storage.not_null', 'A required value is missing', { cause }),
  check: (cause: unknown) => new PlinthError('storage.check_failed', 'A value breaks a data rule', { cause }),
  busy: (cause: unknown) =>
    new PlinthError('storage.busy', 'The database is busy; try again', { cause, details: { retryable: true } }),
  unavailable: (cause: unknown) => new PlinthError('storage.unavailable', 'The database cannot be reached', { cause }),
};
