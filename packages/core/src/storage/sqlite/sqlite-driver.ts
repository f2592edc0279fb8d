import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, createQueryId, type DatabaseConnection, type Driver, type QueryCompiler } from 'kysely';
import { parseSavepointCommand } from './savepoint.js';
import { SqliteConnection } from './sqlite-connection.js';

export interface SqliteDriverOptions {
  filename: string;
  busyTimeoutMs: number;
  /** `full` (default) or `normal`. */
  synchronous?: 'full' | 'normal';
  /** Open an existing file only (used by `plinth doctor`). */
  fileMustExist?: boolean;
}

/**
 * One better-sqlite3 connection per process, guarded by a mutex: SQLite has a
 * single writer, and queueing here is cheaper than SQLITE_BUSY retries.
 * Transactions start with BEGIN IMMEDIATE, so a transaction holds the write lock
 * from its first statement and never fails to upgrade a read snapshot.
 */
export class SqliteDriver implements Driver {
  readonly #options: SqliteDriverOptions;
  #db: BetterSqlite3.Database | undefined;
  #connection: SqliteConnection | undefined;
  #queue: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;

  constructor(options: SqliteDriverOptions) {
    this.#options = options;
  }

  get database(): BetterSqlite3.Database | undefined {
    return this.#db;
  }

  async init(): Promise<void> {
    const { filename, busyTimeoutMs, fileMustExist } = this.#options;
    const memory = filename === ':memory:';
    if (!memory && !fileMustExist) mkdirSync(dirname(filename), { recursive: true });
    const db = new BetterSqlite3(filename, { timeout: busyTimeoutMs, fileMustExist: fileMustExist ?? false });
    if (!memory) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.floor(busyTimeoutMs)}`);
    // FULL: a commit that returned is on disk, even after a power cut. NORMAL trades that for speed.
    db.pragma(`synchronous = ${this.#options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.#db = db;
    this.#connection = new SqliteConnection(db);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.#queue;
    let release!: () => void;
    this.#queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    this.#release = release;
    return this.#connection!;
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  /**
   * better-sqlite3 is synchronous: waiting for the write lock in SQLite's busy
   * handler would block the event loop, and with it another connection of this
   * process that holds the lock (two instances on one file never finish). So
   * try without waiting and retry asynchronously until busy_timeout has passed.
   */
  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const { busyTimeoutMs } = this.#options;
    const deadline = Date.now() + busyTimeoutMs;
    this.#db!.pragma('busy_timeout = 0');
    try {
      for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
        try {
          await connection.executeQuery(CompiledQuery.raw('begin immediate'));
          return;
        } catch (error) {
          if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    } finally {
      this.#db?.pragma(`busy_timeout = ${Math.floor(busyTimeoutMs)}`);
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.#db?.inTransaction) await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await c.executeQuery(compile(parseSavepointCommand('savepoint', name), createQueryId()));
  }

  async rollbackToSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await c.executeQuery(compile(parseSavepointCommand('rollback to', name), createQueryId()));
  }

  async releaseSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await c.executeQuery(compile(parseSavepointCommand('release', name), createQueryId()));
  }

  async destroy(): Promise<void> {
    this.#connection?.clearCache();
    this.#db?.close();
    this.#db = undefined;
  }
}
