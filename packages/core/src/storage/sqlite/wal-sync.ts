import { type Stats, statSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

export interface WalSyncStats {
  /** Callers that waited for their writes to reach the disk. */
  flushes: number;
  /** `fdatasync` calls that covered them. */
  syncs: number;
}

/**
 * Group commit for SQLite in WAL mode. SQLite runs with `synchronous=NORMAL`
 * (a commit writes its WAL frames but does not sync them); a writer calls
 * `flush()` after releasing the connection and is answered once an
 * `fdatasync` of the WAL that *started after its commit* has finished. Every
 * commit made while a sync runs shares the next one, so N concurrent commits
 * cost about two syncs instead of N, and the sync runs on libuv's thread pool
 * instead of blocking the event loop. An acknowledged commit is as durable as
 * with `synchronous=FULL` (the WAL holding it is on disk; SQLite syncs the WAL
 * again before each checkpoint and the database file after it).
 */
export class WalSync {
  readonly #path: string;
  #file: Promise<FileHandle> | undefined;
  #ino = 0;
  #current: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  readonly stats: WalSyncStats = { flushes: 0, syncs: 0 };

  /** `path`: the database file; its WAL is `<path>-wal`, which SQLite keeps while a connection is open. */
  constructor(path: string) {
    this.#path = `${path}-wal`;
  }

  /** Resolves once everything written to the WAL before this call is on disk. */
  flush(): Promise<void> {
    this.stats.flushes++;
    // A sync already running may have started before our write: wait for the one after it.
    if (!this.#current) return (this.#current = this.#start());
    return (this.#queued ??= this.#current.then(
      () => this.#next(),
      () => this.#next(),
    ));
  }

  #next(): Promise<void> {
    this.#queued = undefined;
    return (this.#current = this.#start());
  }

  #start(): Promise<void> {
    const sync = (async () => {
      const file = await this.#walFile();
      if (!file) return;
      this.stats.syncs++;
      await file.datasync();
    })();
    const settled = sync.finally(() => {
      if (this.#current === settled) this.#current = undefined;
    });
    return settled;
  }

  /**
   * The WAL as it is now. SQLite deletes it only after checkpointing all of it
   * into the (then synced) database, e.g. when the journal mode changes: then
   * there is nothing left to sync. A WAL created again later is another file,
   * so a handle to the old one is never synced in its place.
   *
   * The `stat` runs on the event loop, as SQLite's own reads and writes do: it
   * costs microseconds, where a trip through libuv's thread pool costs more
   * main-thread work and waits behind whatever the pool has queued.
   */
  async #walFile(): Promise<FileHandle | undefined> {
    let current: Stats;
    try {
      current = statSync(this.#path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await this.#drop();
      return undefined;
    }
    if (this.#file && this.#ino !== current.ino) await this.#drop();
    if (!this.#file) {
      this.#file = open(this.#path, 'r+');
      this.#ino = current.ino;
    }
    try {
      return await this.#file;
    } catch (error) {
      this.#file = undefined;
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async #drop(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    await (await file?.catch(() => undefined))?.close().catch(() => {});
  }

  async close(): Promise<void> {
    await this.#queued?.catch(() => {});
    await this.#current?.catch(() => {});
    await this.#drop();
  }
}
