import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, createQueryId, type DatabaseConnection, type Driver, type QueryCompiler, type QueryResult } from 'kysely';
import { parseSavepointCommand } from './savepoint.js';
import { SqliteConnection } from './sqlite-connection.js';
import { SAFETY_PAGES, WalCheckpointer } from './wal-checkpointer.js';
import { WalSync, type WalSyncStats } from './wal-sync.js';

export interface SqliteDriverOptions {
  filename: string;
  busyTimeoutMs: number;
  /**
   * `full` (default): a commit is acknowledged once it is on disk (group commit, see `WalSync`).
   * `normal`: acknowledged at once; a power cut may lose the last commits (never corrupts).
   */
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
  #walSync: WalSync | undefined;
  #checkpointer: WalCheckpointer | undefined;

  constructor(options: SqliteDriverOptions) {
    this.#options = options;
  }

  get database(): BetterSqlite3.Database | undefined {
    return this.#db;
  }

  #dataVersion: BetterSqlite3.Statement | undefined;
  #seenVersion: number | undefined;

  /**
   * SQLite's `data_version`: changes when another connection (this process or
   * another) commits; this connection's own commits leave it alone. 0 before
   * the database is open. Read at most once per turn of the event loop (the
   * pragma costs more than the cache hit it guards): a commit elsewhere is
   * seen from the next turn on, as if the request had come a moment earlier.
   */
  dataVersion(): number {
    if (!this.#db) return 0;
    if (this.#seenVersion === undefined) {
      this.#dataVersion ??= this.#db.prepare('pragma data_version').pluck();
      this.#seenVersion = this.#dataVersion.get() as number;
      setImmediate(() => {
        this.#seenVersion = undefined;
      });
    }
    return this.#seenVersion;
  }

  async init(): Promise<void> {
    const { filename, busyTimeoutMs, fileMustExist } = this.#options;
    const memory = filename === ':memory:';
    if (!memory && !fileMustExist) mkdirSync(dirname(filename), { recursive: true });
    const db = new BetterSqlite3(filename, { timeout: busyTimeoutMs, fileMustExist: fileMustExist ?? false });
    if (!memory) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // Temporary files in memory: every transaction of a shared commit runs in a savepoint, whose
    // sub-journal SQLite would otherwise spill past 64 KiB into a file in /var/tmp, created,
    // written and deleted on the event loop per transaction (sorts and temporary indices too large
    // for the page cache are held in memory as well).
    db.pragma('temp_store = MEMORY');
    db.pragma(`busy_timeout = ${Math.floor(busyTimeoutMs)}`);
    // SQLite itself never syncs on commit (NORMAL). For `full`, writers wait in releaseConnection()
    // for a shared fdatasync of the WAL instead: as durable as FULL, without one sync per commit
    // blocking the event loop. Without WAL (in memory) there is nothing to sync.
    const wal = !memory && String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
    const groupCommit = this.#options.synchronous !== 'normal' && wal;
    db.pragma(`synchronous = ${groupCommit || this.#options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    if (groupCommit) this.#walSync = new WalSync(filename);
    if (wal) {
      // Checkpoints run in a worker (see WalCheckpointer); this connection does one only if it falls far behind.
      db.pragma(`wal_autocheckpoint = ${SAFETY_PAGES}`);
      this.#checkpointer = new WalCheckpointer(filename, busyTimeoutMs, () => {
        this.#checkpointer = undefined;
        this.#db?.pragma('wal_autocheckpoint = 1000'); // SQLite's default: checkpoint in the committing connection again
      });
    }
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

  /**
   * Runs `query` at once on the connection, without the promise chain of a Kysely query: for
   * the holder of the connection only (a transaction between its begin and its commit), which
   * runs nothing else on it meanwhile. Throws the driver's error.
   */
  executeHeld<R>(query: CompiledQuery): QueryResult<R> {
    if (!this.#connection || !this.#release) throw new Error('The SQLite connection is not held');
    return this.#connection.executeSync<R>(query);
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    const written = this.#connection?.takeWritten() ?? false;
    release?.();
    if (written) this.#checkpointer?.written();
    // After letting the next caller in: its commit can share this sync or the next.
    if (written && this.#walSync) await this.#walSync.flush();
  }

  /** Group-commit counters (undefined without group commit). */
  walSyncStats(): WalSyncStats | undefined {
    return this.#walSync?.stats;
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
    // Not a statement prepared once: SQLite applies `busy_timeout` while it prepares the pragma,
    // so running a prepared one again would change nothing.
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

  /** Resolves once the checkpoint asked for by the last commit has run (tests). */
  checkpointed(): Promise<void> {
    return this.#checkpointer?.settled() ?? Promise.resolve();
  }

  async destroy(): Promise<void> {
    // The worker's connection closes first: the last connection to close checkpoints the whole WAL.
    await this.#checkpointer?.close();
    this.#checkpointer = undefined;
    await this.#walSync?.close();
    this.#walSync = undefined;
    this.#dataVersion = undefined;
    this.#seenVersion = undefined;
    this.#connection?.clearCache();
    this.#db?.close();
    this.#db = undefined;
  }
}
