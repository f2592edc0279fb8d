import { type Compilable, type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryCompiler, type TransactionSettings, CompiledQuery, type QueryResult } from 'kysely';
import { PlinthError } from '../errors.js';

export type ErrorMapper = (error: unknown) => unknown;

/** Counts statements that may change data (anything but a SELECT), for read caches. */
export interface WriteCounter {
  count: number;
}

/** Turns queued inserts into one statement (PostgreSQL: writable CTEs); without it, nothing is queued. */
export type CombineWrites = (queries: readonly CompiledQuery[]) => CompiledQuery;

/**
 * Wraps a Kysely dialect so that every driver error goes through `map`: unique
 * and foreign-key violations and the like become `PlinthError`s with stable
 * codes, wherever the query was issued. Every statement other than a SELECT
 * (transaction control included) bumps `writes` once it has run.
 *
 * With `combine`, inserts passed to `executeLater` inside a transaction wait on
 * their connection and go out together, as one statement, just before the
 * transaction's next statement, savepoint or commit (dropped by a rollback).
 */
export function withErrorMapping(inner: Dialect, map: ErrorMapper, writes: WriteCounter = { count: 0 }, combine?: CombineWrites): Dialect {
  return {
    createAdapter: () => inner.createAdapter(),
    createIntrospector: (db) => inner.createIntrospector(db),
    createQueryCompiler: () => inner.createQueryCompiler(),
    createDriver: () => new MappedDriver(inner.createDriver(), map, writes, combine),
  };
}

const later = new WeakSet<CompiledQuery>();

/**
 * Runs an INSERT (without RETURNING) whose result nobody reads. Inside a transaction on
 * PostgreSQL it is queued and sent with the transaction's next statement or its commit, in one
 * round trip with the other queued inserts; elsewhere (SQLite, no transaction) it runs at once.
 * Its errors (a foreign-key or unique violation) surface from that later statement or the
 * commit, mapped as usual, and roll the transaction back: use it only for rows whose failure
 * is a bug, not an answer (fresh ids, outbox events, order lines).
 */
export async function executeLater(db: Kysely<any>, query: Compilable | CompiledQuery): Promise<void> {
  const compiled = 'compile' in query ? query.compile() : query;
  if (compiled.query.kind !== 'InsertQueryNode' || (compiled.query as { returning?: unknown }).returning) {
    throw new Error('executeLater takes an INSERT without RETURNING');
  }
  later.add(compiled);
  await db.executeQuery(compiled);
}

/**
 * PostgreSQL: inserts as one statement, `with "w0" as (insert ...), ... insert ...`, their
 * parameters renumbered. Kysely compiles every value into a `$n` parameter, so `$n` occurs in
 * an insert's text only as a placeholder. Rows inserted by one part are visible to the
 * foreign-key checks of the others (they run at the end of the statement).
 */
export const combinePostgresInserts: CombineWrites = (queries) => {
  const parameters: unknown[] = [];
  const parts = queries.map((q) => {
    const offset = parameters.length;
    parameters.push(...q.parameters);
    return offset === 0 ? q.sql : q.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
  });
  const last = parts.pop()!;
  return CompiledQuery.raw(parts.length ? `with ${parts.map((p, i) => `"w${i}" as (${p})`).join(', ')} ${last}` : last, parameters);
};

class MappedConnection implements DatabaseConnection {
  /** Inserts waiting for the transaction's next statement (see `executeLater`). */
  pending: CompiledQuery[] = [];
  inTransaction = false;
  constructor(readonly inner: DatabaseConnection, private readonly map: ErrorMapper, private readonly writes: WriteCounter, private readonly combine?: CombineWrites) {}

  /** Sends the queued inserts, as one statement. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const queries = this.pending;
    this.pending = [];
    try {
      await this.inner.executeQuery(queries.length === 1 ? queries[0]! : this.combine!(queries));
    } catch (error) {
      throw this.map(error);
    } finally {
      this.writes.count++;
    }
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.combine && this.inTransaction && later.has(query)) {
      this.pending.push(query);
      return { rows: [] };
    }
    await this.flush();
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
    await this.flush();
    try {
      yield* this.inner.streamQuery<R>(query, chunkSize);
    } catch (error) {
      throw this.map(error);
    }
  }
}

/** Anything but a SELECT (built, or raw text starting with `select`) may change data. */
export function mayWrite(query: CompiledQuery): boolean {
  const kind = query.query?.kind;
  return kind !== 'SelectQueryNode' && !(kind === 'RawNode' && /^\s*select\b/i.test(query.sql));
}

const unwrap = (c: DatabaseConnection) => (c instanceof MappedConnection ? c.inner : c);
const mapped = (c: DatabaseConnection) => (c instanceof MappedConnection ? c : undefined);

class MappedDriver implements Driver {
  constructor(private readonly inner: Driver, private readonly map: ErrorMapper, private readonly writes: WriteCounter, private readonly combine?: CombineWrites) {}
  init() {
    return this.inner.init().catch((e) => {
      throw this.map(e);
    });
  }
  async acquireConnection() {
    try {
      return new MappedConnection(await this.inner.acquireConnection(), this.map, this.writes, this.combine);
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
  async beginTransaction(c: DatabaseConnection, s: TransactionSettings) {
    await this.guard(this.inner.beginTransaction(unwrap(c), s));
    const m = mapped(c);
    if (m) m.inTransaction = true;
  }
  async commitTransaction(c: DatabaseConnection) {
    await mapped(c)?.flush(); // a failure here rolls the transaction back, like a failed statement
    await this.guard(this.inner.commitTransaction(unwrap(c)));
    const m = mapped(c);
    if (m) m.inTransaction = false;
  }
  rollbackTransaction(c: DatabaseConnection) {
    const m = mapped(c);
    if (m) {
      m.pending = [];
      m.inTransaction = false;
    }
    return this.guard(this.inner.rollbackTransaction(unwrap(c)), false);
  }
  async savepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    await mapped(c)?.flush(); // what is queued belongs before the savepoint
    await this.guard(this.inner.savepoint!(unwrap(c), name, compile));
  }
  async rollbackToSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    const m = mapped(c);
    if (m) m.pending = []; // queued after the savepoint (it flushed the rest): undone without being sent
    await this.guard(this.inner.rollbackToSavepoint!(unwrap(c), name, compile), false);
  }
  async releaseSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    await mapped(c)?.flush();
    await this.guard(this.inner.releaseSavepoint!(unwrap(c), name, compile));
  }
  releaseConnection(c: DatabaseConnection) {
    const m = mapped(c);
    if (m) {
      m.pending = [];
      m.inTransaction = false;
    }
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
