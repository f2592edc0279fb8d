import { AsyncResource } from 'node:async_hooks';
import { type Compilable, CompiledQuery, type Kysely, type QueryResult } from 'kysely';
import { bindAsyncSlots } from '../../async-slot.js';

export interface TransactionBatchStats {
  /** Transactions that committed (each in its own savepoint of a shared transaction). */
  transactions: number;
  /** SQLite transactions (`BEGIN IMMEDIATE` … `COMMIT`) that carried them. */
  commits: number;
}

interface Entry {
  fn: (trx: Kysely<any>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  result?: unknown;
}

/** Runs a statement at once on the connection the running batch holds (errors mapped, writes counted). */
export type RunHeld = <R>(query: CompiledQuery) => QueryResult<R>;

const SAVEPOINT = CompiledQuery.raw('savepoint "plinth_batch"');
const RELEASE = CompiledQuery.raw('release "plinth_batch"');
const ROLLBACK_TO = CompiledQuery.raw('rollback to "plinth_batch"');

/**
 * Group commit of whole transactions on SQLite's one connection. Transactions
 * that wait for the connection while one runs do not each pay a `BEGIN
 * IMMEDIATE` … `COMMIT` (every commit writes each page it changed to the WAL,
 * and the same index pages are written again by the next one): they run one
 * after another inside one SQLite transaction, each in its own savepoint, and
 * the transaction commits when nobody is waiting any more (or after
 * `maxBatch`). A transaction that fails rolls back to its savepoint and is
 * answered at once: the others are not touched. The ones that succeeded are
 * answered after the one `COMMIT` (and, with `synchronous: full`, its WAL
 * sync): nobody hears "committed" before the data is on disk. If the commit
 * fails, all of them fail, as their own commits would have.
 *
 * Each transaction runs in its caller's async context (request id, trace, the
 * kernel's current transaction; AsyncLocalStorage stores such as OpenTelemetry's),
 * not in the one of whoever started the batch.
 * They run strictly one after another, as they did under the connection's mutex:
 * a transaction still sees only committed data and its own batch predecessors'
 * writes, which commit with it or not at all.
 *
 * With `runHeld`, the transaction's `executeQuery` (compiled statements: SQL text compiled once,
 * the savepoints) runs each statement at once on the connection the batch holds, not through
 * Kysely's executor, whose chain of promises per statement costs more CPU than SQLite takes to
 * run a small insert. Built queries (`.execute()`) keep Kysely's path; both run on the same
 * connection, in the same transaction.
 */
export class TransactionBatcher {
  readonly #db: Kysely<any>;
  readonly #runHeld: RunHeld | undefined;
  readonly #maxBatch: number;
  #queue: Entry[] = [];
  #running = false;
  readonly stats: TransactionBatchStats = { transactions: 0, commits: 0 };

  constructor(db: Kysely<any>, runHeld?: RunHeld, maxBatch = 32) {
    this.#db = db;
    this.#runHeld = runHeld;
    this.#maxBatch = maxBatch;
  }

  run<T>(fn: (trx: Kysely<any>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // The caller's context, for when the batch gets to it (not `AsyncResource.bind`: it makes two
      // deprecation wrappers per call).
      const resource = new AsyncResource('plinth.transaction');
      const inContext = (trx: Kysely<any>) => resource.runInAsyncScope(fn, undefined, trx);
      this.#queue.push({ fn: bindAsyncSlots(inContext), resolve: resolve as (value: unknown) => void, reject });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) await this.#batch();
    } finally {
      this.#running = false;
    }
  }

  /** One SQLite transaction: as many waiting transactions as there are (up to `maxBatch`), then the commit. */
  async #batch(): Promise<void> {
    const done: Entry[] = [];
    let started = false;
    try {
      await this.#db.transaction().execute(async (trx) => {
        started = true;
        const restore = this.#runHeld ? runAtOnce(trx, this.#runHeld) : undefined;
        try {
          for (let n = 0; n < this.#maxBatch && this.#queue.length > 0; n++) {
            const entry = this.#queue.shift()!;
            await trx.executeQuery(SAVEPOINT);
            try {
              entry.result = await entry.fn(trx);
            } catch (error) {
              try {
                await trx.executeQuery(ROLLBACK_TO);
                await trx.executeQuery(RELEASE);
              } catch (rollbackError) {
                // The whole SQLite transaction is gone (e.g. an I/O error): nothing of this batch commits.
                entry.reject(error);
                throw rollbackError;
              }
              entry.reject(error);
              continue;
            }
            done.push(entry); // a failed release fails the batch, this one included
            await trx.executeQuery(RELEASE);
          }
        } finally {
          restore?.(); // a statement sent after the commit meets Kysely's "already committed" again
        }
      });
    } catch (error) {
      for (const entry of done) entry.reject(error);
      // BEGIN failed (busy past the timeout): the waiting transactions would fail alike.
      if (!started) for (const entry of this.#queue.splice(0)) entry.reject(error);
      return;
    }
    this.stats.commits++;
    this.stats.transactions += done.length;
    for (const entry of done) entry.resolve(entry.result);
  }
}

/** Makes `trx.executeQuery` run statements through `runHeld` until the returned function is called. */
function runAtOnce(trx: Kysely<any>, runHeld: RunHeld): () => void {
  const atOnce = <R>(query: CompiledQuery<R> | Compilable<R>): Promise<QueryResult<R>> => {
    try {
      return Promise.resolve(runHeld<R>('compile' in query ? query.compile() : query));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  Object.defineProperty(trx, 'executeQuery', { value: atOnce, configurable: true, writable: true });
  return () => {
    Reflect.deleteProperty(trx, 'executeQuery');
  };
}
